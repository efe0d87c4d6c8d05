"""The admin: dashboard, applications (list, detail, actions, export), users."""

import logging
import math
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email
from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user, login_required
from wtforms import SelectChoice

from .. import audit
from ..accounts.invitations import (
    AccountExists,
    NotPending,
    invite,
    is_pending,
    live_until,
    pending_invitations,
    resend,
    revoke,
)
from ..accounts.login import use_account_language
from ..accounts.operations import LastAdminError, change_account
from ..extensions import db
from ..mail import send_now
from ..membership import ending
from ..membership.labels import ORGANISATION_TYPES, STATE_LABELS
from ..models import NO_PARTNERSHIP, STATES, User
from ..partnerships import choices as _partnership_choices
from ..review_clock import is_overdue, today
from ..security import keep_private
from . import operations, queries
from .export import csv_rows
from .forms import (
    ActionForm,
    BulkForm,
    ClaimForm,
    EndMembershipForm,
    InviteForm,
    RerouteForm,
    UserForm,
)
from .pages import page_number

bp = Blueprint("admin", __name__, url_prefix="/admin")
log = logging.getLogger(__name__)

PER_PAGE = 50

ACTION_BUTTONS = {
    "start_review": _l("Start review"),
    "request_info": _l("Ask the applicant"),
    "approve": _l("Approve"),
    "reject": _l("Reject"),
    "note": _l("Add internal note"),
}


@bp.context_processor
def admin_labels():
    """Button names for the review actions."""
    return {"action_buttons": ACTION_BUTTONS}


@bp.before_request
@login_required
def require_login():
    """Every admin page needs a signed-in user, shown in their own language."""
    use_account_language()


# Applicants' data must not stay in browser or proxy caches.
bp.after_request(keep_private)


def _require_admin() -> None:
    if not current_user.is_admin:
        abort(404)


def _translated(labels: dict) -> dict[str, str]:
    """Lazy labels translated once for this page, not again for every table row."""
    return {key: str(label) for key, label in labels.items()}


@bp.route("/")
def dashboard():
    """Counts per state, each linking to the list."""
    return render_template(
        "admin/dashboard.html",
        counts=queries.counts_by_state(current_user),
        state_labels=_translated(STATE_LABELS),
    )


@bp.route("/applications/")
def applications():
    """The user's applications: filter, search, sort, a page at a time."""
    filters = queries.Filters.from_args(request.args)
    number = page_number()
    rows, total = queries.list_page(current_user, filters, number, PER_PAGE)
    partnerships = _partnership_choices(g.admin_lang)
    if not current_user.is_admin:
        partnerships = [item for item in partnerships if item[0] in current_user.partnership_keys]
    page_args = {**filters.as_args(), **({"page": number} if number > 1 else {})}
    return render_template(
        "admin/applications.html",
        rows=rows,
        total=total,
        number=number,
        page_count=max(1, math.ceil(total / PER_PAGE)),
        filters=filters,
        states=STATES,
        partnerships=partnerships,
        state_labels=_translated(STATE_LABELS),
        organisation_types=_translated(ORGANISATION_TYPES),
        today=today(),
        is_overdue=is_overdue,
        bulk_form=BulkForm(formdata=None, back=url_for(".applications", **page_args)),
        duplicate_marks=queries.duplicate_marks(current_user, rows),
    )


def _back_to_list(target: str | None):
    """A redirect to the list as it was (its filters and page), never anywhere else."""
    list_path = url_for(".applications")
    parts = urlsplit(target or "")
    if parts.scheme or parts.netloc or parts.path != list_path:
        return redirect(list_path, code=303)
    return redirect(list_path + (f"?{parts.query}" if parts.query else ""), code=303)


