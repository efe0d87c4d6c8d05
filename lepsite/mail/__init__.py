"""Outgoing mail: queued in the database with the change that causes it, sent after commit.

An SMTP outage leaves messages queued; ``flask mail send-pending`` (from cron) retries them.
Without ``MAIL_SERVER`` messages are written as ``.eml`` files to an outbox folder instead.
"""

from .cli import mail_cli
from .outbox import queue_mail, render_mail, send_now, send_pending

__all__ = ["mail_cli", "queue_mail", "render_mail", "send_now", "send_pending"]
