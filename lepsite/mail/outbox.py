"""Queue, render and deliver mail."""

import logging
import smtplib
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from flask import current_app, render_template
from flask_babel import force_locale
from sqlalchemy import select

from ..extensions import db
from ..models import OutgoingMail, utcnow

log = logging.getLogger(__name__)

# After this many failed tries a message is left for a person to look at.
MAX_ATTEMPTS = 20


def render_mail(template: str, language: str, **context) -> tuple[str, str]:
    """Subject and body of ``mail/<template>.txt`` in ``language`` (first line: subject)."""
    with force_locale(language):
        text = render_template(f"mail/{template}.txt", mail_language=language, **context)
    subject, _, body = text.strip().partition("\n")
    return subject.strip(), body.strip() + "\n"


def queue_mail(recipient: str, template: str, language: str, **context) -> OutgoingMail:
    """Add a message to the session; it is stored only if the caller's transaction commits."""
    subject, body = render_mail(template, language, **context)
    message = OutgoingMail(recipient=recipient, subject=subject, body=body)
    db.session.add(message)
    return message


def _as_email(message: OutgoingMail) -> EmailMessage:
    config = current_app.config
    email = EmailMessage()
    email["From"] = config["MAIL_DEFAULT_SENDER"]
    email["To"] = message.recipient
    email["Subject"] = message.subject
    email["Date"] = format_datetime(message.created_at)
    email["Message-ID"] = make_msgid(domain=config["MAIL_DEFAULT_SENDER"].rpartition("@")[2])
    email.set_content(message.body)
    return email


def _deliver_outbox(email: EmailMessage, message_id: int) -> None:
    outbox = Path(current_app.config["MAIL_OUTBOX_DIR"])
    outbox.mkdir(parents=True, exist_ok=True)
    (outbox / f"{message_id:08d}.eml").write_bytes(bytes(email))


def send_pending(ids: list[int] | None = None) -> tuple[int, int]:
    """Try to send queued messages (only ``ids`` if given); return (sent, still pending).

    Rows are locked while sending so two servers never send the same message twice
    (PostgreSQL skips rows another server holds; SQLite has one writer anyway).
    """
    query = (
        select(OutgoingMail)
        .where(OutgoingMail.sent_at.is_(None), OutgoingMail.attempts < MAX_ATTEMPTS)
        .order_by(OutgoingMail.id)
        .with_for_update(skip_locked=True)
    )
    if ids is not None:
        if not ids:
            return 0, 0
        query = query.where(OutgoingMail.id.in_(ids))
    messages = list(db.session.scalars(query))
    if messages:
        for message in messages:
            message.attempts += 1
        if current_app.config["MAIL_SERVER"]:
            _deliver_smtp(messages)
        else:
            for message in messages:
                _deliver_outbox(_as_email(message), message.id)
                message.sent_at = utcnow()
    sent = sum(1 for message in messages if message.sent_at is not None)
    db.session.commit()
    return sent, len(messages) - sent


def _deliver_smtp(messages: list[OutgoingMail]) -> None:
    """Send over one connection; on failure the unsent keep their error and stay queued."""
    config = current_app.config
    try:
        with smtplib.SMTP(
            config["MAIL_SERVER"], config["MAIL_PORT"], timeout=config["MAIL_TIMEOUT"]
        ) as smtp:
            if config["MAIL_USE_TLS"]:
                smtp.starttls()
            if config["MAIL_USERNAME"]:
                smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
            for message in messages:
                try:
                    smtp.send_message(_as_email(message))
                except smtplib.SMTPRecipientsRefused as error:
                    message.last_error = str(error)[:1000]
                    continue
                message.sent_at = utcnow()
                message.last_error = ""
    except (OSError, smtplib.SMTPException) as error:
        unsent = [message for message in messages if message.sent_at is None]
        log.warning("mail server unavailable, %d message(s) stay queued: %s", len(unsent), error)
        for message in unsent:
            message.last_error = (str(error) or type(error).__name__)[:1000]


def send_now(ids: list[int]) -> None:
    """Send just-committed mail; any failure leaves it queued for ``send-pending``."""
    try:
        send_pending(ids)
    except Exception:  # noqa: BLE001 - the change is committed; mail must not undo the response
        log.exception("sending mail %s failed; it stays queued", ids)
        db.session.rollback()
