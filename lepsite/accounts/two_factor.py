"""Two-factor sign-in: TOTP secrets, the replay guard, recovery codes and the half-done sign-in.

This module owns:

- the ``two_factor`` table: one row per user with a TOTP secret (RFC 6238: 30-second steps,
  6 digits, SHA-1, which every authenticator app reads). The row is *pending* (``enabled_at``
  empty) from the moment the set-up page shows its key until a code from the app confirms it;
  only then does sign-in ask for codes. ``last_step`` is the time step of the last code
  accepted: a code is taken only for a later step, through one conditional UPDATE, so the same
  code is never accepted twice, not even by two workers at the same instant;
- the ``recovery_codes`` table: ten single-use codes per user, stored as SHA-256 hashes and
  spent through a conditional UPDATE, so each works once;
- the rule of who must use it (admins always; coordinators while
  ``TWO_FACTOR_FOR_COORDINATORS`` is on);
- the half-done sign-in: after a right password, the Flask session (signed) holds the user's id
  and the time for ``PENDING_SECONDS``; the code page checks both against the database before
  ``sessions.start`` signs the user in.

The secret is stored as it is: the virtualenv has no vetted authenticated-encryption library
(``cryptography`` is not a dependency), and a home-made cipher would be worse than none. A
copy of the database therefore lets its holder compute codes, but still not sign in without
the password (scrypt-hashed).
"""

import hashlib
import hmac
import re
import secrets
import time
from datetime import datetime

import pyotp
import segno
from flask import current_app, session
from markupsafe import Markup
from sqlalchemy import DateTime, ForeignKey, Integer, String, delete, func, select, update
from sqlalchemy.orm import Mapped, mapped_column

from .. import audit
from ..extensions import db
from ..models import User, utcnow
from . import sessions

STEP_SECONDS = 30
DIGITS = 6
# A code from the step before or after the server's own is accepted too: phones' clocks drift.
VALID_WINDOW = 1
RECOVERY_CODE_COUNT = 10
# Recovery codes: 16 characters from 31 that cannot be mistaken for one another (no 0/o, 1/l/i),
# about 79 bits each, shown as xxxx-xxxx-xxxx-xxxx.
RECOVERY_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
RECOVERY_LENGTH = 16
PENDING_KEY = "two_factor_pending"
PENDING_SECONDS = 5 * 60

_SEPARATORS = re.compile(r"[\s-]+")


