"""Reads for the membership pages."""

from flask import abort
from sqlalchemy import select

from ..extensions import db
from ..models import Application, CoordinatorPartnership, User
from ..public.queries import content_store

TOKEN_LENGTH = 43  # secrets.token_urlsafe(32)


def partnership_choices(lang: str, open_only: bool = False) -> list[tuple[str, str]]:
    """(key, title in ``lang``) of the partnerships, by title; ``open_only``: those that
    accept applications."""
    pages = [
        page
        for page in content_store().section(lang, "partnerships")
        if page.meta.get("accepts_applications") or not open_only
    ]
    return sorted(((page.meta["key"], page.title) for page in pages), key=lambda item: item[1])


def partnership_title(lang: str, key: str) -> str | None:
    """A partnership's name in ``lang`` (English fallback); None for an unknown key."""
    page = content_store().find(lang, f"partnerships/{key}")
    return page.title if page is not None else None


def get_application_by_token_or_404(token: str) -> Application:
    """The application a status link points to; anything malformed or unknown is a 404."""
    if len(token) != TOKEN_LENGTH or not token.replace("-", "").replace("_", "").isalnum():
        abort(404)
    application = db.session.scalar(select(Application).where(Application.token == token))
    if application is None or application.anonymised_at is not None:
        abort(404)
    return application


def coordinators_of(partnership_key: str) -> list[User]:
    """Active coordinators assigned to the partnership."""
    query = (
        select(User)
        .join(CoordinatorPartnership)
        .where(
            CoordinatorPartnership.partnership_key == partnership_key,
            User.role == "coordinator",
            User.active.is_(True),
        )
        .order_by(User.id)
    )
    return list(db.session.scalars(query))


def active_admins() -> list[User]:
    """Active admins: they get whatever has no coordinator."""
    query = select(User).where(User.role == "admin", User.active.is_(True)).order_by(User.id)
    return list(db.session.scalars(query))
