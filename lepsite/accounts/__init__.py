"""Coordinator and admin accounts: passwords, sign-in sessions, the ``users`` commands."""

from . import (
    links,  # noqa: F401 - adds the reset and invitation pages to bp
    two_factor_views,  # noqa: F401 - adds its views to bp
)
from .cli import users_cli
from .login import init_app, use_account_language, user_by_email
from .passwords import check_password, new_user, set_password
from .views import bp

__all__ = [
    "bp",
    "check_password",
    "init_app",
    "new_user",
    "set_password",
    "use_account_language",
    "user_by_email",
    "users_cli",
]
