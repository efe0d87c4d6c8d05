"""The reports' filters, read from the query string."""

from datetime import date, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from wtforms import DateField, SelectChoice, SelectField
from wtforms.validators import Optional

from ..forms import SiteForm
from .queries import default_period

# The figures start with the site; a date before this is a typing error.
EARLIEST = date(2000, 1, 1)
# A longer period would draw hundreds of months.
LONGEST_YEARS = 10


class ReportFilterForm(SiteForm):
    """Which applications the figures count: a period, a partnership, an organisation type."""

    class Meta:
        csrf = False  # a GET form that changes nothing

    date_from = DateField(_l("From date"), validators=[Optional()])
    date_to = DateField(_l("To date"), validators=[Optional()])
    partnership = SelectField(_l("Partnership"), validators=[Optional()])
    organisation_type = SelectField(_l("Type of organisation"), validators=[Optional()])

    def __init__(self, formdata, partnerships, organisation_types, as_of: date):
        """``partnerships`` and ``organisation_types``: (value, label) the user may choose."""
        super().__init__(formdata)
        self.as_of = as_of
        self.partnership.choices = [SelectChoice("", _l("All"))] + [
            SelectChoice(key, label) for key, label in partnerships
        ]
        self.organisation_type.choices = [SelectChoice("", _l("All"))] + [
            SelectChoice(key, label) for key, label in organisation_types
        ]

    @property
    def latest(self) -> date:
        """The last day a period may reach: a year from now."""
        return self.as_of + timedelta(days=366)

    def validate(self, extra_validators=None) -> bool:
        """Each date within reach, the start not after the end, at most ten years apart."""
        valid = super().validate(extra_validators)
        for field in (self.date_from, self.date_to):
            if field.data is not None and not EARLIEST <= field.data <= self.latest:
                field.errors.append(
                    _(
                        "Enter a date from %(first)s to %(last)s.",
                        first=EARLIEST.isoformat(),
                        last=self.latest.isoformat(),
                    )
                )
                valid = False
        if valid:
            first, last = self.period()
            if last < first:
                self.date_to.errors.append(_("The end of the period cannot be before its start."))
                valid = False
            elif last > _years_after(first, LONGEST_YEARS):
                self.date_to.errors.append(
                    ngettext(
                        "Choose a period of at most %(num)d year.",
                        "Choose a period of at most %(num)d years.",
                        LONGEST_YEARS,
                    )
                )
                valid = False
        return valid

    def period(self) -> tuple[date, date]:
        """The first and last day covered: as given; from a "from" date to today; the twelve
        months up to a "to" date; without either, the last twelve months."""
        first, last = self.date_from.data, self.date_to.data
        if first is None:
            first = default_period(last or self.as_of)[0]
        if last is None:
            last = max(self.as_of, first) if self.date_from.data else self.as_of
        return first, last


def _years_after(day: date, years: int) -> date:
    """The same day ``years`` later (28 February for 29 February)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)