@bp.route("/applications/bulk", methods=["POST"])
def bulk():
    """Take, or start the review of, the applications ticked in the list.

    Only the user's own applications are touched: an id outside them (a forged form, an
    application passed on meanwhile) is left alone, logged and reported, as one that does not
    exist.
    """
    form = BulkForm()
    if not form.validate_on_submit():
        # Only a forged form gets here (each button sends its action): say what was wrong.
        for name, errors in form.errors.items():
            if name == "action":
                flash(_("Choose what to do with the selected applications."), "error")
            else:
                flash(errors[0], "error")
        return _back_to_list(None if form.back.errors else form.back.data)
    ids, malformed = queries.parse_ids(form.ids.data)
    found = queries.selected(current_user, ids)
    ignored = malformed + len(ids) - len(found)
    if ignored:
        log.warning(
            "bulk %s by user %s: %d selected application(s) outside their list were ignored",
            form.action.data,
            current_user.id,
            ignored,
        )
        flash(
            ngettext(
                "%(num)d selected application was not found among yours; it was left alone.",
                "%(num)d selected applications were not found among yours; they were left alone.",
                ignored,
            ),
            "error",
        )
    if not ids and not ignored:
        flash(_("Select at least one application first."), "error")
        return _back_to_list(form.back.data)
    outcome = operations.bulk(found, current_user._get_current_object(), form.action.data)
    send_now(outcome.mail_ids)
    _report_bulk(form.action.data, outcome)
    return _back_to_list(form.back.data)


def _report_bulk(action: str, outcome: operations.BulkOutcome) -> None:
    """Say what a bulk request did and what it left, by reference."""
    if outcome.done:
        message = (
            _("Taken: %(refs)s.", refs=", ".join(outcome.done))
            if action == "take"
            else _("Review started: %(refs)s.", refs=", ".join(outcome.done))
        )
        flash(message, "success")
    if outcome.held_by_others:
        flash(
            _(
                "Someone else has taken %(refs)s: open an application to take it over.",
                refs=", ".join(outcome.held_by_others),
            ),
            "error",
        )
    if outcome.wrong_state:
        flash(
            _(
                "Left as they were, as their state does not allow it: %(refs)s.",
                refs=", ".join(outcome.wrong_state),
            ),
            "error",
        )


@bp.route("/applications/<int:application_id>/take", methods=["POST"])
def take(application_id: int):
    """Take the application ("assigned to me"), also from a colleague."""
    item = queries.get_application_or_404(current_user, application_id)
    if ClaimForm().validate_on_submit():
        try:
            previous = operations.take(item, current_user._get_current_object())
            db.session.commit()
        except operations.TakenMeanwhile:
            db.session.rollback()
            flash(_("Someone else took the application a moment ago: see who below."), "error")
        except operations.TransitionError:
            db.session.rollback()
            flash(_("Only open applications can be taken."), "error")
        else:
            if previous is not None:
                flash(
                    _("You took the application over from %(name)s.", name=previous.name), "success"
                )
            else:
                flash(_("The application is now assigned to you."), "success")
    return redirect(url_for(".application", application_id=item.id), code=303)


@bp.route("/applications/<int:application_id>/release", methods=["POST"])
def release(application_id: int):
    """Let go of the application (its holder, or an admin): anyone may take it then."""
    item = queries.get_application_or_404(current_user, application_id)
    if ClaimForm().validate_on_submit():
        try:
            operations.release(item, current_user._get_current_object())
            db.session.commit()
        except operations.TransitionError:
            db.session.rollback()
            flash(
                _("Only the person who has the application, or an administrator, can release it."),
                "error",
            )
        else:
            flash(_("The application is no longer assigned to anyone."), "success")
    return redirect(url_for(".application", application_id=item.id), code=303)


@bp.route("/applications/export.csv")
def export():
    """The filtered list as CSV, streamed."""
    filters = queries.Filters.from_args(request.args)
    query = queries.filtered(current_user, filters)
    audit.record(
        "export.csv",
        actor=current_user,
        details={"filters": filters.as_args(), "rows": queries.count_of(query)},
    )
    db.session.commit()
    return Response(
        stream_with_context(csv_rows(query)),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="applications.csv"'},
    )


@bp.route("/applications/<int:application_id>")
def application(application_id: int):
    """Every field, the routing and the full history, with the actions that fit."""
    item = queries.get_application_or_404(current_user, application_id)
    return _application_page(item, ActionForm(formdata=None))


