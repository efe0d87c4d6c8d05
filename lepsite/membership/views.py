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
from flask_wtf.csrf import CSRFError

from .. import errors
from ..extensions import limiter
from ..i18n import current_language
from ..mail import send_now
from ..models import NO_PARTNERSHIP, OPEN_STATES
from ..security import keep_private
from . import operations, queries
from .forms import ApplicationForm, ReplyForm, WithdrawForm
from .labels import ACTION_LABELS, NOT_SURE_LABEL, ORGANISATION_TYPES, STATE_LABELS

bp = Blueprint("membership", __name__, url_prefix="/<lang:lang>/apply")


def _apply_limit() -> str:
    return current_app.config["APPLY_RATE_LIMIT"]


@bp.after_request
def keep_status_pages_private(response):
    """Status pages hold personal data behind a secret link: private, never indexed. The form
    is a public entry point that search engines may list, but its page carries a one-time
    CSRF token and key, so no cache keeps it."""
    if request.endpoint == "membership.apply":
        response.headers["Cache-Control"] = "no-store"
        return response
    return keep_private(response)


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
        try:
            application, mail_ids = operations.submit_application(
                form.application_fields(), form.submission_key.data
            )
        except Exception as error:
            # Whatever failed, the transaction rolled back and nothing was stored: the form
            # comes back with the answers and the same key, so sending it again is safe.
            return _not_stored(form, error)
        # Should anything fail from here on, the error page points to the stored application.
        g.stored_application = application
        send_now(mail_ids)
        flash(
            _("Thank you. Your application has been received; its reference is %(ref)s.")
            % {"ref": application.reference},
            "success",
        )
        return redirect(url_for(".status", token=application.token), code=303)
    return render_template("membership/apply.html", form=form), (400 if form.errors else 200)


def _not_stored(form: ApplicationForm, error: Exception):
    """The form again, answers kept, saying that the application was not stored."""
    errors.discard_transaction()
    code, headers = errors.report(error)
    page = render_template("membership/apply.html", form=form, failure=code)
    return page, code, headers


@bp.errorhandler(CSRFError)
def expired(error: CSRFError):
    """An expired form loses nothing: the application form comes back with its answers."""
    if request.endpoint != "membership.apply":
        return errors.csrf_error(error)
    form = ApplicationForm(queries.partnership_choices(g.lang, open_only=True))
    return render_template("membership/apply.html", form=form, failure=400), 400


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
    if not operations.claim(application, OPEN_STATES):  # withdrawn a moment ago
        flash(_("This application is closed and can no longer be withdrawn."), "error")
        return redirect(url_for(".status", token=token), code=303)
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
    if not operations.claim(application, {"info_requested"}):  # answered a moment ago
        flash(_("The coordinators are not waiting for an answer."), "error")
        return redirect(url_for(".status", token=token), code=303)
    send_now(operations.answer_question(application, form.answer.data))
    flash(_("Thank you. Your answer has been sent to the coordinators."), "success")
    return redirect(url_for(".status", token=token), code=303)
