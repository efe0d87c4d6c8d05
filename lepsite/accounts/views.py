"""Sign in, sign out, change password."""

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from ..extensions import db, limiter
from ..i18n import is_safe_local_path
from ..security import keep_private
from .forms import LoginForm, PasswordChangeForm
from .login import use_account_language, user_by_email
from .passwords import check_password, set_password

bp = Blueprint("accounts", __name__, url_prefix="/admin")


bp.before_request(use_account_language)
# Sign-in pages carry tokens; keep them out of caches.
bp.after_request(keep_private)


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def safe_next(target: str | None) -> str:
    """Where to go after sign-in: only a path inside the admin, never another site."""
    if is_safe_local_path(target) and target.startswith("/admin/"):
        return target
    return url_for("admin.dashboard")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login():
    """Sign in; one generic message whatever was wrong."""
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")))
    form = LoginForm()
    if form.validate_on_submit():
        user = user_by_email(form.email.data)
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
