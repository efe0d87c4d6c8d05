"""Outgoing mail: queued in the database with the change that causes it, sent by a worker.

Requests only queue (``queue_mail``) and never wait on a mail server: ``flask mail worker``
runs beside the web server and sends within seconds; ``flask mail send-pending`` does one
round (cron). Each message is claimed before it is sent and marked sent as soon as the server
accepts it, so two senders never send it both (see ``sender``). A message that fails every
attempt is *failed*: listed in the admin and by ``flask mail failed``, sent again by
``flask mail retry``. Without ``MAIL_SERVER`` messages are written as ``.eml`` files to an
outbox folder instead, at once (see ``send_now``).
"""

from flask import Flask

from . import queries
from .cli import mail_cli
from .outbox import queue_mail, render_mail, send_now
from .sender import MAX_ATTEMPTS, send_pending
from .views import bp

__all__ = [
    "MAX_ATTEMPTS",
    "init_app",
    "mail_cli",
    "queue_mail",
    "render_mail",
    "send_now",
    "send_pending",
]


def init_app(app: Flask) -> None:
    """Register the admin page of failed mail and what templates ask about mail."""
    app.register_blueprint(bp)
    app.add_template_global(queries.mail_to_applicant)
    app.add_template_global(queries.failed_count, "failed_mail_count")
