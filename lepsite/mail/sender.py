"""Deliver queued mail: claim a message, send it within a deadline, mark it sent at once.

Exactly once, as far as SMTP allows:

- A sender *claims* a message with one conditional ``UPDATE`` (unsent, not failed, due, and
  unclaimed or its claim run out) and checks the row count, so of two senders (two workers,
  a worker and cron's ``send-pending``) only one gets it, on PostgreSQL and on SQLite alike
  (``SKIP LOCKED`` would leave SQLite out).
- The claim lasts ``MAIL_CLAIM_SECONDS`` (default: 60 s, or three deadlines if longer), well
  past one exchange's deadline: a killed sender's messages go to another one after that.
- A message is marked sent, and committed, right after the server accepted it. Only a sender
  killed (or cut off from the database) between the server's "250" and that commit sends a
  message twice: that one message, once its claim runs out. The ``Message-ID`` stays the same,
  so mail systems that drop duplicates drop it.

Every SMTP exchange, the connection (connect, TLS handshake, greeting, EHLO, STARTTLS, AUTH)
and then each message, has an overall deadline of ``MAIL_TIMEOUT`` seconds: a socket timeout
alone restarts with every byte, so a server that accepts and then trickles or says nothing
could hold a sender for ever.

TLS, ``MAIL_USE_TLS`` (STARTTLS, port 587) or ``MAIL_USE_SSL`` (implicit TLS, port 465), checks
the server: its certificate must chain to a trusted authority (the system's, or only those in
``MAIL_TLS_CA_FILE`` for an internal server with its own CA) and name ``MAIL_SERVER``. A server
that fails the check gets nothing, not even the password; its mail waits, as in an outage.

A failed attempt waits before the next (30 s, doubling, at most an hour); after
``MAX_ATTEMPTS`` (about 13 hours of outage) or a permanent refusal (5xx) the message is
*failed*: listed by ``flask mail failed`` and in the admin, sent again only when a person asks.
"""

import logging
import os
import secrets
import smtplib
import socket
import ssl
import threading
import time
from contextlib import suppress
from dataclasses import dataclass
from datetime import timedelta
from email.errors import MessageError
from functools import cache
from pathlib import Path

from flask import current_app
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db
from ..models import OutgoingMail, utcnow
from .outbox import as_email

log = logging.getLogger(__name__)

# After this many failed tries a message is failed: it waits for a person.
MAX_ATTEMPTS = 20
# Messages claimed and sent over one connection in one pass.
BATCH = 50


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failure: 30 s, doubling, at most an hour."""
    return timedelta(seconds=min(30 * 2 ** (attempts - 1), 3600))


def sender_name() -> str:
    """Who holds a claim: host, process and a random part (one per pass)."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(4)}"


def _timeout() -> float:
    return float(current_app.config["MAIL_TIMEOUT"])


def _claim_seconds() -> float:
    config = current_app.config
    return float(config.get("MAIL_CLAIM_SECONDS") or max(60.0, 3 * _timeout()))


def _due(now):
    """Messages a sender may claim now."""
    return and_(
        OutgoingMail.sent_at.is_(None),
        OutgoingMail.failed_at.is_(None),
        or_(OutgoingMail.next_attempt_at.is_(None), OutgoingMail.next_attempt_at <= now),
        or_(OutgoingMail.claimed_until.is_(None), OutgoingMail.claimed_until < now),
    )


# ---------------------------------------------------------------- deadlines and transports


class DeadlineExceeded(smtplib.SMTPException):
    """The mail server did not finish an exchange within ``MAIL_TIMEOUT``."""


class _Deadline:
    """Cut the connection of ``target`` (an ``smtplib.SMTP``) once ``seconds`` have passed.

    A watchdog thread shuts the socket down, which wakes the blocked read or write with an
    error; the ``with`` block then raises ``DeadlineExceeded``.
    """

    def __init__(self, seconds: float, target: smtplib.SMTP | None = None):
        self.seconds = seconds
        self.target = target
        self.expired = False
        self._done = threading.Event()
        self._ends = 0.0

    def remaining(self) -> float:
        return max(0.05, self._ends - time.monotonic())

    def _watch(self) -> None:
        if self._done.wait(self.seconds):
            return
        self.expired = True
        while not self._done.is_set():
            sock = getattr(self.target, "sock", None)
            if sock is not None:
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            self._done.wait(0.05)

    def __enter__(self) -> "_Deadline":
        self._ends = time.monotonic() + self.seconds
        threading.Thread(target=self._watch, name="mail-deadline", daemon=True).start()
        return self

    def __exit__(self, kind, error, traceback) -> None:
        self._done.set()
        # The socket's own timeout (the same length) may fire a moment before the watchdog.
        expired = self.expired or time.monotonic() >= self._ends
        if expired and isinstance(error, (OSError, smtplib.SMTPException)):
            raise DeadlineExceeded(f"no answer within {self.seconds:g} s") from error


