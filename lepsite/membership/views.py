"""The membership form, the applicant's private status page, and the way back to it."""

import math

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
from flask_babel import ngettext
from flask_wtf.csrf import CSRFError, generate_csrf
from limits import parse_many

from .. import errors, partnerships
from ..accounts import throttle
from ..extensions import limiter
from ..i18n import current_language
from ..mail import send_now
from ..models import NO_PARTNERSHIP, OPEN_STATES
from ..public.caching import form_page
from ..security import keep_private
from . import ending, operations, queries
from .forms import (
    ApplicationForm,
    CorrectionForm,
    LeaveForm,
    ReplyForm,
    StatusLinksForm,
    WithdrawForm,
    new_submission_key,
)
from .labels import (
    ACTION_LABELS,
    FIELD_LABELS,
    NOT_SURE_LABEL,
    ORGANISATION_TYPES,
    STATE_LABELS,
)

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
        "changed_fields": _changed_fields,
        "partnership_name": _partnership_name,
    }


def _changed_fields(note: str) -> list[str]:
    """The names of the fields a ``corrected`` event's note lists, in the page's language."""
    return [str(FIELD_LABELS.get(name, name)) for name in note.split(", ") if name]


def _partnership_name(key: str, lang: str | None = None) -> str:
    if key == NO_PARTNERSHIP:
        return str(NOT_SURE_LABEL)
    return partnerships.title(lang or current_language(), key) or key


@bp.route("", methods=["GET", "POST"])
@limiter.limit(_apply_limit, methods=["POST"])
def apply():
    """Show the form; store a valid application and send the applicant to its status page."""
    open_ones = partnerships.choices(g.lang, open_only=True)
    if request.method == "GET":
        wanted = request.args.get("partnership", "")
        chosen = wanted if wanted in dict(open_ones) else ""
        # Rendered once per language and choice; each visitor gets a fresh token and key.
        return form_page(
            (chosen,),
            lambda **secrets: _blank_form(open_ones, chosen, **secrets),
            csrf_token=generate_csrf,
            submission_key=new_submission_key,
        )
    form = ApplicationForm(open_ones)
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


def _blank_form(choices, chosen: str, csrf_token: str, submission_key: str) -> str:
    """The form as first shown, with the given CSRF token and one-time key."""
    form = ApplicationForm(
        choices,
        data={"language": g.lang, "partnership": chosen, "submission_key": submission_key},
    )
    form.csrf_token.current_token = csrf_token
    return render_template("membership/apply.html", form=form)


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
    form = ApplicationForm(partnerships.choices(g.lang, open_only=True))
    return render_template("membership/apply.html", form=form, failure=400), 400


def _status_page(
    application, withdraw_form=None, reply_form=None, leave_form=None, code: int = 200
):
    """The status page with its forms (one of them re-shown with its errors)."""
    return render_template(
        "membership/status.html",
        application=application,
        withdraw_form=withdraw_form or WithdrawForm(formdata=None),
        reply_form=reply_form or ReplyForm(formdata=None),
        leave_form=leave_form or LeaveForm(formdata=None),
        may_leave=ending.may_end(application),
        correctable=application.state in operations.CORRECTABLE_STATES,
    ), code


# The status links, mailed again: each request counts per client address and per address typed,
# in the rate limiter's storage (shared by every worker and server; see accounts.throttle).
# Keyed by what was typed, an address that never applied is limited exactly like one that did.


def _status_links_limits(email: str) -> throttle.Limits:
    """(scope, key, limits) that a request for the links mailed to ``email`` counts against."""
    config = current_app.config
    return [
        ("status-links-address", request.remote_addr or "",
         parse_many(config["STATUS_LINKS_RATE_LIMIT"])),
        ("status-links-email", throttle.email_key(email),
         parse_many(config["STATUS_LINKS_EMAIL_RATE_LIMIT"])),
    ]  # fmt: skip


