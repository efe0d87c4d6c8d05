"""The admin: dashboard, applications (list, detail, actions, export), users."""

import math

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
from flask_login import current_user, login_required
from wtforms import SelectChoice

from .. import audit
from ..accounts import use_account_language
from ..accounts.operations import LastAdminError, change_account
from ..extensions import db
from ..mail import send_now
from ..membership.labels import ORGANISATION_TYPES, STATE_LABELS
from ..membership.queries import partnership_choices as _partnership_choices
from ..models import NO_PARTNERSHIP, STATES, User
from ..security import keep_private
from . import operations, queries
from .export import csv_rows
from .forms import ActionForm, RerouteForm, UserForm
from .pages import page_number

bp = Blueprint("admin", __name__, url_prefix="/admin")

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
    rows, total = queries.page_of(queries.filtered(current_user, filters), number, PER_PAGE)
    partnerships = _partnership_choices(g.admin_lang)
    if not current_user.is_admin:
        partnerships = [item for item in partnerships if item[0] in current_user.partnership_keys]
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
    )


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


def _application_page(item, form: ActionForm, code: int = 200):
    """The detail page, with the action form as given (re-shown with its errors after a POST)."""
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


@bp.route("/users/")
def users():
    """Admins see every account with its partnerships."""
    _require_admin()
    return render_template("admin/users.html", users=queries.coordinators())


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
def user(user_id: int):
    """Admins assign partnerships to a coordinator and switch the account on or off."""
    _require_admin()
    account = db.session.get(User, user_id) or abort(404)
    form = UserForm(
        data=None
        if request.method == "POST"
        else {"partnerships": sorted(account.partnership_keys), "active": account.active}
    )
    form.partnerships.choices = [
        SelectChoice(key, title) for key, title in _partnership_choices(g.admin_lang)
    ]
    if form.validate_on_submit():
        if account.id == current_user.id and not form.active.data:
            flash(_("You cannot deactivate your own account."), "error")
        else:
            try:
                change_account(
                    account,
                    actor=current_user._get_current_object(),
                    partnerships=set(form.partnerships.data),
                    active=form.active.data,
                )
            except LastAdminError:
                db.session.rollback()
                flash(_("The site needs at least one active administrator."), "error")
            else:
                flash(_("Saved."), "success")
                return redirect(url_for(".users"), code=303)
    return render_template("admin/user.html", account=account, form=form)
