"""Reads of the content store for the public views."""

from flask import abort, current_app
from sqlalchemy import select

from ..content import SLUG_PATTERN, ContentStore, Page
from ..extensions import db
from ..models import Application


def content_store() -> ContentStore:
    """The app's content store, loaded at start-up."""
    return current_app.extensions["lepsite.content"]


def get_page_or_404(lang: str, path: str) -> Page:
    """The page in the reader's language, else in English; 404 where neither exists.

    Paths that are not plain slugs are refused before any lookup, so ``..``, encoded
    slashes, NUL bytes or ``.md`` never get near the content.
    """
    if not all(SLUG_PATTERN.match(part) for part in path.split("/")):
        abort(404)
    page = content_store().find(lang, path)
    if page is None:
        abort(404)
    return page


def partnerships(lang: str) -> list[Page]:
    """All partnership pages for the language, Ukrainian ones first, then by title."""
    pages = content_store().section(lang, "partnerships")
    return sorted(pages, key=lambda page: (page.meta["country"] != "UA", page.title))


def partnerships_by_country(lang: str) -> dict[str, list[Page]]:
    """Partnership pages grouped by country code, in directory order."""
    grouped: dict[str, list[Page]] = {}
    for page in partnerships(lang):
        grouped.setdefault(page.meta["country"], []).append(page)
    return grouped


def news(lang: str) -> list[Page]:
    """News items for the language, newest first."""
    return content_store().section(lang, "news")


def listed_members(partnership_key: str) -> list[tuple[str, str]]:
    """(name, type code) of approved members that agreed to be listed, by name."""
    rows = db.session.execute(
        select(Application.organisation_name, Application.organisation_type)
        .where(
            Application.partnership_key == partnership_key,
            Application.state == "approved",
            Application.consent_listing.is_(True),
            Application.anonymised_at.is_(None),
        )
        .order_by(Application.organisation_name)
    )
    return [tuple(row) for row in rows]
