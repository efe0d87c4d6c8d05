"""The reply promise, as pages and mail say it.

``REPLY_WORKING_DAYS`` is the one source of the reply promise. Pages say it through the
``{reply-time}`` placeholder in their Markdown, mail through ``reply_time()``, so changing
the setting changes every sentence that states it, in every language.
"""

from flask import current_app
from flask_babel import force_locale, ngettext
from markupsafe import Markup, escape

# What a content author may write in Markdown, and the phrase it becomes.
PLACEHOLDERS = ("{reply-time}",)


def reply_working_days() -> int:
    """N in "a reply within N working days" (the ``REPLY_WORKING_DAYS`` setting)."""
    return int(current_app.config["REPLY_WORKING_DAYS"])


def reply_time() -> str:
    """'within 10 working days' in the current language, with the right plural form."""
    return ngettext(
        "within %(num)d working day",
        "within %(num)d working days",
        reply_working_days(),
    )


def fill_placeholders(html: str, lang: str) -> Markup:
    """A rendered page with its placeholders said in the page's own language.

    ``html`` is the site's own Markdown, rendered at start-up; the phrase is escaped.
    """
    if "{reply-time}" not in html:
        return Markup(html)  # noqa: S704 (the site's own rendered content)
    with force_locale(lang):
        phrase = escape(reply_time())
    return Markup(html.replace("{reply-time}", phrase))  # noqa: S704 (as above)
