"""Partnerships: which exist, what they are called, where, whether they take applications,
and who coordinates them.

The one home of the idea. A partnership's facts are the front matter of its content page
(``content/<lang>/partnerships/<key>.md``: ``key``, ``country``, ``accepts_applications``, its
title in each language); its coordinators are rows in the database. The form's choices, the
admin's filters, the reports, the users CLI and the demo data all ask here, so a partnership
added to the content is known everywhere at once, and nothing else reads that front matter.

"Not sure" (``NO_PARTNERSHIP``) is not a partnership: the form offers it, the admins route it.
"""

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select

from .extensions import db
from .models import CoordinatorPartnership, User

# The language whose pages say which partnerships exist (every page has an English original).
_DEFINING_LANGUAGE = "en"


@dataclass(frozen=True)
class Partnership:
    """One partnership's facts, from its English page's front matter."""

    key: str
    country: str  # ISO 3166 code: "BA" or "UA"
    region: str
    accepts_applications: bool

    def name(self, lang: str) -> str:
        """The partnership's name in ``lang`` (English where that page is missing)."""
        return title(lang, self.key) or self.key


def _store():
    return current_app.extensions["lepsite.content"]


def all_partnerships() -> list[Partnership]:
    """Every partnership the site knows, in key order."""
    found = [
        Partnership(
            key=page.meta["key"],
            country=page.meta.get("country", ""),
            region=page.meta.get("region", ""),
            accepts_applications=bool(page.meta.get("accepts_applications")),
        )
        for page in _store().section(_DEFINING_LANGUAGE, "partnerships")
    ]
    return sorted(found, key=lambda partnership: partnership.key)


def get(key: str) -> Partnership | None:
    """The partnership with this key, or None."""
    return next((item for item in all_partnerships() if item.key == key), None)


def keys() -> set[str]:
    """The keys of every partnership."""
    return {partnership.key for partnership in all_partnerships()}


def unknown_keys(wanted) -> list[str]:
    """The keys among ``wanted`` that name no partnership, sorted."""
    return sorted(set(wanted) - keys())


def title(lang: str, key: str) -> str | None:
    """A partnership's name in ``lang`` (English fallback); None for an unknown key."""
    page = _store().find(lang, f"partnerships/{key}")
    return page.title if page is not None else None


def choices(lang: str, open_only: bool = False) -> list[tuple[str, str]]:
    """(key, name in ``lang``) of the partnerships, by name; ``open_only``: those that accept
    applications."""
    pages = [
        page
        for page in _store().section(lang, "partnerships")
        if page.meta.get("accepts_applications") or not open_only
    ]
    return sorted(((page.meta["key"], page.title) for page in pages), key=lambda item: item[1])


def country_of(key: str) -> str | None:
    """The partnership's country code, or None for an unknown key (and "not sure")."""
    partnership = get(key)
    return partnership.country if partnership is not None else None


def coordinators_of(key: str) -> list[User]:
    """Active coordinators assigned to the partnership, by id."""
    query = (
        select(User)
        .join(CoordinatorPartnership)
        .where(
            CoordinatorPartnership.partnership_key == key,
            User.role == "coordinator",
            User.active.is_(True),
        )
        .order_by(User.id)
    )
    return list(db.session.scalars(query))