class _WatchedSMTP(smtplib.SMTP):
    """smtplib's client, watched by a deadline from before it connects."""

    def __init__(self, deadline: _Deadline, *args, **kwargs):
        deadline.target = self
        super().__init__(*args, **kwargs)


class _WatchedSMTPSSL(smtplib.SMTP_SSL):
    """smtplib's implicit-TLS client, watched by a deadline from before it connects."""

    def __init__(self, deadline: _Deadline, *args, **kwargs):
        deadline.target = self
        super().__init__(*args, **kwargs)

    def _get_socket(self, host, port, timeout):
        plain = smtplib.SMTP._get_socket(self, host, port, timeout)
        self.sock = plain  # so the deadline can cut a handshake that drags
        return self.context.wrap_socket(plain, server_hostname=self._host)


def tls_context(config) -> ssl.SSLContext:
    """Certificates and host names checked, against ``MAIL_TLS_CA_FILE`` if set, else the
    system's authorities."""
    return ssl.create_default_context(cafile=config.get("MAIL_TLS_CA_FILE") or None)


@cache
def _local_hostname() -> str:
    """The name given in EHLO (looked up once: it may need DNS, outside any deadline)."""
    return socket.getfqdn()


class SmtpTransport:
    """One SMTP connection; every exchange within the deadline."""

    def __init__(self, config):
        self.config = config
        self.timeout = float(config["MAIL_TIMEOUT"])
        self.smtp: smtplib.SMTP | None = None

    def open(self) -> None:
        config = self.config
        implicit_tls = config.get("MAIL_USE_SSL")
        context = tls_context(config) if implicit_tls or config["MAIL_USE_TLS"] else None
        with _Deadline(self.timeout) as deadline:
            try:
                if implicit_tls:
                    smtp = _WatchedSMTPSSL(deadline, context=context, **self._server())
                else:
                    smtp = _WatchedSMTP(deadline, **self._server())
                if config["MAIL_USE_TLS"] and not implicit_tls:
                    smtp.sock.settimeout(deadline.remaining())  # the TLS handshake inherits it
                    smtp.starttls(context=context)
                if config["MAIL_USERNAME"]:
                    smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
            except BaseException:
                # A refused certificate leaves the socket open; nothing else will close it.
                if deadline.target is not None:
                    deadline.target.close()
                raise
            self.smtp = smtp

    def _server(self) -> dict:
        return {
            "host": self.config["MAIL_SERVER"],
            "port": self.config["MAIL_PORT"],
            "local_hostname": _local_hostname(),
            "timeout": self.timeout,
        }

    def send(self, email, mail_id: int) -> None:
        with _Deadline(self.timeout, self.smtp):
            self.smtp.send_message(email)

    @staticmethod
    def broken_by(error: BaseException) -> bool:
        """Whether the connection is unusable after ``error`` (else the next message may go)."""
        refused = (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError)
        return not isinstance(error, refused) or getattr(error, "smtp_code", 0) == 421

    def close(self) -> None:
        if self.smtp is None:
            return
        try:
            with _Deadline(min(self.timeout, 2.0), self.smtp):
                self.smtp.quit()
        except (OSError, smtplib.SMTPException):
            self.smtp.close()


class OutboxTransport:
    """Without ``MAIL_SERVER``: each message becomes ``<id>.eml`` in the outbox folder."""

    def __init__(self, config):
        self.folder = Path(config["MAIL_OUTBOX_DIR"])

    def open(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)

    def send(self, email, mail_id: int) -> None:
        # Written aside, then renamed: a reader never sees half a message.
        path = self.folder / f"{mail_id:08d}.eml"
        partial = self.folder / f".{mail_id:08d}.eml.part"
        try:
            partial.write_bytes(bytes(email))
            partial.replace(path)
        finally:
            partial.unlink(missing_ok=True)

    @staticmethod
    def broken_by(error: BaseException) -> bool:
        """A file that could not be written says nothing about the next one."""
        return False

    def close(self) -> None:
        pass


