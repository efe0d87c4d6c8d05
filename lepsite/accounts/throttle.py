"""Slowing down password guessing: per address, per account, and trusted browsers.

Every failed password check counts three ways, in the rate limiter's storage (Redis in
production, so every worker and server shares the counts):

- per client address (``LOGIN_RATE_LIMIT``): one address cannot try many accounts;
- per account (``LOGIN_ACCOUNT_RATE_LIMIT``, tier after tier, so the wait grows): many
  addresses cannot take turns at one account. It is keyed by the e-mail typed, so an unknown
  address is slowed exactly like a real one and the answer tells nothing;
- per trusted browser: a browser that has signed in to the account before carries a signed
  device cookie (OWASP's "device cookies"). It skips the address and account limits and has its
  own, so an attacker who throttles an account does not lock its owner out.

Only failures count; a success clears the account's and the browser's counters.
"""

import hashlib
import logging
import math
import secrets
import time
from dataclasses import dataclass

from flask import current_app, request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter, RateLimiter

from ..extensions import limiter

log = logging.getLogger(__name__)

DEVICE_COOKIE = "lepsite_device"
DEVICE_COOKIE_MAX_AGE = 180 * 24 * 3600
DEVICE_LIMIT = "10 per hour;30 per day"

# Counts kept in this worker when the shared storage does not answer: better a per-worker
# limit during an outage than none.
_fallback = FixedWindowRateLimiter(MemoryStorage())
# After a failure the shared storage is left alone this long, so an outage costs one
# request a timeout, not every request several.
STORAGE_RETRY_SECONDS = 30
_storage_down_until = 0.0


@dataclass(frozen=True)
class Verdict:
    """Whether a sign-in attempt may check the password, and if not, for how long to wait."""

    allowed: bool
    retry_after: int = 0
    scope: str = ""  # "address", "account" or "device": which limit said no


# (scope, key, limits): the counters a request is measured against.
Limits = list[tuple[str, str, list[RateLimitItem]]]


def email_key(email: str) -> str:
    """What limits and device cookies key an address typed by: hashed, case-blind."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="lepsite-device")


def trusted_device(email: str) -> str | None:
    """This browser's device id, if it signed in to this account before."""
    cookie = request.cookies.get(DEVICE_COOKIE)
    if not cookie:
        return None
    try:
        data = _serializer().loads(cookie, max_age=DEVICE_COOKIE_MAX_AGE)
    except BadSignature:
        return None
    if not isinstance(data, dict) or data.get("account") != email_key(email):
        return None
    device = data.get("device")
    return device if isinstance(device, str) else None


def device_cookie(email: str) -> str:
    """A new signed device cookie value for the account."""
    return _serializer().dumps({"account": email_key(email), "device": secrets.token_hex(16)})


def _limits(email: str) -> Limits:
    """(scope, key, limits) that apply to an attempt on this account from this browser."""
    device = trusted_device(email)
    if device:
        return [("device", device, parse_many(DEVICE_LIMIT))]
    config = current_app.config
    return [
        ("address", request.remote_addr or "", parse_many(config["LOGIN_RATE_LIMIT"])),
        ("account", email_key(email), parse_many(config["LOGIN_ACCOUNT_RATE_LIMIT"])),
    ]


def _strategy() -> RateLimiter:
    return limiter.limiter


def _call(method: str, item: RateLimitItem, scope: str, key: str):
    """Ask the shared storage; fall back to this worker's memory if it does not answer."""
    global _storage_down_until
    identifiers = ("login-failures", scope, key)
    if time.monotonic() < _storage_down_until:
        return getattr(_fallback, method)(item, *identifiers)
    try:
        result = getattr(_strategy(), method)(item, *identifiers)
    except Exception:  # noqa: BLE001 - any storage error: keep limiting, locally
        if not _storage_down_until:
            log.warning("rate-limit storage unreachable: sign-in limits count per worker")
        _storage_down_until = time.monotonic() + STORAGE_RETRY_SECONDS
        return getattr(_fallback, method)(item, *identifiers)
    if _storage_down_until:
        log.warning("rate-limit storage answers again")
        _storage_down_until = 0.0
    return result


