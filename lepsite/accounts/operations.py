"""Changes to accounts, as named operations: each one ends the sessions it must and is audited.

The web views and the ``flask users`` commands both go through here, so a deactivation from
the shell ends sessions exactly like one from the admin pages.
"""

from sqlalchemy import func, select

from .. import audit
from ..extensions import db
from ..models import CoordinatorPartnership, User
from . import sessions
from .passwords import set_password


class LastAdminError(Exception):
    """The change would leave the site with no active admin."""


def _other_active_admins(user: User) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(User)
        .where(User.role == "admin", User.active.is_(True), User.id != user.id)
    )


def _snapshot(user: User) -> dict:
    return {
        "role": user.role,
        "partnerships": sorted(user.partnership_keys),
        "active": user.active,
    }


def change_account(
    user: User,
    *,
    actor: User | None = None,
    role: str | None = None,
    partnerships: set[str] | None = None,
    active: bool | None = None,
) -> bool:
    """Set role, partnerships and active state; return True if anything changed. Commits.

    A deactivated account's sessions end at once; the others see the change on their next
    request, because every request reads the account afresh.
    """
    before = _snapshot(user)
    stays_admin = (role or user.role) == "admin" and (user.active if active is None else active)
    if user.role == "admin" and user.active and not stays_admin and not _other_active_admins(user):
        raise LastAdminError(user.email)
    if role is not None:
        user.role = role
    if partnerships is not None:
        # Keep existing rows: replacing them would insert before deleting and clash.
        user.partnerships = [
            link for link in user.partnerships if link.partnership_key in partnerships
        ] + [
            CoordinatorPartnership(partnership_key=key)
            for key in sorted(partnerships - user.partnership_keys)
        ]
    if active is not None:
        user.active = active
    after = _snapshot(user)
    if after == before:
        db.session.commit()
        return False
    changed = {key: {"before": before[key], "after": after[key]} for key in after
               if after[key] != before[key]}  # fmt: skip
    audit.record("user.changed", actor=actor, subject=f"user:{user.id}", details=changed)
    db.session.commit()
    if not user.active:
        sessions.end_all(user, "deactivated")
    return True


def change_password(user: User, password: str, actor: User | None = None) -> None:
    """Store a new password and end every session of the user. Commits."""
    set_password(user, password)
    audit.record("password.changed", actor=actor, subject=f"user:{user.id}")
    db.session.commit()
    sessions.end_all(user, "password")
