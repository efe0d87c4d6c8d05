"""Sign-in sessions that the server can end.

The signed session cookie carries only a random session key. The database row behind it says
whose session it is, when it began, when it was last used and whether it has ended. Ending the
row (sign-out, a password change, deactivation, "sign out everywhere") ends every copy of the
cookie at once, on every app server, because they all read the same database. A session also
ends after ``SESSION_IDLE_MINUTES`` without a request and ``SESSION_MAX_HOURS`` after sign-in.
"""

import hashlib
import secrets
from datetime import datetime, timedelta

from flask import current_app, request, session
from flask_login import login_user, logout_user
from sqlalchemy import DateTime, ForeignKey, String, select, update
from sqlalchemy.orm import Mapped, mapped_column
from ua_parser import parse as parse_user_agent

from ..extensions import db
from ..models import User, utcnow

SESSION_KEY = "sid"
# last_seen_at is written at most this often, so reading pages does not write on every click.
TOUCH_INTERVAL = timedelta(seconds=60)


class LoginSession(db.Model):
    """One signed-in browser: the server-side half of a session cookie."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    # SHA-256 of the key in the cookie: a copy of the table signs no one in.
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    # Why it ended: signed-out, password, deactivated, ended-by-user, idle, expired.
    end_reason: Mapped[str] = mapped_column(String(30), default="")
    address: Mapped[str] = mapped_column(String(45), default="")
    user_agent: Mapped[str] = mapped_column(String(300), default="")

    def __repr__(self) -> str:
        return f"<LoginSession {self.id} user {self.user_id}>"


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _aware(moment: datetime) -> datetime:
    """SQLite gives naive datetimes back; every stored time is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=utcnow().tzinfo)


def _limits() -> tuple[timedelta, timedelta]:
    config = current_app.config
    return (
        timedelta(minutes=config["SESSION_IDLE_MINUTES"]),
        timedelta(hours=config["SESSION_MAX_HOURS"]),
    )


def expiry_reason(row: LoginSession, now: datetime) -> str | None:
    """Return "idle" or "expired" when the session has run out, else None."""
    idle, lifetime = _limits()
    if now - _aware(row.created_at) >= lifetime:
        return "expired"
    if now - _aware(row.last_seen_at) >= idle:
        return "idle"
    return None


def start(user: User) -> LoginSession:
    """Sign the user in with a fresh session: new cookie contents, a new row. Commits."""
    # A fresh cookie on sign-in, so a session planted before it is worthless.
    session.clear()
    key = secrets.token_urlsafe(32)
    row = LoginSession(
        key_hash=_hash(key),
        user_id=user.id,
        address=(request.remote_addr or "")[:45],
        user_agent=request.headers.get("User-Agent", "")[:300],
    )
    db.session.add(row)
    db.session.commit()
    session[SESSION_KEY] = key
    login_user(user)
    return row


def current_row() -> LoginSession | None:
    """The live row behind this request's cookie, if any."""
    key = session.get(SESSION_KEY)
    if not isinstance(key, str) or not key:
        return None
    return db.session.scalar(
        select(LoginSession).where(
            LoginSession.key_hash == _hash(key), LoginSession.ended_at.is_(None)
        )
    )


def load_user(user_id: str) -> User | None:
    """Flask-Login's loader: the user only while the server-side session lives."""
    row = current_row()
    if row is None or str(row.user_id) != user_id:
        return None
    now = utcnow()
    reason = expiry_reason(row, now)
    user = db.session.get(User, row.user_id)
    if user is None or not user.active:
        reason = reason or "deactivated"
    if reason:
        _end_rows([row.id], reason)
        return None
    if now - _aware(row.last_seen_at) >= TOUCH_INTERVAL:
        db.session.execute(
            update(LoginSession).where(LoginSession.id == row.id).values(last_seen_at=now)
        )
        db.session.commit()
    return user


def _end_rows(ids: list[int], reason: str) -> int:
    """End the given live sessions; return how many ended. Commits."""
    if not ids:
        return 0
    result = db.session.execute(
        update(LoginSession)
        .where(LoginSession.id.in_(ids), LoginSession.ended_at.is_(None))
        .values(ended_at=utcnow(), end_reason=reason)
    )
    db.session.commit()
    return result.rowcount


def end_current(reason: str = "signed-out") -> None:
    """Sign this browser out: its row ends, so every copy of its cookie is dead."""
    row = current_row()
    if row is not None:
        _end_rows([row.id], reason)
    logout_user()
    session.clear()


def live_sessions(user: User) -> list[LoginSession]:
    """The user's sessions that have not ended or run out, most recently used first."""
    now = utcnow()
    rows = db.session.scalars(
        select(LoginSession)
        .where(LoginSession.user_id == user.id, LoginSession.ended_at.is_(None))
        .order_by(LoginSession.last_seen_at.desc(), LoginSession.id.desc())
    )
    return [row for row in rows if expiry_reason(row, now) is None]


def end_all(user: User, reason: str, keep_current: bool = False) -> int:
    """End every session of the user (but this browser's, with ``keep_current``). Commits."""
    keep = current_row() if keep_current else None
    ids = db.session.scalars(
        select(LoginSession.id).where(
            LoginSession.user_id == user.id, LoginSession.ended_at.is_(None)
        )
    ).all()
    return _end_rows([id_ for id_ in ids if keep is None or id_ != keep.id], reason)


def end_one(user: User, session_id: int) -> bool:
    """End one of the user's own sessions (from the security page). Commits."""
    row = db.session.get(LoginSession, session_id)
    if row is None or row.user_id != user.id:
        return False
    return _end_rows([row.id], "ended-by-user") == 1


def is_current(row: LoginSession) -> bool:
    """True for the session of this very request."""
    key = session.get(SESSION_KEY)
    return isinstance(key, str) and _hash(key) == row.key_hash


def describe_browser(row: LoginSession) -> str:
    """Say "Firefox · Windows", from the user agent the session began with."""
    parsed = parse_user_agent(row.user_agent).with_defaults()
    browser, system = parsed.user_agent.family, parsed.os.family
    if system == "Other":
        return browser
    return f"{browser} · {system}"


def name_cookie(app) -> None:
    """In production the cookie is ``__Host-`` prefixed: Secure, whole site, this host only."""
    if app.config["SESSION_COOKIE_SECURE"] and app.config["SESSION_COOKIE_NAME"] == "session":
        app.config["SESSION_COOKIE_NAME"] = "__Host-session"
        app.config["SESSION_COOKIE_PATH"] = "/"
        app.config["SESSION_COOKIE_DOMAIN"] = None
