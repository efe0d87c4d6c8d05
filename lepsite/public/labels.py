"""Translated names for values that content files hold as codes."""

from flask_babel import lazy_gettext as _l

STATUS_LABELS = {
    # i18n: status of a local employment partnership
    "launched": _l("Launched"),
    # i18n: status of a local employment partnership that is being set up or running; the
    # partnerships page explains it under the same word
    "underway": _l("Underway"),
    # i18n: status of a local employment partnership
    "completed": _l("Completed"),
}

COUNTRY_NAMES = {
    "UA": _l("Ukraine"),
    "BA": _l("Bosnia and Herzegovina"),
}
