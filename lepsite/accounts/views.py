"""Sign in, sign out, change password."""

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import func, select

from ..extensions import db, limiter
from ..models import User
from .forms import LoginForm, PasswordChangeForm
from .passwords import check_password, set_password

bp = Blueprint("accounts", __name__, url_prefix="/admin")


@bp.before_request
def use_account_language():
    """Signed-in users see the admin in the language of their account."""
    if current_user.is_authenticated:
        g.admin_lang = current_user.language


@bp.after_request
def never_cache(response):
    """Sign-in pages carry tokens; keep them out of caches."""
    response.headers["Cache-Control"] = "no-store, private"
    return response


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def safe_next(target: str | None) -> str:
    """Where to go after sign-in: only a path inside the admin, never another site."""
    default = url_for("admin.dashboard")
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or "\\" in target or any(ord(ch) < 32 for ch in target):
        return default
    if not parts.path.startswith("/admin/") or parts.path.startswith("//"):
        return default
    return target


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login():
    """Sign in; one generic message whatever was wrong."""
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")))
    form = LoginForm()
    if form.validate_on_submit():
        user = db.session.scalar(
            select(User).where(func.lower(User.email) == form.email.data.strip().lower())
        )
        if check_password(user, form.password.data):
            # A fresh session on sign-in, so a session id planted before it is worthless.
            session.clear()
            login_user(user)
            return redirect(safe_next(request.args.get("next")), code=303)
        flash(_("The e-mail address or password is not right."), "error")
        return render_template("admin/login.html", form=form), 401
    return render_template("admin/login.html", form=form), (400 if form.errors else 200)


@bp.route("/logout", methods=["POST"])
def logout():
    """Sign out (POST only, so a link on another site cannot sign anyone out)."""
    logout_user()
    session.clear()
    return redirect(url_for(".login"), code=303)


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    """Change one's own password; other sessions of the user end."""
    form = PasswordChangeForm()
    if form.validate_on_submit():
        if not check_password(current_user, form.current_password.data):
            form.current_password.errors.append(_("The current password is not right."))
        else:
            set_password(current_user, form.new_password.data)
            db.session.commit()
            login_user(current_user)
            flash(_("Your password has been changed."), "success")
            return redirect(url_for("admin.dashboard"), code=303)
    return render_template("admin/password.html", form=form), (400 if form.errors else 200)
