"""The membership application form and the applicant's own actions on the status page."""

import re
import secrets

from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    URL,
    DataRequired,
    Email,
    InputRequired,
    Optional,
    Regexp,
    ValidationError,
)

from .. import partnerships
from ..forms import SiteForm
from ..i18n import LANGUAGES
from ..models import NO_PARTNERSHIP
from . import registration
from .labels import FIELD_LABELS, NOT_SURE_LABEL, ORGANISATION_TYPES

LONG_TEXT_MAX = 2000

# What ``new_submission_key`` makes; anything else a browser sends is replaced by a fresh key.
SUBMISSION_KEY = re.compile(r"^[A-Za-z0-9_-]{43}$")


def new_submission_key() -> str:
    """A one-time key for one showing of the application form."""
    return secrets.token_urlsafe(32)


class MaxLength:
    """Refuse text longer than ``limit``, with the plural form the number needs."""

    def __init__(self, limit: int):
        self.limit = limit
        self.field_flags = {"maxlength": limit}

    def __call__(self, form, field) -> None:
        if field.data and len(field.data) > self.limit:
            raise ValidationError(
                ngettext(
                    "Use at most %(num)d character.",
                    "Use at most %(num)d characters.",
                    self.limit,
                )
            )


def single_line(value: str | None) -> str | None:
    """Trim and collapse whitespace, so no line break can reach a mail header or CSV row."""
    return " ".join(value.split()) if isinstance(value, str) else value


def trimmed(value: str | None) -> str | None:
    """Trim a long text; line breaks inside it are kept."""
    return value.strip() if isinstance(value, str) else value


def with_scheme(value: str | None) -> str | None:
    """Accept ``example.org`` as ``https://example.org``."""
    if value and not re.match(r"^[a-z][a-z0-9+.-]*://", value, re.IGNORECASE):
        return "https://" + value
    return value


class ApplicationForm(SiteForm):
    """An organisation's application to join a partnership."""

    organisation_name = StringField(
        _l("Organisation name"),
        filters=[single_line],
        validators=[
            DataRequired(_l("Enter the name of your organisation.")),
            MaxLength(200),
        ],
    )
    organisation_type = SelectField(
        _l("Type of organisation"),
        choices=[SelectChoice("", _l("Choose one"))]
        + [SelectChoice(code, label) for code, label in ORGANISATION_TYPES.items()],
        validators=[DataRequired(_l("Choose the type of your organisation."))],
    )
    registration_number = StringField(
        _l("Registration number (optional)"),
        description=_l(
            "Ukraine: the EDRPOU code (8 digits; a sole trader, ФОП, has none). Bosnia and "
            "Herzegovina: the ID number (JIB, 13 digits)."
        ),
        filters=[single_line],
        validators=[Optional(), MaxLength(40)],
    )
    partnership = SelectField(
        _l("Partnership you want to join"),
        description=_l("Only partnerships that are open to new members are listed."),
        validators=[DataRequired(_l("Choose a partnership, or “not sure”."))],
    )
    municipality = StringField(
        _l("Municipality or city"),
        filters=[single_line],
        validators=[
            DataRequired(_l("Enter the municipality or city where you work.")),
            MaxLength(120),
        ],
    )
    website = StringField(
        _l("Website (optional)"),
        filters=[single_line, with_scheme],
        validators=[
            Optional(),
            MaxLength(300),
            URL(message=_l("Enter a web address such as https://example.org.")),
        ],
    )
    contact_name = StringField(
        _l("Contact person"),
        filters=[single_line],
        validators=[
            DataRequired(_l("Enter the name of the contact person.")),
            MaxLength(120),
        ],
    )
    contact_role = StringField(
        _l("Their role in the organisation (optional)"),
        filters=[single_line],
        validators=[Optional(), MaxLength(120)],
    )
    email = EmailField(
        _l("E-mail address"),
        description=_l("We send the confirmation and every decision here."),
        filters=[single_line],
        validators=[
            DataRequired(_l("Enter an e-mail address.")),
            MaxLength(254),
            Email(_l("Enter an e-mail address such as name@example.org.")),
        ],
    )
    phone = StringField(
        _l("Phone (optional)"),
        filters=[single_line],
        validators=[
            Optional(),
            MaxLength(40),
            Regexp(
                r"^\+?[0-9 ()./-]{5,40}$",
                message=_l("Enter a phone number using digits, spaces and + ( ) - only."),
            ),
        ],
    )
    language = SelectField(
        _l("Language for our messages to you"),
        choices=[SelectChoice(code, name) for code, name in LANGUAGES.items()],
        validators=[InputRequired()],
        # Always has a value: HTML's "required" is only for selects with an empty first choice.
        render_kw={"required": False},
    )
    contribution = TextAreaField(
        _l("What can your organisation contribute?"),
        description=_l("For example training places, jobs, premises, expertise or contacts."),
        filters=[trimmed],
        validators=[
            DataRequired(_l("Tell us what your organisation can contribute.")),
            MaxLength(LONG_TEXT_MAX),
        ],
    )
    motivation = TextAreaField(
        _l("Why do you want to join?"),
        filters=[trimmed],
        validators=[
            DataRequired(_l("Tell us why your organisation wants to join.")),
            MaxLength(LONG_TEXT_MAX),
        ],
    )
    consent_processing = BooleanField(
        _l("I agree that the data in this form is processed to handle the application."),
        validators=[DataRequired(_l("We can only handle the application with your consent."))],
    )
    consent_listing = BooleanField(
        _l("If approved, our organisation's name may be listed on the partnership's public page.")
    )
    # Hidden from people; bots fill it in. A filled one means nothing is stored.
    fax_number = StringField(_l("Leave this field empty"))
    # Made when the form is shown and sent back with it: the same form sent twice (a double
    # click, a retry after a lost answer) stores one application (operations.submit_application).
    submission_key = HiddenField(_l("Form key"))

    def __init__(self, partnerships: list[tuple[str, str]], **kwargs):
        super().__init__(**kwargs)
        if not SUBMISSION_KEY.match(self.submission_key.data):
            # Missing (a page shown before keys existed, a script) or mangled: the application
            # is still taken, under a fresh key; refusing it would lose a person's answers.
            # (Control characters stay a field error, as in every field: see SiteForm.)
            self.submission_key.data = new_submission_key()
        self.partnership.choices = [
            SelectChoice("", _l("Choose one")),
            *(SelectChoice(key, title) for key, title in partnerships),
            SelectChoice(NO_PARTNERSHIP, NOT_SURE_LABEL),
        ]

    def is_bot(self) -> bool:
        """True when the hidden field was filled in."""
        return bool(self.fax_number.data)

    def validate_partnership(self, field) -> None:
        """Choices change with the content; an empty value is left to DataRequired."""
        if field.data and field.data not in {choice.value for choice in field.choices}:
            raise ValidationError(_l("Choose a partnership from the list."))

    def registration_countries(self) -> tuple[str, ...]:
        """Whose rules the registration number follows: the chosen partnership's country;
        none (either country's) for "not sure" or no valid choice yet."""
        country = partnerships.country_of(self.partnership.data or "")
        return (country,) if country else ()

    def validate_registration_number(self, field) -> None:
        """A valid number of the partnership's country; kept as its digits alone."""
        try:
            field.data = registration.check(field.data, self.registration_countries())
        except registration.RegistrationNumberError as error:
            raise ValidationError(error.message()) from None

    def application_fields(self) -> dict:
        """The typed values, named as the model names them."""
        names = (
            "organisation_name", "organisation_type", "registration_number", "municipality",
            "website", "contact_name", "contact_role", "email", "phone", "language",
            "contribution", "motivation",
        )  # fmt: skip
        values = {name: getattr(self, name).data or "" for name in names}
        values["consent_processing"] = bool(self.consent_processing.data)
        values["consent_listing"] = bool(self.consent_listing.data)
        values["partnership_key"] = self.partnership.data
        return values