def _enabled() -> bool:
    return bool(current_app.config["RATELIMIT_ENABLED"])


def _first_refusal(limits: Limits, method: str) -> Verdict:
    """Ask each limit in turn (``test``, or ``hit`` to count this request too); the first that
    says no gives the wait."""
    now = time.time()
    for scope, key, items in limits:
        for item in items:
            if not _call(method, item, scope, key):
                stats = _call("get_window_stats", item, scope, key)
                return Verdict(False, max(1, math.ceil(stats.reset_time - now)), scope)
    return Verdict(True)


def _apply(method: str, limits: Limits) -> None:
    """Count a failure (``hit``) or forgive the failures (``clear``) on every limit."""
    for scope, key, items in limits:
        for item in items:
            _call(method, item, scope, key)


def count_request(limits: Limits) -> Verdict:
    """Count a request that is itself what is limited (asking for a mail) against every
    limit; refused as soon as one is spent."""
    return _first_refusal(limits, "hit") if _enabled() else Verdict(True)


def check(email: str) -> Verdict:
    """May this request check a password for ``email`` now?"""
    return _first_refusal(_limits(email), "test") if _enabled() else Verdict(True)


def failed(email: str) -> None:
    """Count a wrong password (or unknown account) against every limit that applies."""
    if _enabled():
        _apply("hit", _limits(email))


def succeeded(email: str) -> None:
    """A right password: the account's (or this browser's) failures are forgiven."""
    if _enabled():
        # One good password does not clear what an address tried elsewhere.
        _apply("clear", [limit for limit in _limits(email) if limit[0] != "address"])


# ---------------------------------------------------------------- second-factor codes

# Guesses at a second-factor code (at sign-in, or to confirm a change at /admin/security).
# Six digits with a window of three steps: 20 guesses a day find a code with odds of 1 in 16,000
# a day. A trusted browser has a budget of its own, as for passwords, so a thief who knows the
# password cannot lock the owner out by guessing codes.
CODE_LIMIT = "5 per 5 minutes;10 per hour;20 per day"


def _code_limits(user) -> Limits:
    """(scope, key, limits) for code guesses on this account from this browser."""
    device = trusted_device(user.email)
    if device:
        return [("code-device", device, parse_many(CODE_LIMIT))]
    return [("code", f"user-{user.id}", parse_many(CODE_LIMIT))]


def check_code(user) -> Verdict:
    """May this request check a second-factor code (or a re-entered password) for ``user``?"""
    return _first_refusal(_code_limits(user), "test") if _enabled() else Verdict(True)


def code_failed(user) -> None:
    """Count a wrong or replayed code against the account (or this browser)."""
    if _enabled():
        _apply("hit", _code_limits(user))


def code_succeeded(user) -> None:
    """A good code: the wrong ones before it are forgiven."""
    if _enabled():
        _apply("clear", _code_limits(user))


# ---------------------------------------------------------------- password-reset requests
#
# Every request for a reset mail counts, whatever the address typed: per client address
# (``RESET_RATE_LIMIT``), so one address cannot mail many accounts, and per typed e-mail
# (``RESET_ACCOUNT_RATE_LIMIT``), so no one can flood a person's mailbox from many addresses.
# Keyed by what was typed, an unknown address is limited exactly like a real one.


def _reset_limits(email: str) -> Limits:
    """Counters of their own (the ``reset:`` keys), apart from failed sign-ins."""
    config = current_app.config
    return [
        ("address", f"reset:{request.remote_addr or ''}",
         parse_many(config["RESET_RATE_LIMIT"])),
        ("account", f"reset:{email_key(email)}",
         parse_many(config["RESET_ACCOUNT_RATE_LIMIT"])),
    ]  # fmt: skip


def reset_requested(email: str) -> Verdict:
    """Count a request for a reset mail to ``email``; say whether it may be answered now."""
    return count_request(_reset_limits(email))
