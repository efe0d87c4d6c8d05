"""``/admin/reports``: the statistics page and its CSV downloads."""

from flask import Blueprint, Response, abort, g, render_template, request
from flask_login import current_user, login_required

from .. import partnerships
from ..accounts.login import use_account_language
from ..membership.labels import ORGANISATION_TYPES
from ..models import NO_PARTNERSHIP
from ..review_clock import today
from ..security import keep_private
from . import queries
from .figures import FIGURES, SECTIONS, csv_text, partnership_label
from .forms import ReportFilterForm

bp = Blueprint("reports", __name__, url_prefix="/admin")


@bp.before_request
@login_required
def require_login():
    """Admins and coordinators, in their own language."""
    use_account_language()


# Coordinators' figures are theirs alone: no browser or proxy keeps them.
bp.after_request(keep_private)


def _form() -> ReportFilterForm:
    """The filters as sent, offering only the partnerships the user may see."""
    lang = g.admin_lang
    if current_user.is_admin:
        keys = [key for key, _title in partnerships.choices(lang)] + [NO_PARTNERSHIP]
    else:
        keys = sorted(current_user.partnership_keys)
    choices = sorted(
        ((key, partnership_label(key, lang)) for key in keys), key=lambda item: item[1]
    )
    types = [(key, str(label)) for key, label in ORGANISATION_TYPES.items()]
    form = ReportFilterForm(request.args, choices, types, today())
    form.validate()
    for field in (form.date_from, form.date_to):
        if field.errors:  # not echoed back: a date input may only hold a real date
            field.raw_data = []
    return form


def _filters(form: ReportFilterForm) -> queries.Filters:
    """The filters of a valid form."""
    first, last = form.period()
    return queries.Filters(
        date_from=first,
        date_to=last,
        partnerships=queries.scope(current_user, form.partnership.data or ""),
        organisation_type=form.organisation_type.data or "",
        as_of=form.as_of,
    )


@bp.route("/reports")
def index():
    """Charts and tables of the applications the user may see, for the chosen filters."""
    form = _form()
    if form.errors:
        return render_template("admin/reports.html", form=form, sections=[]), 400
    filters = _filters(form)
    lang = g.admin_lang
    sections = [
        (section, heading, [FIGURES[name](filters, lang) for name in names])
        for section, heading, names in SECTIONS
    ]
    return render_template(
        "admin/reports.html",
        form=form,
        filters=filters,
        sections=sections,
        download_args={
            field.name: request.args[field.name] for field in form if request.args.get(field.name)
        },
    )


@bp.route("/reports/<name>.csv")
def download(name: str):
    """One figure's table as CSV, for the same filters."""
    if name not in FIGURES:
        abort(404)
    form = _form()
    if form.errors:
        return render_template("admin/reports.html", form=form, sections=[]), 400
    filters = _filters(form)
    figure = FIGURES[name](filters, g.admin_lang)
    filename = f"{name}-{filters.date_from:%Y%m%d}-{filters.date_to:%Y%m%d}.csv"
    return Response(
        csv_text(figure),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
