"""Review and user-management forms."""

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, SelectField, SelectMultipleField, TextAreaField
from wtforms.validators import DataRequired

from ..forms import SiteForm
from ..membership.forms import LONG_TEXT_MAX, MaxLength, trimmed


class ActionForm(SiteForm):
    """A review step with its note (required for questions and rejections)."""

    note = TextAreaField(
        _l("Note"),
        description=_l(
            "Required to ask a question or reject. A question or the reason for a decision "
            "is shown to the applicant and sent to them."
        ),
        filters=[trimmed],
        validators=[MaxLength(LONG_TEXT_MAX)],
    )


class RerouteForm(SiteForm):
    """Admins send an application to another partnership."""

    partnership = SelectField(
        _l("Partnership"),
        validators=[DataRequired(_l("Choose a partnership."))],
        # Always has a value: HTML's "required" is only for selects with an empty first choice.
        render_kw={"required": False},
    )
    # Its own id: the review form on the same page has a "note" too.
    note = TextAreaField(
        _l("Note"), id="reroute-note", filters=[trimmed], validators=[MaxLength(LONG_TEXT_MAX)]
    )


class UserForm(SiteForm):
    """Admins set a coordinator's partnerships and whether the account may sign in."""

    partnerships = SelectMultipleField(_l("Partnerships"))
    active = BooleanField(_l("Account active"))
