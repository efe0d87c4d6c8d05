"""The admins' confirmation of an erasure."""

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField
from wtforms.validators import DataRequired

from ..forms import SiteForm


class EraseForm(SiteForm):
    """An admin confirms that a person's data is to be erased now."""

    confirm = BooleanField(
        _l("Yes, erase this person's data now"),
        description=_l("This cannot be undone."),
        validators=[DataRequired(_l("Tick the box to confirm the erasure."))],
    )