def _application_page(
    item, form: ActionForm, code: int = 200, end_form: EndMembershipForm | None = None
):
    """The detail page, with the action form as given (re-shown with its errors after a POST),
    and the form that ends a membership (the same)."""
    reroute_form = None
    if current_user.is_admin:
        reroute_form = RerouteForm(formdata=None, partnership=item.partnership_key)
        reroute_form.partnership.choices = [
            SelectChoice(key, title) for key, title in _partnership_choices(g.admin_lang)
        ] + [SelectChoice(NO_PARTNERSHIP, _("No partnership chosen"))]
    return render_template(
        "admin/application.html",
        application=item,
        actions=operations.allowed_actions(item),
        form=form,
        reroute_form=reroute_form,
        claim_form=ClaimForm(formdata=None),
        may_release=operations.may_release(item, current_user),
        duplicates=queries.duplicates_of(current_user, item),
        may_end=ending.may_end(item, current_user),
        end_form=end_form or EndMembershipForm(formdata=None),
        today=today(),
        is_overdue=is_overdue,
    ), code


@bp.route("/applications/<int:application_id>/<action>", methods=["POST"])
def act(application_id: int, action: str):
    """Apply a review action; a missing note is shown at the field, a stale state explained."""
    item = queries.get_application_or_404(current_user, application_id)
    if action not in operations.TRANSITIONS:
        abort(404)
    form = ActionForm()
    if not form.validate_on_submit():
        return _application_page(item, form, 400)
    try:
        send_now(operations.act(item, current_user, action, form.note.data or ""))
    except operations.NoteRequired:
        db.session.rollback()
        form.note.errors = [_("Write a note: it is required for this action.")]
        return _application_page(item, form, 400)
    except operations.TransitionError:
        db.session.rollback()
        flash(_("This action does not fit the application's current state."), "error")
    else:
        flash(_("Saved."), "success")
    return redirect(url_for(".application", application_id=item.id), code=303)


@bp.route("/applications/<int:application_id>/end", methods=["POST"])
def end_membership(application_id: int):
    """End an approved membership with a reason; the organisation is told by mail.

    A forged or repeated request (a membership ended already, an application never approved)
    changes nothing and says why; another partnership's application is a 404, as elsewhere.
    """
    item = queries.get_application_or_404(current_user, application_id)
    if not ending.may_end(item, current_user):
        return _not_endable(item)
    form = EndMembershipForm()
    if not form.validate_on_submit():
        return _application_page(item, ActionForm(formdata=None), 400, end_form=form)
    try:
        mail_ids = ending.end_membership(item, current_user._get_current_object(), form.reason.data)
    except ending.NotEndable:  # ended a moment ago, by someone else or the organisation
        return _not_endable(item)
    send_now(mail_ids)
    flash(
        _(
            "The membership has ended: the organisation has been told by e-mail and is no "
            "longer on the public list of members."
        ),
        "success",
    )
    return redirect(url_for(".application", application_id=item.id), code=303)


def _not_endable(item):
    """Back to the application, saying why its membership cannot be ended."""
    if item.state == "ended":
        flash(_("This membership has ended already: nothing was changed."), "error")
    else:
        flash(_("Only an approved membership can be ended: nothing was changed."), "error")
    return redirect(url_for(".application", application_id=item.id), code=303)


@bp.route("/applications/<int:application_id>/reroute", methods=["POST"])
def reroute(application_id: int):
    """Admins pass an application to another partnership's coordinators."""
    _require_admin()
    item = queries.get_application_or_404(current_user, application_id)
    form = RerouteForm()
    keys = [key for key, _title in _partnership_choices("en")] + [NO_PARTNERSHIP]
    form.partnership.choices = [SelectChoice(key) for key in keys]
    if form.validate_on_submit():
        try:
            send_now(operations.reroute(item, current_user, form.partnership.data, form.note.data))
        except operations.TransitionError:
            db.session.rollback()
            flash(_("Only open applications can be passed on."), "error")
        else:
            flash(_("Saved."), "success")
    else:  # the page has no place for this form's errors: the first one goes in a message
        errors = [error for field_errors in form.errors.values() for error in field_errors]
        flash(errors[0] if errors else _("Choose a partnership."), "error")
    return redirect(url_for(".application", application_id=item.id), code=303)


def _partnership_field_choices(field) -> None:
    """The partnerships the site knows, by their names in the page's language."""
    field.choices = [SelectChoice(key, title) for key, title in _partnership_choices(g.admin_lang)]


