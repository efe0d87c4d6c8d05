"""Reads of the search index and the content store for the search page."""

from flask import current_app, url_for
from flask_babel import gettext as _

from ..i18n import LANGUAGES
from ..review_clock import fill_placeholders
from ..site import page_url
from .index import MAX_QUERY_LENGTH, Hit, SearchIndex

# Where a reader who found nothing may go instead: content paths, in this order.
SUGGESTED_PATHS = ("index", "about", "how-it-works", "partnerships/index", "news/index")


def current_index() -> SearchIndex:
    """The app's index; in debug, rebuilt when the content store has re-read edited files."""
    index: SearchIndex = current_app.extensions["lepsite.search"]
    store = current_app.extensions["lepsite.content"]
    if store.auto_reload:
        store.paths()  # lets the store notice edited files
        if index.generation != store.generation:
            index = SearchIndex(store, placeholder_phrases())
            current_app.extensions["lepsite.search"] = index
    return index


def placeholder_phrases() -> tuple[tuple[str, str], ...]:
    """What ``{reply-time}`` reads as in each language, so pages are searched as shown."""
    return tuple((lang, str(fill_placeholders("{reply-time}", lang))) for lang in LANGUAGES)


def query_text(raw: str) -> str:
    """The query as searched and shown back: at most ``MAX_QUERY_LENGTH`` characters."""
    return raw[:MAX_QUERY_LENGTH].strip()


def search(lang: str, query: str) -> list[Hit]:
    """The pages in ``lang`` that match ``query``, best first (none for an empty query)."""
    return current_index().search(lang, query) if query else []


def suggested_pages(lang: str) -> list[tuple[str, str]]:
    """(label, URL) of the main pages, for a search that found nothing."""
    store = current_app.extensions["lepsite.content"]
    links = []
    for path in SUGGESTED_PATHS:
        page = store.find(lang, path)
        if page is not None:
            label = _("Home page") if path == "index" else page.nav_title
            links.append((label, page_url(path, lang)))
    links.append((_("Apply to join a partnership"), url_for("membership.apply", lang=lang)))
    return links
