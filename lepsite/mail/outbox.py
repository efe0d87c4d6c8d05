"""Queue and render mail; hand it to the sender."""

import json
import logging
from collections.abc import Iterable
from email.message import EmailMessage
from email.utils import format_datetime

from flask import current_app, render_template
from flask_babel import force_locale

from ..extensions import db
from ..models import Application, OutgoingMail

log = logging.getLogger(__name__)

# Attachments are stored in the message's body, after its text: each one a line of JSON behind
# this mark. It holds a control character, which no form lets into a text (lepsite.forms), so
# no body can hold it by chance. (filename, MIME type, text) each.
ATTACHMENT_MARK = "\n\x1eattachment "
Attachment = tuple[str, str, str]


def render_mail(template: str, language: str, **context) -> tuple[str, str]:
    """Subject and body of ``mail/<template>.txt`` in ``language`` (first line: subject)."""
    with force_locale(language):
        text = render_template(f"mail/{template}.txt", mail_language=language, **context)
    subject, _, body = text.strip().partition("\n")
    return subject.strip(), body.strip() + "\n"


def queue_mail(
    recipient: str,
    template: str,
    language: str,
    attachments: Iterable[Attachment] = (),
    **context,
) -> OutgoingMail:
    """Add a message to the session; it is stored only if the caller's transaction commits.

    An ``application=`` in the context (the templates use it) also links the message to that
    application, so its status page can tell whether the mail went out. ``attachments``:
    (filename, MIME type, text) of files sent with it.
    """
    subject, body = render_mail(template, language, **context)
    for filename, content_type, content in attachments:
        item = {"filename": filename, "type": content_type, "content": content}
        body += ATTACHMENT_MARK + json.dumps(item, ensure_ascii=False)
    message = OutgoingMail(recipient=recipient, subject=subject, body=body)
    application = context.get("application")
    if isinstance(application, Application):
        message.application = application
    db.session.add(message)
    return message


def split_body(body: str) -> tuple[str, list[dict]]:
    """A stored body's text, and its attachments (``filename``, ``type``, ``content``)."""
    text, *attachments = body.split(ATTACHMENT_MARK)
    return text, [json.loads(item) for item in attachments]


def as_email(message: OutgoingMail) -> EmailMessage:
    """The stored message as an e-mail with the site's sender."""
    config = current_app.config
    email = EmailMessage()
    email["From"] = config["MAIL_DEFAULT_SENDER"]
    email["To"] = message.recipient
    email["Subject"] = message.subject
    if config["MAIL_REPLY_TO"]:
        # A reply (and a data request the privacy notice invites by reply) reaches people, not
        # the sending address. On every message: whoever replies, applicant or staff.
        email["Reply-To"] = config["MAIL_REPLY_TO"]
    email["Date"] = format_datetime(message.created_at)
    # The same on every attempt: a message sent twice (see ``sender``) can be recognised.
    domain = config["MAIL_DEFAULT_SENDER"].rpartition("@")[2]
    email["Message-ID"] = f"<lep.{message.id}.{message.created_at:%Y%m%d%H%M%S}@{domain}>"
    text, attachments = split_body(message.body)
    email.set_content(text)
    for item in attachments:
        maintype, _, subtype = item["type"].partition("/")
        email.add_attachment(
            item["content"].encode(), maintype=maintype, subtype=subtype, filename=item["filename"]
        )
    return email


def send_now(ids: list[int]) -> None:
    """Called after a request commits mail: never waits on a mail server.

    With ``MAIL_SERVER`` set this does nothing: ``flask mail worker`` picks the messages up
    within a second or two (and ``flask mail send-pending`` if no worker runs), so a slow or
    silent mail server can never hold a request. Without it (development, tests) the
    messages are written to the outbox folder at once: a local file cannot hang, and the
    message can be read as soon as the page answers. Any failure leaves them queued.
    """
    if current_app.config["MAIL_SERVER"] or not ids:
        return
    from .sender import send_pending  # the sender imports this module

    try:
        send_pending(ids)
    except Exception:  # noqa: BLE001 - the change is committed; mail must not undo the response
        log.exception("writing mail %s to the outbox failed; it stays queued", ids)
        db.session.rollback()
