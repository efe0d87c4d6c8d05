"""The audit log (ASVS V16): who did what to which account or application, and when.

``record()`` is the one way to write an entry. Entries are stored in ``audit_events`` (which
the database keeps append-only), written as one JSON line each on the ``lepsite.audit``
logger, shown to admins at ``/admin/audit`` and deleted by ``flask audit prune`` after
``AUDIT_RETENTION_DAYS``.
"""

import logging
import sys

from flask import Flask
from flask.logging import has_level_handler

from .cli import audit_cli
from .labels import ACTION_LABELS
from .models import AuditEvent
from .recording import log, record

__all__ = ["ACTION_LABELS", "AuditEvent", "audit_cli", "init_app", "record"]


def _log_to_stderr_unless_configured() -> None:
    """Audit lines are INFO: make sure they are written somewhere (stderr, like gunicorn's own
    log) unless the operator's logging set-up already takes them."""
    if log.level == logging.NOTSET:
        log.setLevel(logging.INFO)
    if not has_level_handler(log):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)


def init_app(app: Flask) -> None:
    """Register the audit view and commands."""
    # Imported here: the view needs the accounts package, which itself records audit entries.
    from .views import bp

    app.register_blueprint(bp)
    app.cli.add_command(audit_cli)
    _log_to_stderr_unless_configured()