def get_user_or_404(user_id: int) -> User:
    """An account by id, or 404."""
    return db.session.get(User, user_id) or abort(404)


@bp.route("/users/")
def users():
    """Admins see every account with its partnerships, and the invitations not yet accepted."""
    _require_admin()
    return render_template(
        "admin/users.html",
        users=[account for account in queries.coordinators() if not is_pending(account)],
        invitations=pending_invitations(),
    )


@bp.route("/users/new", methods=["GET", "POST"])
def invite_user():
    """Admins invite a person by mail; the account waits until they choose a password."""
    _require_admin()
    fresh = {"role": "coordinator", "language": g.admin_lang}  # the least powerful role first
    form = InviteForm(data=None if request.method == "POST" else fresh)
    _partnership_field_choices(form.partnerships)
    if form.validate_on_submit():
        try:
            email = validate_email(form.email.data, check_deliverability=False).normalized
            account, mail_ids = invite(
                email,
                form.name.data,
                form.role.data,
                set(form.partnerships.data),
                form.language.data,
                actor=current_user._get_current_object(),
            )
        except EmailNotValidError:
            form.email.errors.append(_("Enter an e-mail address such as name@example.org."))
        except AccountExists as error:
            form.email.errors.append(
                _("This address has been invited already: send the invitation again from the list.")
                if error.pending
                else _("An account with this address exists already.")
            )
        else:
            send_now(mail_ids)
            flash(_("The invitation has been sent to %(email)s.", email=account.email), "success")
            return redirect(url_for(".users"), code=303)
    return render_template("admin/user_new.html", form=form), (400 if form.errors else 200)


@bp.route("/users/<int:user_id>/invitation/resend", methods=["POST"])
def resend_invitation(user_id: int):
    """Mail a pending account a new link; the one sent before stops working."""
    _require_admin()
    account = get_user_or_404(user_id)
    try:
        send_now(resend(account, actor=current_user._get_current_object()))
    except NotPending:
        flash(_("%(email)s has accepted the invitation already.", email=account.email), "error")
    else:
        flash(_("A new invitation has been sent to %(email)s.", email=account.email), "success")
    return redirect(url_for(".users"), code=303)


@bp.route("/users/<int:user_id>/invitation/revoke", methods=["POST"])
def revoke_invitation(user_id: int):
    """Withdraw an invitation: the pending account and its link are deleted."""
    _require_admin()
    account = get_user_or_404(user_id)
    email = account.email
    try:
        revoke(account, actor=current_user._get_current_object())
    except NotPending:
        flash(_("%(email)s has accepted the invitation already.", email=email), "error")
    else:
        flash(_("The invitation to %(email)s has been withdrawn.", email=email), "success")
    return redirect(url_for(".users"), code=303)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
def user(user_id: int):
    """Admins set an account's role, partnerships and active state; each change is audited
    and holds from the account's next request."""
    _require_admin()
    account = get_user_or_404(user_id)
    pending = is_pending(account)
    data = {"role": account.role}  # a form sent without a role keeps the account's
    if request.method != "POST":
        data.update(partnerships=sorted(account.partnership_keys), active=account.active)
    form = UserForm(data=data)
    _partnership_field_choices(form.partnerships)
    if pending:
        del form.active  # switched on by accepting the invitation, not here
    me = current_user._get_current_object()
    if form.validate_on_submit():
        active = None if pending else form.active.data
        if account.id == me.id and active is False:
            form.active.errors.append(_("You cannot deactivate your own account."))
        else:
            try:
                change_account(
                    account,
                    actor=me,
                    role=form.role.data,
                    partnerships=set(form.partnerships.data),
                    active=active,
                )
            except LastAdminError:
                db.session.rollback()
                field = form.role if form.role.data != "admin" else form.active
                field.errors.append(_("The site needs at least one active administrator."))
            else:
                flash(_("Saved."), "success")
                # An admin who made themselves a coordinator may no longer see the list.
                target = ".users" if me.is_admin else ".dashboard"
                return redirect(url_for(target), code=303)
    return render_template(
        "admin/user.html",
        account=account,
        form=form,
        pending=pending,
        link_valid_until=live_until(account) if pending else None,
    ), (400 if form.errors else 200)
