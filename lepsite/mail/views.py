"""``/admin/mail/failed``: mail that could not be sent, for admins to send again."""

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from .. import audit
from ..admin.pages import admins_only
from ..extensions import db
from . import queries, sender

bp = admins_only(Blueprint("mail", __name__, url_prefix="/admin/mail"))


@bp.route("/failed")
def failed():
    """The messages that failed for good, each with a button to send it again."""
    return render_template("admin/mail_failed.html", messages=sender.failed_mail())


def _requeue(ids: list[int] | None) -> list[int]:
    """Queue failed messages again, audited; return their ids."""
    requeued = sender.retry(ids)
    for mail_id in requeued:
        audit.record("mail.retry", actor=current_user, subject=f"mail:{mail_id}")
    db.session.commit()
    return requeued


@bp.route("/<int:mail_id>/retry", methods=["POST"])
def retry(mail_id: int):
    """Queue one failed message again."""
    queries.get_failed_mail_or_404(mail_id)
    _requeue([mail_id])
    flash(_("The message is queued again."), "success")
    return redirect(url_for(".failed"), code=303)


@bp.route("/failed/retry", methods=["POST"])
def retry_all():
    """Queue every failed message again."""
    number = len(_requeue(None))
    flash(
        ngettext("%(num)d message is queued again.", "%(num)d messages are queued again.", number),
        "success",
    )
    return redirect(url_for(".failed"), code=303)
