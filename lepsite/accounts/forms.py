"""Sign-in and password forms."""

from flask_babel import lazy_gettext as _l
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from ..forms import SiteForm
from ..membership.forms import MaxLength, single_line
from .strength import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH


class LoginForm(SiteForm):
    """E-mail and password."""

    email = EmailField(
        _l("E-mail address"), validators=[DataRequired(_l("Enter your e-mail address."))]
    )
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Enter your password."))])


def _new_password_field() -> PasswordField:
    """The new password, with the site's length rule (strength is checked by the view)."""
    return PasswordField(
        _l("New password"),
        description=_l("At least 12 characters. A few unrelated words are easy to remember."),
        validators=[
            DataRequired(_l("Enter a new password.")),
            Length(
                min=MIN_PASSWORD_LENGTH,
                max=MAX_PASSWORD_LENGTH,
                message=_l("Use 12 to 200 characters."),
            ),
        ],
    )


def _confirm_field() -> PasswordField:
    return PasswordField(
        _l("New password again"),
        validators=[EqualTo("new_password", message=_l("The two new passwords differ."))],
    )


class PasswordChangeForm(SiteForm):
    """A signed-in user replaces their password."""

    current_password = PasswordField(
        _l("Current password"), validators=[DataRequired(_l("Enter your current password."))]
    )
    new_password = _new_password_field()
    confirm = _confirm_field()


class NewPasswordForm(SiteForm):
    """A password chosen through a mailed link (reset or invitation)."""

    new_password = _new_password_field()
    confirm = _confirm_field()


class ResetRequestForm(SiteForm):
    """The address a reset link is mailed to."""

    email = EmailField(
        _l("E-mail address"),
        filters=[single_line],
        validators=[
            DataRequired(_l("Enter your e-mail address.")),
            MaxLength(254),
            Email(_l("Enter an e-mail address such as name@example.org.")),
        ],
    )
