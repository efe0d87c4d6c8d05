"""The health check behind ``/healthz``: can this app serve a request and store what it is sent?

Reading is not enough: with a full disk every page still rendered while every application
failed. So the check writes: a byte to a file in the instance folder (the outbox, compiled
catalogs and SQLite live there) and a row to the database. It runs in a helper thread with a
deadline, so a frozen database makes it answer 503 in under two seconds instead of hanging.
"""

import contextlib
import logging
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as CheckTimedOut
from datetime import datetime

from flask import Flask, current_app
from sqlalchemy import DateTime, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column

from . import database
from .extensions import db
from .models import utcnow

log = logging.getLogger(__name__)

# The answer comes within this many seconds, whatever the database does.
DEADLINE = 1.5
# A check that hangs keeps its thread until the database's own timeouts free it; two threads
# let the next check run meanwhile (and also time out).
_checks = ThreadPoolExecutor(max_workers=2, thread_name_prefix="healthz")


class HealthCheck(db.Model):
    """One row, rewritten by every health check: proof that the database takes writes."""

    __tablename__ = "health_checks"

    id: Mapped[int] = mapped_column(primary_key=True)
    checked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    def __repr__(self) -> str:
        return f"<HealthCheck {self.checked_at}>"


def instance_problem(folder: str) -> str | None:
    """Why a file cannot be written to the instance folder, or None."""
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".healthz-") as probe:
            probe.write(b"ok")
            probe.flush()
            os.fsync(probe.fileno())
    except OSError as error:
        return f"instance folder not writable: {error.strerror or error}"
    return None


def database_problem() -> str | None:
    """Why the database cannot take a write, or None."""
    try:
        with database.deadline(DEADLINE):
            now = utcnow()
            result = db.session.execute(
                update(HealthCheck).where(HealthCheck.id == 1).values(checked_at=now)
            )
            if result.rowcount == 0:
                db.session.add(HealthCheck(id=1, checked_at=now))
            db.session.commit()
    except SQLAlchemyError as error:
        with contextlib.suppress(SQLAlchemyError):
            db.session.rollback()
        cause = getattr(error, "orig", None) or error
        return f"database not writable: {type(cause).__name__}"
    finally:
        db.session.remove()
    return None


def _run_checks(app: Flask) -> list[str]:
    with app.app_context():
        problems = [instance_problem(app.instance_path), database_problem()]
    return [problem for problem in problems if problem]


def problems() -> list[str]:
    """What keeps the app from serving (empty when healthy); within ``DEADLINE`` seconds."""
    app = current_app._get_current_object()
    future = _checks.submit(_run_checks, app)
    try:
        return future.result(timeout=DEADLINE)
    except CheckTimedOut:
        return [f"no answer within {DEADLINE} s (database or disk)"]
