"""Flask-Login set-up: who is signed in is decided by the server-side session (sessions.py)."""

from flask import Flask, g
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, current_user
from sqlalchemy import func, select

from ..extensions import db
from ..i18n import LANGUAGES
from ..models import User
from . import sessions

login_manager = LoginManager()
login_manager.login_view = "accounts.login"
login_manager.login_message = _l("Please sign in to see this page.")
login_manager.login_message_category = "info"
# A session cookie replayed from another address or browser is dropped.
login_manager.session_protection = "strong"
login_manager.user_loader(sessions.load_user)


def use_account_language() -> None:
    """Signed-in users see the admin in the language of their account."""
    if current_user.is_authenticated:
        g.admin_lang = current_user.language if current_user.language in LANGUAGES else "en"


def user_by_email(email: str) -> User | None:
    """The account with this e-mail address, whatever its letter case."""
    return db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def init_app(app: Flask) -> None:
    """Bind Flask-Login; templates get ``current_user`` as a proxy that loads only when read."""
    # Flask-Login's own context processor loads the user for every template, which reads the
    # session and marks every public page "Vary: Cookie", defeating shared caches.
    login_manager.init_app(app, add_context_processor=False)
    sessions.name_cookie(app)
    app.context_processor(lambda: {"current_user": current_user})
