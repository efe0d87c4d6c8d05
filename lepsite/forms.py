"""The base of every form on the site: no control character and no missing text gets through."""

import re

from flask_babel import get_translations
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, StringField, TextAreaField
from wtforms.validators import StopValidation

# C0 controls and DEL. PostgreSQL refuses NUL outright (a 500 once it reaches a query); the
# others corrupt mail headers, CSV rows and log lines, and no one types them on purpose.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
# Long text keeps its line breaks and tabs.
CONTROL_CHARACTERS_IN_LONG_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

CONTROL_CHARACTERS_MESSAGE = _l("Remove the invisible control characters from this field.")


def has_control_characters(field) -> bool:
    """True when any value sent for ``field`` holds a character it must not hold."""
    pattern = (
        CONTROL_CHARACTERS_IN_LONG_TEXT if isinstance(field, TextAreaField) else CONTROL_CHARACTERS
    )
    return any(isinstance(value, str) and pattern.search(value) for value in field.raw_data or ())


def _refuse(form, field) -> None:
    raise StopValidation(CONTROL_CHARACTERS_MESSAGE)


class _SiteCatalog:
    """WTForms' own messages ("Not a valid choice.") through the site's catalogs.

    Flask-WTF would look them up in WTForms' bundled catalogs: there is none for BHS, and the
    Ukrainian one words them differently from our forms. ``lepsite/wtforms_messages.py`` lists
    them for extraction, so ours are complete.
    """

    def gettext(self, string: str) -> str:
        return get_translations().ugettext(string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        # WTForms fills in the numbers itself (%(min)d, %(max)d), so no formatting here.
        return get_translations().ungettext(singular, plural, n)


SITE_CATALOG = _SiteCatalog()


class SiteForm(FlaskForm):
    """Every form of the site inherits this.

    A value with a control character is a field error, and that field's other validators
    (inline ``validate_<name>`` ones too) do not see it, so none can pass it to a query.
    A text field missing from the request holds ``""``, never ``None``; a multiple choice ``[]``.
    Subclasses that override ``validate`` call ``super().validate()`` before using any value.
    WTForms' own messages come from the site's catalogs, in the page's language.
    """

    class Meta:
        def get_translations(self, form):
            """The site's catalogs, not WTForms' (see ``_SiteCatalog``)."""
            return SITE_CATALOG

    def process(self, formdata=None, obj=None, data=None, extra_filters=None, **kwargs):
        """Fill the fields, then give absent text and multiple choices an empty value."""
        super().process(formdata, obj, data, extra_filters, **kwargs)
        for field in self:
            if field.data is None:
                if isinstance(field, StringField):
                    field.data = ""
                elif isinstance(field, SelectMultipleField):
                    field.data = []

    def validate(self, extra_validators=None) -> bool:
        """Validate as usual, but refuse control characters before any other check runs."""
        csrf_name = self.meta.csrf_field_name
        refused = [
            field for field in self if field.name != csrf_name and has_control_characters(field)
        ]
        kept = {field.name: field.validators for field in refused}
        for field in refused:
            field.validators = [_refuse, *field.validators]
        try:
            valid = super().validate(extra_validators)
        finally:
            for field in refused:
                field.validators = kept[field.name]
        for field in refused:
            # Alone: "not a valid choice" beside it would only confuse.
            field.errors = [CONTROL_CHARACTERS_MESSAGE]
        return valid and not refused