@bp.route("/status", methods=["GET", "POST"])
def status_links():
    """Ask for the status links again: mailed to the address if it has open applications.

    The answer is the same, in text and status, whether or not the address applied.
    """
    form = StatusLinksForm()
    if not form.validate_on_submit():
        page = render_template("membership/status_lookup.html", form=form)
        return page, (400 if form.errors else 200)
    verdict = throttle.count_request(_status_links_limits(form.email.data))
    if not verdict.allowed:
        minutes = max(1, math.ceil(verdict.retry_after / 60))
        message = ngettext(
            "You have asked for the links too often. Try again in %(num)d minute.",
            "You have asked for the links too often. Try again in %(num)d minutes.",
            minutes,
        )
        page = render_template("membership/status_lookup.html", form=form, refused=message)
        return page, 429
    send_now(operations.mail_status_links(form.email.data))
    flash(
        _(
            "If any open application was made with that address, the links are on their way to "
            "it. The e-mail can take a few minutes; look in the spam folder too."
        ),
        "success",
    )
    return redirect(url_for(".status_links"), code=303)


@bp.errorhandler(404)
def unknown_status_link(error):
    """A status link that leads nowhere: the 404, saying how to have a working one mailed."""
    if request.endpoint not in _STATUS_ENDPOINTS:
        return errors.render_error(error)
    return render_template("membership/status_unknown.html", code=404), 404


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


@bp.route("/status/<token>/leave", methods=["POST"])
def leave(token: str):
    """End the organisation's membership after it confirms; the coordinators are told.

    A repeated or forged request (ended already, never approved) changes nothing and says so.
    """
    application = queries.get_application_by_token_or_404(token)
    if not ending.may_end(application):
        return _not_endable(application)
    form = LeaveForm()
    if not form.validate_on_submit():
        return _status_page(application, leave_form=form, code=400)
    try:
        mail_ids = ending.leave(application, form.reason.data or "")
    except ending.NotEndable:  # ended a moment ago
        return _not_endable(application)
    send_now(mail_ids)
    flash(
        _(
            "Your organisation's membership has ended. The coordinators have been told, and "
            "it is no longer on the public list of members."
        ),
        "success",
    )
    return redirect(url_for(".status", token=token), code=303)


def _not_endable(application):
    """Back to the status page, saying why there is no membership to end."""
    if application.state == "ended":
        flash(_("This membership has ended already: nothing was changed."), "error")
    else:
        flash(_("Only an approved membership can be ended: nothing was changed."), "error")
    return redirect(url_for(".status", token=application.token), code=303)


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


@bp.route("/status/<token>/correct", methods=["GET", "POST"])
def correct(token: str):
    """Correct the application while the coordinators have not started or wait for an answer."""
    application = queries.get_application_by_token_or_404(token)
    if application.state not in operations.CORRECTABLE_STATES:
        return _not_correctable(token)
    key = application.partnership_key  # its country's rules for the registration number
    form = CorrectionForm(key, obj=application) if request.method == "GET" else CorrectionForm(key)
    if not form.validate_on_submit():
        page = render_template("membership/correct.html", application=application, form=form)
        return page, (400 if form.errors else 200)
    try:
        changed, mail_ids = operations.correct_application(application, form.corrected_fields())
    except operations.NotCorrectable:  # the state changed a moment ago
        return _not_correctable(token)
    if not changed:
        flash(_("The application already held these answers: nothing needed changing."), "info")
        return redirect(url_for(".status", token=token), code=303)
    send_now(mail_ids)
    flash(_("Your corrections have been saved and the coordinators told."), "success")
    return redirect(url_for(".status", token=token), code=303)


def _not_correctable(token: str):
    """Back to the status page, saying why the application cannot be corrected now."""
    flash(
        _(
            "This application can no longer be corrected: that is possible only until the "
            "review starts, and while the coordinators wait for your answer."
        ),
        "error",
    )
    return redirect(url_for(".status", token=token), code=303)


# Pages behind a status link: an unknown link there gets the 404 that says how to find it.
_STATUS_ENDPOINTS = {
    f"membership.{name}" for name in ("status", "withdraw", "leave", "answer", "correct")
}