class TwoFactor(db.Model):
    """A user's TOTP secret: pending until confirmed, then asked for at every sign-in."""

    __tablename__ = "two_factor"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    # Base32, as authenticator apps take it (160 random bits: 32 characters).
    secret: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    enabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The time step (Unix time // 30) of the last accepted code; only a later one is accepted.
    last_step: Mapped[int | None] = mapped_column(Integer)

    def __repr__(self) -> str:
        state = "on" if self.enabled_at else "pending"
        return f"<TwoFactor user {self.user_id} {state}>"


class RecoveryCode(db.Model):
    """One single-use recovery code, kept only as a hash.

    The codes are random with about 79 bits each, not chosen by people, so no dictionary or
    brute force reaches one from its hash: a fast SHA-256 is enough here, unlike for passwords,
    which need a slow, salted hash (scrypt) because people pick guessable ones.
    """

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    def __repr__(self) -> str:
        return f"<RecoveryCode {self.id} user {self.user_id}>"


# ---------------------------------------------------------------- reading


def settings_for(user: User) -> TwoFactor | None:
    """The user's two-factor row, pending or on, if any."""
    return db.session.get(TwoFactor, user.id)


def is_enabled(user: User) -> bool:
    """True when sign-in asks this user for a code."""
    row = settings_for(user)
    return row is not None and row.enabled_at is not None


def is_required(user: User) -> bool:
    """Admins must use two-factor sign-in; coordinators too while the setting says so."""
    if user.role == "admin":
        return True
    return bool(current_app.config["TWO_FACTOR_FOR_COORDINATORS"])


def needs_set_up(user: User) -> bool:
    """True for a user who must use two-factor sign-in and has not set it up yet."""
    return is_required(user) and not is_enabled(user)


def recovery_codes_left(user: User) -> int:
    """How many of the user's recovery codes are still unused."""
    return db.session.scalar(
        select(func.count())
        .select_from(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    )


def _totp(secret: str) -> pyotp.TOTP:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)  # SHA-1: the default


def issuer() -> str:
    """The name authenticator apps show above the code."""
    return current_app.config["SITE_NAME"]


def provisioning_uri(user: User, secret: str) -> str:
    """The ``otpauth://`` address the QR code holds."""
    return _totp(secret).provisioning_uri(name=user.email, issuer_name=issuer())


def qr_svg(uri: str, label: str) -> Markup:
    """The QR code as inline SVG markup: drawn here, no script, no image request, no data: URI.

    ``label`` becomes its ``<title>`` (segno escapes it) and, with ``role="img"``, its
    accessible name.
    """
    code = segno.make(uri, error="m")
    svg = code.svg_inline(scale=5, dark="#000", light="#fff", title=label, svgclass="qr-code")
    return Markup(svg.replace("<svg ", '<svg role="img" ', 1))  # noqa: S704 - segno's own output


def grouped(secret: str) -> str:
    """The key in groups of four, easier to type into an app: ``ABCD EFGH …``."""
    return " ".join(secret[start : start + 4] for start in range(0, len(secret), 4))


# ---------------------------------------------------------------- checking codes


def normalise(code: str) -> str:
    """A typed code without spaces or dashes, in lower case."""
    return _SEPARATORS.sub("", code or "").lower()


def is_totp_shaped(code: str) -> bool:
    """Six digits, once spaces are dropped."""
    return len(code) == DIGITS and code.isascii() and code.isdigit()


def is_recovery_shaped(code: str) -> bool:
    """Sixteen characters of the recovery alphabet, once spaces and dashes are dropped."""
    return len(code) == RECOVERY_LENGTH and all(char in RECOVERY_ALPHABET for char in code)


def matching_step(secret: str, code: str, now: float | None = None) -> int | None:
    """The time step whose code ``code`` is, within the accepted window; None if none is."""
    totp = _totp(secret)
    current = int(time.time() if now is None else now) // STEP_SECONDS
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _claim_step(user: User, step: int) -> bool:
    """Accept ``step`` for the user only if it is later than the last accepted one. Commits.

    One conditional UPDATE: of two requests carrying the same code, whatever worker serves
    them, exactly one changes the row and is accepted.
    """
    result = db.session.execute(
        update(TwoFactor)
        .where(
            TwoFactor.user_id == user.id,
            TwoFactor.enabled_at.is_not(None),
            (TwoFactor.last_step.is_(None)) | (TwoFactor.last_step < step),
        )
        .values(last_step=step)
    )
    db.session.commit()
    return result.rowcount == 1


def _hash_recovery(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def _spend_recovery_code(user: User, code: str) -> bool:
    """Mark one unused recovery code of the user as used; False if there was none. Commits."""
    result = db.session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _hash_recovery(code),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=utcnow())
    )
    db.session.commit()
    return result.rowcount == 1


# What check_code found: a good code ("totp", "recovery") or why the code was refused.
ACCEPTED = ("totp", "recovery")


def check_code(user: User, typed: str, recovery: bool = True, now: float | None = None) -> str:
    """Check a code typed by ``user``; a good one is spent at once. Commits.

    Returns ``totp`` or ``recovery`` for a code accepted now; ``malformed`` for text that is
    no code at all; ``replayed`` for a right TOTP code of a step already used (or older);
    ``wrong`` for anything else. With ``recovery=False`` only app codes are taken.
    """
    code = normalise(typed)
    row = settings_for(user)
    if row is None or row.enabled_at is None:
        return "wrong"
    if is_totp_shaped(code):
        step = matching_step(row.secret, code, now)
        if step is None:
            return "wrong"
        return "totp" if _claim_step(user, step) else "replayed"
    if recovery and is_recovery_shaped(code):
        if not _spend_recovery_code(user, code):
            return "wrong"
        audit.record(
            "two_factor.recovery_code_used",
            email=user.email,
            subject=f"user:{user.id}",
            details={"left": recovery_codes_left(user)},
        )
        db.session.commit()
        return "recovery"
    return "malformed"


# ---------------------------------------------------------------- changing the set-up


def pending_secret(user: User) -> str:
    """The key the set-up page shows: kept server-side, the same until confirmed. Commits.

    Only for a user without two-factor sign-in on (the caller checks).
    """
    row = settings_for(user)
    if row is None:
        row = TwoFactor(user_id=user.id, secret=pyotp.random_base32())
        db.session.add(row)
        db.session.commit()
    return row.secret


