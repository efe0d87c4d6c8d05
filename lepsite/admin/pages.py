"""What the staff pages of every area share: the admins-only guard and page numbers.

The audit log and failed mail live in their own packages; each blueprint there is made
admins-only here, so the rule (signed in, an admin, in their own language, never cached,
a 404 for anyone else) is written once.
"""

from flask import Blueprint, abort, request
from flask_login import current_user, login_required

from ..accounts.login import use_account_language
from ..security import keep_private

# Far beyond any real list; a larger number would overflow the database's OFFSET.
MAX_PAGE = 1_000_000


def admins_only(bp: Blueprint) -> Blueprint:
    """Guard every page of ``bp``: signed-in admins only; anyone else finds nothing."""

    @bp.before_request
    @login_required
    def require_admin():
        """Admins see the page in their own language; coordinators get a 404."""
        use_account_language()
        if not current_user.is_admin:
            abort(404)

    # Addresses, names and message texts must not stay in browser or proxy caches.
    bp.after_request(keep_private)
    return bp


def page_number() -> int:
    """The ``page`` query argument, 1 when missing or out of range."""
    raw = request.args.get("page", "1")
    return int(raw) if raw.isdigit() and 1 <= int(raw) <= MAX_PAGE else 1
