"""Single-use, expiring links mailed to staff: invitations and password resets.

This module owns the ``account_tokens`` table and every operation on it. A token is 32 random
bytes (``secrets.token_urlsafe``) that travel only in one mail; the table keeps its SHA-256,
so a copy of the database opens no account. A token is *live* until it is used or expires;
issuing a new one for the same user and purpose ends the live ones (``expires_at`` is set to
now), so only the latest mail works. Using a token is one conditional ``UPDATE`` (unused and
not expired), so of two uses at the same moment only one succeeds, on PostgreSQL and SQLite.
"""

import hashlib
import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import DateTime, ForeignKey, String, select, update
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..models import User, utcnow

PURPOSES = ("invite", "reset")
# What ``secrets.token_urlsafe(32)`` makes; anything else is refused before any query.
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{43}")


class AccountToken(db.Model):
    """One mailed link: whose it is, what it is for, until when it works, whether it was used."""

    __tablename__ = "account_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[str] = mapped_column(String(10))  # "invite" or "reset"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # The admin who sent an invitation; empty for resets and the command line.
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    def __repr__(self) -> str:
        return f"<AccountToken {self.id} {self.purpose} user {self.user_id}>"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _aware(moment: datetime) -> datetime:
    """SQLite gives naive datetimes back; every stored time is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=utcnow().tzinfo)


def well_formed(token: str) -> bool:
    """True for something that could be a token this module made (not over-long, no junk)."""
    return isinstance(token, str) and TOKEN_PATTERN.fullmatch(token) is not None


def end_live(user: User, purpose: str) -> int:
    """End the user's live tokens for ``purpose`` (a newer link replaces them). No commit."""
    now = utcnow()
    result = db.session.execute(
        update(AccountToken)
        .where(
            AccountToken.user_id == user.id,
            AccountToken.purpose == purpose,
            AccountToken.used_at.is_(None),
            AccountToken.expires_at > now,
        )
        .values(expires_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def issue(user: User, purpose: str, lifetime: timedelta, actor: User | None = None) -> str:
    """A new token for ``user``, ending the older live ones; returns it for the mail. No commit.

    The caller commits together with the mail that carries it, so a link is never stored
    without its message, nor sent without being stored.
    """
    if purpose not in PURPOSES:
        raise ValueError(purpose)
    end_live(user, purpose)
    token = secrets.token_urlsafe(32)
    now = utcnow()
    db.session.add(
        AccountToken(
            purpose=purpose,
            user_id=user.id,
            token_hash=_hash(token),
            created_at=now,
            expires_at=now + lifetime,
            created_by=actor.id if actor is not None else None,
        )
    )
    return token


def find(token: str, purpose: str) -> AccountToken | None:
    """The stored row for a token (used, expired or live), or None for a forged one."""
    if not well_formed(token):
        return None
    return db.session.scalar(
        select(AccountToken).where(
            AccountToken.token_hash == _hash(token), AccountToken.purpose == purpose
        )
    )


def state(row: AccountToken | None, now: datetime | None = None) -> str:
    """``unknown``, ``used``, ``expired`` or ``live``: what a link's page has to say."""
    if row is None:
        return "unknown"
    if row.used_at is not None:
        return "used"
    if _aware(row.expires_at) <= (now or utcnow()):
        return "expired"
    return "live"


def expires_at(row: AccountToken) -> datetime:
    """When the link stops working, in UTC."""
    return _aware(row.expires_at)


def consume(token: str, purpose: str) -> int | None:
    """Mark a live token used; return its user's id, or None if it was not live. No commit.

    One conditional ``UPDATE``: a second use at the same moment waits for the first one's
    transaction and then finds the token used, so it changes no row.
    """
    if not well_formed(token):
        return None
    digest = _hash(token)
    now = utcnow()
    result = db.session.execute(
        update(AccountToken)
        .where(
            AccountToken.token_hash == digest,
            AccountToken.purpose == purpose,
            AccountToken.used_at.is_(None),
            AccountToken.expires_at > now,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return None
    return db.session.scalar(select(AccountToken.user_id).where(AccountToken.token_hash == digest))


def latest(user: User, purpose: str) -> AccountToken | None:
    """The user's newest token for ``purpose`` (the one the last mail carried)."""
    return db.session.scalar(
        select(AccountToken)
        .where(AccountToken.user_id == user.id, AccountToken.purpose == purpose)
        .order_by(AccountToken.id.desc())
        .limit(1)
    )
