"""``flask mail worker``: the long-running sender beside the web server.

It asks the database for due mail every ``poll`` seconds (1 by default). Polling keeps the
set-up to what the site already has: it works the same on SQLite and PostgreSQL, needs no
broker and no signal from the request (which then never waits on anything), and the query
is one indexed lookup, cheap at any rate a person would notice. A message therefore goes out
within a second or two of its request.

Outages: a mail server that cannot be reached is logged once (and its recovery once); the
messages wait the time the sender sets (``next_attempt_at``). A database that cannot be
reached is logged once too; the worker waits, longer each time up to 30 s, and carries on.
SIGTERM (or Ctrl-C) lets the message being sent finish, then ends the worker.
"""

import logging
import signal
import threading

from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db
from .sender import BATCH, deliver_due

log = logging.getLogger(__name__)


class Worker:
    """Sends due mail until ``stop`` is set."""

    def __init__(self, poll: float = 1.0):
        self.poll = poll
        self.stop = threading.Event()
        self.server_down = ""
        self.database_down = False
        self.database_wait = 1.0

    def run(self) -> None:
        log.info("mail worker started; polling every %g s", self.poll)
        while not self.stop.is_set():
            self.stop.wait(self.step())
        db.session.remove()
        log.info("mail worker stopped")

    def step(self) -> float:
        """One pass; return how long to wait before the next."""
        try:
            outcome = deliver_due(should_stop=self.stop.is_set)
        except SQLAlchemyError as error:
            with_rollback()
            if not self.database_down:
                log.error("database unavailable, mail waits: %s", str(error).splitlines()[0])
                self.database_down = True
            self.database_wait = min(self.database_wait * 2, 30.0)
            return self.database_wait
        if self.database_down:
            log.warning("database reachable again")
            self.database_down, self.database_wait = False, 1.0
        if outcome.server_error and not self.server_down:
            log.error("mail server unavailable, mail stays queued: %s", outcome.server_error)
        elif outcome.sent and self.server_down:
            log.warning("mail server reachable again")
        if outcome.server_error or outcome.sent:
            self.server_down = outcome.server_error
        if outcome.sent:
            log.info("sent %d message(s)", outcome.sent)
        # A full batch may have more behind it.
        return 0 if outcome.seen >= BATCH and outcome.claimed else self.poll


def with_rollback() -> None:
    """Drop the failed transaction (and a connection the database closed)."""
    try:
        db.session.rollback()
    except SQLAlchemyError:
        db.session.remove()


def run(poll: float) -> None:
    """Run a worker in this process until SIGTERM or SIGINT."""
    worker = Worker(poll)

    def stop(signum, frame) -> None:
        worker.stop.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    worker.run()
