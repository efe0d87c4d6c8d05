"""Review and user-management forms."""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email

from ..forms import SiteForm
from ..i18n import LANGUAGES
from ..membership.forms import LONG_TEXT_MAX, MaxLength, single_line, trimmed
from ..models import ROLES

ROLE_LABELS = {"admin": _l("Administrator"), "coordinator": _l("Coordinator")}


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


class EndMembershipForm(SiteForm):
    """The coordinators end an approved membership, with the reason the organisation is sent."""

    # Its own id: the review form on the same page has a "note".
    reason = TextAreaField(
        _l("Reason for ending the membership"),
        id="end-reason",
        description=_l(
            "Required. It is sent to the organisation and shown on its status page. The "
            "organisation leaves the public list of members at once."
        ),
        filters=[trimmed],
        validators=[
            DataRequired(_l("Write the reason: it is required to end a membership.")),
            MaxLength(LONG_TEXT_MAX),
        ],
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


def _role_field() -> SelectField:
    return SelectField(
        _l("Role"),
        choices=[SelectChoice(role, ROLE_LABELS[role]) for role in ROLES],
        description=_l(
            "Administrators see every application and manage the users; coordinators see the "
            "applications of their partnerships."
        ),
        # Always has a value: HTML's "required" is only for selects with an empty first choice.
        render_kw={"required": False},
    )


def _partnerships_field() -> SelectMultipleField:
    # The choices are the partnerships the site knows, set by the view.
    return SelectMultipleField(_l("Partnerships"))


class _ScopeForm(SiteForm):
    """A form with a role and the partnerships it covers."""

    def validate(self, extra_validators=None) -> bool:
        """A coordinator without a partnership would see nothing: one is required."""
        valid = super().validate(extra_validators)
        if valid and self.role.data == "coordinator" and not self.partnerships.data:
            self.partnerships.errors.append(_("Choose at least one partnership for a coordinator."))
            return False
        return valid


class UserForm(_ScopeForm):
    """Admins set an account's role, its partnerships and whether it may sign in."""

    role = _role_field()
    partnerships = _partnerships_field()
    active = BooleanField(_l("Account active"))


class InviteForm(_ScopeForm):
    """Admins invite a person: the account waits until they choose a password."""

    name = StringField(
        _l("Name"),
        filters=[single_line],
        validators=[DataRequired(_l("Enter the person's name.")), MaxLength(120)],
    )
    email = EmailField(
        _l("E-mail address"),
        description=_l("The invitation is sent here; it is also the address to sign in with."),
        filters=[single_line],
        validators=[
            DataRequired(_l("Enter an e-mail address.")),
            MaxLength(254),
            Email(_l("Enter an e-mail address such as name@example.org.")),
        ],
    )
    role = _role_field()
    partnerships = _partnerships_field()
    language = SelectField(
        _l("Language"),
        description=_l("For the invitation, all later mail and the administration pages."),
        choices=[SelectChoice(code, name) for code, name in LANGUAGES.items()],
        render_kw={"required": False},
    )


class ClaimForm(SiteForm):
    """Take or release an application: a button whose only field is the CSRF token."""


class BulkForm(SiteForm):
    """Applications ticked in the list and what to do with them."""

    # The value of the button pressed.
    action = SelectField(choices=[SelectChoice("take"), SelectChoice("start_review")])
    # The ticked rows' ids (the template draws the checkboxes); the view keeps the well-formed
    # ones that the user may see, and reports the rest.
    ids = SelectMultipleField(validate_choice=False)
    # Where the list was (its filters and page), to go back to.
    back = HiddenField()
