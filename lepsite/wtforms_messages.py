"""WTForms' own validation messages, listed so they land in our catalogs.

WTForms ships no BHS catalog, and Flask-WTF translates its messages through the app's
catalog, so the messages a visitor can meet are marked here for extraction.
"""


def gettext_noop(message: str) -> str:
    """Mark a message for extraction without translating it now."""
    return message


def ngettext_noop(singular: str, plural: str) -> tuple[str, str]:
    """Mark a singular/plural pair for extraction without translating it now."""
    return singular, plural


MESSAGES = (
    gettext_noop("This field is required."),
    gettext_noop("Invalid input."),
    gettext_noop("Invalid email address."),
    gettext_noop("Invalid URL."),
    gettext_noop("Not a valid choice."),
    gettext_noop("Not a valid integer value."),
    gettext_noop("Not a valid date value."),
    gettext_noop("Field must be equal to %(other_name)s."),
    gettext_noop("Field must be between %(min)d and %(max)d characters long."),
    gettext_noop("Number must be at least %(min)s."),
    gettext_noop("Number must be at most %(max)s."),
    gettext_noop("Number must be between %(min)s and %(max)s."),
    gettext_noop("Invalid value, must be one of: %(values)s."),
    gettext_noop("Invalid value, can't be any of: %(values)s."),
    gettext_noop("The CSRF token is missing."),
    gettext_noop("The CSRF token has expired."),
    gettext_noop("The CSRF token is invalid."),
    ngettext_noop(
        "Field must be at least %(min)d character long.",
        "Field must be at least %(min)d characters long.",
    ),
    ngettext_noop(
        "Field cannot be longer than %(max)d character.",
        "Field cannot be longer than %(max)d characters.",
    ),
    ngettext_noop(
        "Field must be exactly %(max)d character long.",
        "Field must be exactly %(max)d characters long.",
    ),
    ngettext_noop(
        "'%(value)s' is not a valid choice for this field.",
        "'%(value)s' are not valid choices for this field.",
    ),
)
