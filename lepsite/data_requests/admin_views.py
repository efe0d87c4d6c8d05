"""Data requests on an application's admin page (admins only): the applicant's copy as a
download, and the erasure of their data after a confirmation."""

from flask import Response, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from ..admin import queries as admin_queries
from ..admin.views import bp
from ..models import Application
from . import operations, queries
from .forms import EraseForm


def get_application_for_admin_or_404(application_id: int) -> Application:
    """The application, for an admin; coordinators (and unknown ids) get a 404."""
    if not current_user.is_admin:
        abort(404)
    return admin_queries.get_application_or_404(current_user, application_id)


def _nothing_stored(application: Application):
    flash(_("Nothing is stored about this application's applicant any more."), "info")
    return redirect(url_for(".application", application_id=application.id), code=303)


@bp.route("/applications/<int:application_id>/data/export", methods=["POST"])
def export_person(application_id: int):
    """Download everything stored about the applicant's address, as JSON; audited."""
    application = get_application_for_admin_or_404(application_id)
    found = queries.holdings(application.email)
    if found.empty:
        return _nothing_stored(application)
    text = queries.export_json(found)
    actor = current_user._get_current_object()
    operations.record_export(found, actor=actor, application=application)
    filename = f"lep-data-{application.reference or application.id}.json"
    return Response(
        text,
        mimetype="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


@bp.route("/applications/<int:application_id>/data/erase", methods=["GET", "POST"])
def erase_person(application_id: int):
    """Show what erasing the applicant's data would remove; erase it once confirmed."""
    application = get_application_for_admin_or_404(application_id)
    found = queries.holdings(application.email)
    if not found.erasable:
        return _nothing_stored(application)
    form = EraseForm()
    if not form.validate_on_submit():
        page = render_template(
            "admin/data_erase.html", application=application, found=found, form=form
        )
        return page, (400 if form.errors else 200)
    actor = current_user._get_current_object()
    erasure = operations.erase(application.email, actor=actor, application=application)
    if not erasure.references and not erasure.mail_ids:  # erased a moment ago by someone else
        return _nothing_stored(application)
    flash(
        ngettext(
            "The personal data of %(num)d application was erased: %(refs)s.",
            "The personal data of %(num)d applications was erased: %(refs)s.",
            len(erasure.references),
            refs=", ".join(erasure.references),
        )
        + " "
        + ngettext(
            "%(num)d message was deleted.",
            "%(num)d messages were deleted.",
            len(erasure.mail_ids),
        ),
        "success",
    )
    return redirect(url_for(".application", application_id=application.id), code=303)
