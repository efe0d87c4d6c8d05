"""The membership form and the applicant's private status page."""

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _

from ..extensions import limiter
from ..i18n import current_language
from ..mail import send_now
from ..models import NO_PARTNERSHIP
from ..security import keep_private
from . import operations, queries
from .forms import ApplicationForm, ReplyForm, WithdrawForm
from .labels import ACTION_LABELS, NOT_SURE_LABEL, ORGANISATION_TYPES, STATE_LABELS

bp = Blueprint("membership", __name__, url_prefix="/<lang:lang>/apply")


def _apply_limit() -> str:
    return current_app.config["APPLY_RATE_LIMIT"]


# Status pages hold personal data behind a secret link.
bp.after_request(keep_private)


@bp.app_context_processor
def membership_labels():
    """Names for application codes, for every template (the admin uses them too)."""
    return {
        "organisation_types": ORGANISATION_TYPES,
        "state_labels": STATE_LABELS,
        "action_labels": ACTION_LABELS,
        "partnership_name": _partnership_name,
    }


def _partnership_name(key: str, lang: str | None = None) -> str:
    if key == NO_PARTNERSHIP:
        return str(NOT_SURE_LABEL)
    return queries.partnership_title(lang or current_language(), key) or key


@bp.route("", methods=["GET", "POST"])
@limiter.limit(_apply_limit, methods=["POST"])
def apply():
    """Show the form; store a valid application and send the applicant to its status page."""
    partnerships = queries.partnership_choices(g.lang, open_only=True)
    if request.method == "GET":
        wanted = request.args.get("partnership", "")
        form = ApplicationForm(
            partnerships,
            data={
                "language": g.lang,
                "partnership": wanted if wanted in dict(partnerships) else "",
            },
        )
    else:
        form = ApplicationForm(partnerships)
    if form.validate_on_submit():
        if form.is_bot():
            return render_template("membership/received.html")
        application, mail_ids = operations.submit_application(form.application_fields())
        send_now(mail_ids)
        flash(
            _("Thank you. Your application has been received; its reference is %(ref)s.")
            % {"ref": application.reference},
            "success",
        )
        return redirect(url_for(".status", token=application.token), code=303)
    return render_template("membership/apply.html", form=form), (400 if form.errors else 200)


def _status_page(application, withdraw_form=None, reply_form=None, code: int = 200):
    """The status page with its two forms (one of them re-shown with its errors)."""
    return render_template(
        "membership/status.html",
        application=application,
        withdraw_form=withdraw_form or WithdrawForm(formdata=None),
        reply_form=reply_form or ReplyForm(formdata=None),
    ), code


@bp.route("/status/<token>")
def status(token: str):
    """The applicant's view of their application: state, history, and what they can do."""
    return _status_page(queries.get_application_by_token_or_404(token))


@bp.route("/status/<token>/withdraw", methods=["POST"])
def withdraw(token: str):
    """Withdraw an open application after the applicant confirms."""
    application = queries.get_application_by_token_or_404(token)
    form = WithdrawForm()
    if not application.is_open:
        flash(_("This application is closed and can no longer be withdrawn."), "error")
        return redirect(url_for(".status", token=token), code=303)
    if not form.validate_on_submit():
        return _status_page(application, withdraw_form=form, code=400)
    send_now(operations.withdraw_application(application))
    flash(_("Your application has been withdrawn."), "success")
    return redirect(url_for(".status", token=token), code=303)


@bp.route("/status/<token>/answer", methods=["POST"])
def answer(token: str):
    """Send the answer to the coordinators' question."""
    application = queries.get_application_by_token_or_404(token)
    form = ReplyForm()
    if application.state != "info_requested":
        flash(_("The coordinators are not waiting for an answer."), "error")
        return redirect(url_for(".status", token=token), code=303)
    if not form.validate_on_submit():
        return _status_page(application, reply_form=form, code=400)
    send_now(operations.answer_question(application, form.answer.data))
    flash(_("Thank you. Your answer has been sent to the coordinators."), "success")
    return redirect(url_for(".status", token=token), code=303)