def _transport():
    config = current_app.config
    return SmtpTransport(config) if config["MAIL_SERVER"] else OutboxTransport(config)


# ---------------------------------------------------------------- errors


def _describe(error: BaseException) -> str:
    return (f"{type(error).__name__}: {error}" if str(error) else type(error).__name__)[:1000]


def _is_permanent(error: BaseException) -> bool:
    """A 5xx refusal of the recipient or the content, or a message no mail can carry: trying
    again would not help."""
    if isinstance(error, (ValueError, MessageError)):
        return True
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _text in error.recipients.values())
    if isinstance(error, smtplib.SMTPDataError):
        return error.smtp_code >= 500
    return False


# ---------------------------------------------------------------- one pass


@dataclass
class Outcome:
    """What one pass did."""

    seen: int = 0  # due messages found
    claimed: int = 0  # of those, the ones this sender got
    sent: int = 0
    failed: int = 0  # failed for good in this pass
    server_error: str = ""  # the server could not be reached, or broke off


def _claim(mail_id: int, sender: str):
    """Take the message if no one else has it; return its e-mail and attempts, or None."""
    now = utcnow()
    result = db.session.execute(
        update(OutgoingMail)
        .where(OutgoingMail.id == mail_id, _due(now))
        .values(claimed_by=sender, claimed_until=now + timedelta(seconds=_claim_seconds()))
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if result.rowcount != 1:
        return None
    message = db.session.get(OutgoingMail, mail_id, populate_existing=True)
    if message is None:  # deleted since (the retention run)
        return None
    try:
        email = as_email(message)
    except (ValueError, MessageError) as error:  # a header no mail can carry
        email = error
    attempts = message.attempts
    db.session.commit()  # no transaction stays open while the server is talked to
    return email, attempts


def _mark_sent(mail_id: int, sender: str) -> None:
    """Record the server's acceptance at once: this commit is the whole double-send window."""
    statement = (
        update(OutgoingMail)
        .where(OutgoingMail.id == mail_id, OutgoingMail.claimed_by == sender)
        .values(
            sent_at=utcnow(),
            attempts=OutgoingMail.attempts + 1,
            last_error="",
            next_attempt_at=None,
            claimed_by="",
            claimed_until=None,
        )
        .execution_options(synchronize_session=False)
    )
    for attempt in range(3):
        try:
            result = db.session.execute(statement)
            db.session.commit()
            break
        except SQLAlchemyError:
            db.session.rollback()
            if attempt == 2:
                log.error("mail %s was sent but could not be marked; it may go twice", mail_id)
                raise
            time.sleep(0.5)
    if result.rowcount != 1:
        log.warning("mail %s was sent after its claim ran out; it may go twice", mail_id)


def _record_failure(
    mail_id: int, attempts_seen: int, error: str, sender: str = "", permanent: bool = False
) -> bool:
    """Count a failed attempt and set the next one, or fail the message; True if it failed.

    With ``sender`` the message is the one it claimed; without, a due and unclaimed one (the
    connection failed before any message was claimed).
    """
    now = utcnow()
    attempts = attempts_seen + 1
    failed = permanent or attempts >= MAX_ATTEMPTS
    held = OutgoingMail.claimed_by == sender if sender else _due(now)
    result = db.session.execute(
        update(OutgoingMail)
        .where(OutgoingMail.id == mail_id, OutgoingMail.attempts == attempts_seen, held)
        .values(
            attempts=attempts,
            last_error=error,
            next_attempt_at=now + backoff(attempts),
            failed_at=now if failed else None,
            claimed_by="",
            claimed_until=None,
        )
        .execution_options(synchronize_session=False)
    )
    if failed and result.rowcount:
        log.error(
            "mail %s failed after %d attempt(s) (%s); `flask mail retry --id %s` sends it again",
            mail_id,
            attempts,
            error,
            mail_id,
        )
    return failed and bool(result.rowcount)


def deliver_due(ids=None, limit: int = BATCH, should_stop=lambda: False) -> Outcome:
    """One pass: claim and send up to ``limit`` due messages (only ``ids`` if given)."""
    outcome = Outcome()
    query = select(OutgoingMail.id, OutgoingMail.attempts).where(_due(utcnow()))
    if ids is not None:
        query = query.where(OutgoingMail.id.in_(ids))
    candidates = db.session.execute(query.order_by(OutgoingMail.id).limit(limit)).all()
    db.session.commit()  # end the read before writing (SQLite)
    outcome.seen = len(candidates)
    if not candidates:
        return outcome
    transport = _transport()
    try:
        transport.open()
    except (OSError, smtplib.SMTPException) as error:
        outcome.server_error = _describe(error)
        for mail_id, attempts in candidates:
            outcome.failed += _record_failure(mail_id, attempts, outcome.server_error)
        db.session.commit()
        return outcome
    sender = sender_name()
    try:
        for mail_id, _attempts in candidates:
            if should_stop():
                break
            claimed = _claim(mail_id, sender)
            if claimed is None:
                continue
            outcome.claimed += 1
            email, attempts = claimed
            if isinstance(email, Exception):
                outcome.failed += _record_failure(mail_id, attempts, _describe(email), sender, True)
                db.session.commit()
                continue
            try:
                transport.send(email, mail_id)
            except (OSError, smtplib.SMTPException, ValueError, MessageError) as error:
                outcome.failed += _record_failure(
                    mail_id, attempts, _describe(error), sender, _is_permanent(error)
                )
                db.session.commit()
                if transport.broken_by(error):
                    outcome.server_error = _describe(error)
                    break
                continue
            _mark_sent(mail_id, sender)
            outcome.sent += 1
    finally:
        transport.close()
    return outcome


# ---------------------------------------------------------------- what the commands use


@dataclass
class Summary:
    """What a run sent, and what is left: pending (queued or being sent) and failed."""

    sent: int
    pending: int
    failed: int
    server_error: str = ""


def counts(ids=None) -> tuple[int, int]:
    """Unsent messages (only ``ids`` if given): (pending, failed)."""
    query = select(
        func.count().filter(OutgoingMail.failed_at.is_(None)),
        func.count().filter(OutgoingMail.failed_at.is_not(None)),
    ).where(OutgoingMail.sent_at.is_(None))
    if ids is not None:
        query = query.where(OutgoingMail.id.in_(ids))
    pending, failed = db.session.execute(query).one()
    db.session.commit()
    return pending, failed


def send_pending(ids=None, should_stop=lambda: False) -> Summary:
    """Send every due message (only ``ids`` if given), pass after pass; say what is left.

    Stops at the first pass the server refuses, or that finds nothing it may claim.
    """
    sent, server_error = 0, ""
    if ids is not None and not ids:
        return Summary(0, 0, 0)
    while not should_stop():
        outcome = deliver_due(ids, should_stop=should_stop)
        sent += outcome.sent
        server_error = outcome.server_error or server_error
        if outcome.server_error or outcome.seen < BATCH or not outcome.claimed:
            break
    pending, failed = counts(ids)
    return Summary(sent, pending, failed, server_error)


def failed_mail() -> list[OutgoingMail]:
    """Messages that failed for good, oldest first."""
    query = (
        select(OutgoingMail)
        .where(OutgoingMail.failed_at.is_not(None), OutgoingMail.sent_at.is_(None))
        .order_by(OutgoingMail.id)
    )
    return list(db.session.scalars(query))


def retry(ids=None) -> list[int]:
    """Queue failed messages again (all of them without ``ids``); return those requeued.

    The caller commits. Each gets ``MAX_ATTEMPTS`` new tries.
    """
    query = select(OutgoingMail.id).where(
        OutgoingMail.failed_at.is_not(None), OutgoingMail.sent_at.is_(None)
    )
    if ids is not None:
        query = query.where(OutgoingMail.id.in_(ids))
    found = list(db.session.scalars(query.order_by(OutgoingMail.id)))
    if found:
        db.session.execute(
            update(OutgoingMail)
            .where(OutgoingMail.id.in_(found), OutgoingMail.sent_at.is_(None))
            .values(
                failed_at=None, attempts=0, next_attempt_at=None, claimed_by="", claimed_until=None
            )
            .execution_options(synchronize_session=False)
        )
    return found