def _new_recovery_codes(user: User) -> list[str]:
    """Replace every recovery code of the user with ten new ones; return them (not committed)."""
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [
        "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_LENGTH))
        for _ in range(RECOVERY_CODE_COUNT)
    ]
    db.session.add_all(
        RecoveryCode(user_id=user.id, code_hash=_hash_recovery(code)) for code in codes
    )
    return ["-".join(code[i : i + 4] for i in range(0, RECOVERY_LENGTH, 4)) for code in codes]


def enable(user: User, typed: str, now: float | None = None) -> list[str] | str:
    """Switch two-factor sign-in on with a code from the app; return the new recovery codes.

    Returns ``malformed`` or ``wrong`` (as check_code) when the code does not confirm the
    pending key. The confirming code's step counts as used. The user's other sessions end:
    a session opened with the password alone should not outlive the switch. Commits.
    """
    code = normalise(typed)
    row = settings_for(user)
    if not is_totp_shaped(code):
        return "malformed"
    if row is None or row.enabled_at is not None:
        return "wrong"
    step = matching_step(row.secret, code, now)
    if step is None:
        return "wrong"
    result = db.session.execute(
        update(TwoFactor)
        .where(
            TwoFactor.user_id == user.id,
            TwoFactor.secret == row.secret,
            TwoFactor.enabled_at.is_(None),
        )
        .values(enabled_at=utcnow(), last_step=step)
    )
    if result.rowcount != 1:  # confirmed by another request a moment ago
        db.session.rollback()
        return "wrong"
    codes = _new_recovery_codes(user)
    audit.record("two_factor.enabled", actor=user, subject=f"user:{user.id}")
    db.session.commit()
    sessions.end_all(user, "two-factor", keep_current=True)
    return codes


def regenerate_recovery_codes(user: User) -> list[str]:
    """Ten new recovery codes; the old ones stop working. Commits."""
    codes = _new_recovery_codes(user)
    audit.record("two_factor.recovery_codes_regenerated", actor=user, subject=f"user:{user.id}")
    db.session.commit()
    return codes


def _remove(user: User) -> None:
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    db.session.execute(delete(TwoFactor).where(TwoFactor.user_id == user.id))


def disable(user: User) -> None:
    """The user switches two-factor sign-in off: key and recovery codes are gone. Commits."""
    _remove(user)
    audit.record("two_factor.disabled", actor=user, subject=f"user:{user.id}")
    db.session.commit()


def reset(user: User, actor: User | None) -> int:
    """An admin removes another user's second factor and ends all their sessions. Commits.

    The user sets it up again at their next sign-in (where it is required). Returns how many
    sessions ended. ``actor`` is None from the command line (``flask users reset-two-factor``),
    the way back in for a last admin who lost both phone and recovery codes.
    """
    _remove(user)
    audit.record("two_factor.reset", actor=actor, subject=f"user:{user.id}")
    db.session.commit()
    return sessions.end_all(user, "two-factor-reset")


# ---------------------------------------------------------------- the half-done sign-in


def begin_sign_in(user: User, next_url: str | None) -> None:
    """The password was right: remember who, and when, until the code is given."""
    # A fresh session, so nothing planted before the password survives into the code step.
    session.clear()
    session[PENDING_KEY] = {"user": user.id, "at": int(time.time()), "next": next_url or ""}


def pending_sign_in() -> tuple[User, str] | None:
    """The user (and the page to go to) whose password was right a moment ago, if still valid.

    The signed session cannot be forged, but is checked anyway: the time must be within
    ``PENDING_SECONDS``, the account still active and its second factor still on.
    """
    data = session.get(PENDING_KEY)
    if not isinstance(data, dict):
        return None
    user_id, started = data.get("user"), data.get("at")
    if not isinstance(user_id, int) or not isinstance(started, int):
        return None
    if not 0 <= time.time() - started <= PENDING_SECONDS:
        return None
    user = db.session.get(User, user_id)
    if user is None or not user.active or not is_enabled(user):
        return None
    next_url = data.get("next")
    return user, next_url if isinstance(next_url, str) else ""


def end_pending() -> None:
    """Forget the half-done sign-in."""
    session.pop(PENDING_KEY, None)