class CorrectionForm(ApplicationForm):
    """The applicant corrects an open application: the application form's fields and checks,
    without the partnership (changing it would re-route the application: only admins do),
    the bots' field and the one-time key (a repeated correction changes nothing anyway)."""

    partnership = None
    fax_number = None
    submission_key = None

    def __init__(self, partnership_key: str = NO_PARTNERSHIP, **kwargs):
        # SiteForm's set-up only: ApplicationForm's prepares the partnership list and key.
        super(ApplicationForm, self).__init__(**kwargs)
        self.partnership_key = partnership_key

    def registration_countries(self) -> tuple[str, ...]:
        """The country of the application's partnership (see ApplicationForm)."""
        country = partnerships.country_of(self.partnership_key)
        return (country,) if country else ()

    def corrected_fields(self) -> dict:
        """The typed values of the correctable fields (``FIELD_LABELS``), as stored."""
        values = {name: getattr(self, name).data or "" for name in FIELD_LABELS}
        values["consent_listing"] = bool(self.consent_listing.data)
        return values


class StatusLinksForm(SiteForm):
    """Ask for the status links of one's applications to be mailed again."""

    email = EmailField(
        _l("E-mail address"),
        description=_l("The address you gave in the application."),
        filters=[single_line],
        validators=[
            DataRequired(_l("Enter an e-mail address.")),
            MaxLength(254),
            Email(_l("Enter an e-mail address such as name@example.org.")),
        ],
    )


class WithdrawForm(SiteForm):
    """The applicant withdraws their application."""

    confirm = BooleanField(
        _l("Yes, withdraw this application"),
        validators=[DataRequired(_l("Tick the box to confirm that you want to withdraw."))],
    )


class LeaveForm(SiteForm):
    """The organisation ends its membership (membership.ending.leave)."""

    # Their own ids, apart from the other forms of the status page.
    reason = TextAreaField(
        _l("Reason (optional)"),
        id="leave-reason",
        description=_l("The coordinators read it; it is not published."),
        filters=[trimmed],
        validators=[Optional(), MaxLength(LONG_TEXT_MAX)],
    )
    confirm = BooleanField(
        _l("Yes, end our organisation's membership"),
        id="leave-confirm",
        validators=[
            DataRequired(_l("Tick the box to confirm that you want to end the membership."))
        ],
    )


class ReplyForm(SiteForm):
    """The applicant answers the coordinators' question."""

    answer = TextAreaField(
        _l("Your answer"),
        filters=[trimmed],
        validators=[
            DataRequired(_l("Write your answer.")),
            MaxLength(LONG_TEXT_MAX),
        ],
    )
