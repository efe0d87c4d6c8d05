"""The audit page's filters, read from the query string."""

from flask_babel import lazy_gettext as _l
from wtforms import DateField, SelectField, StringField
from wtforms.validators import Optional

from ..forms import SiteForm
from ..membership.forms import MaxLength, single_line
from .labels import ACTION_LABELS

EMAIL_MAX = 254


class AuditFilterForm(SiteForm):
    """Which entries to show: by action, by account or e-mail address, by date."""

    class Meta:
        csrf = False  # a GET search that changes nothing

    action = SelectField(_l("Action"), validators=[Optional()])
    who = StringField(
        _l("Account or e-mail address"),
        description=_l("The whole address; upper or lower case does not matter."),
        filters=[single_line],
        validators=[MaxLength(EMAIL_MAX)],
    )
    date_from = DateField(_l("From date"), validators=[Optional()])
    date_to = DateField(_l("To date"), validators=[Optional()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.action.choices = [("", _l("All"))] + list(ACTION_LABELS.items())
