"""Sign in (the password step), sign out, change password, and ending one's own sessions.

The security page and the two-factor steps are in ``two_factor_views``.
"""

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from .. import audit
from ..extensions import db
from ..i18n import is_safe_local_path
from ..models import User
from ..security import keep_private
from . import sessions, throttle, two_factor
from .forms import LoginForm, PasswordChangeForm
from .login import use_account_language, user_by_email
from .operations import change_password
from .passwords import check_password
from .strength import password_problem

bp = Blueprint("accounts", __name__, url_prefix="/admin")


bp.before_request(use_account_language)
# Sign-in pages carry tokens; keep them out of caches.
bp.after_request(keep_private)


def safe_next(target: str | None) -> str:
    """Where to go after sign-in: only a path inside the admin, never another site."""
    if is_safe_local_path(target) and target.startswith("/admin/"):
        return target
    return url_for("admin.dashboard")


def wait_message(verdict: throttle.Verdict) -> str:
    """The wait message for a throttled attempt, in whole minutes rounded up."""
    minutes = max(1, -(-verdict.retry_after // 60))
    return ngettext(
        "Too many attempts. Try again in %(num)d minute.",
        "Too many attempts. Try again in %(num)d minutes.",
        minutes,
    )


def _typed_address(user: User | None) -> str:
    """What the audit log keeps of a typed e-mail: an account's address, never free text
    (a password typed into the wrong box must not land in the log)."""
    return user.email if user is not None else ""


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign in; one generic message whatever was wrong, and a wait after many failures."""
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")))
    form = LoginForm()
    if not form.validate_on_submit():
        return render_template("admin/login.html", form=form), (400 if form.errors else 200)
    email = form.email.data
    user = user_by_email(email)
    verdict = throttle.check(email)
    if not verdict.allowed:
        audit.record(
            "login.throttled", email=_typed_address(user), details={"limit": verdict.scope}
        )
        db.session.commit()
        flash(wait_message(verdict), "error")
        page = render_template("admin/login.html", form=form)
        return page, 429, {"Retry-After": str(verdict.retry_after)}
    if not check_password(user, form.password.data):
        throttle.failed(email)
        audit.record(
            "login.failure",
            email=_typed_address(user),
            details={} if user is not None else {"account": "unknown"},
        )
        db.session.commit()
        flash(_("The e-mail address or password is not right."), "error")
        return render_template("admin/login.html", form=form), 401
    throttle.succeeded(email)
    if two_factor.is_enabled(user):
        # Not signed in yet: the code page finishes the sign-in.
        two_factor.begin_sign_in(user, request.args.get("next"))
        return redirect(url_for(".login_code"), code=303)
    return finish_sign_in(user, request.args.get("next"))


def finish_sign_in(user: User, next_url: str | None, second_factor: str = ""):
    """Start the user's session, audited, and send them on: to the two-factor set-up first if
    they must have it and do not."""
    sessions.start(user)
    details = {"second_factor": second_factor} if second_factor else {}
    audit.record("login.success", actor=user, subject=f"user:{user.id}", details=details)
    db.session.commit()
    target = url_for(".security") if two_factor.needs_set_up(user) else safe_next(next_url)
    response = redirect(target, code=303)
    response.set_cookie(
        throttle.DEVICE_COOKIE,
        throttle.device_cookie(user.email),
        max_age=throttle.DEVICE_COOKIE_MAX_AGE,
        path="/admin/",
        secure=current_app.config["SESSION_COOKIE_SECURE"],
        httponly=True,
        samesite="Lax",
    )
    return response


@bp.route("/logout", methods=["POST"])
def logout():
    """Sign out (POST only, so a link on another site cannot sign anyone out)."""
    if current_user.is_authenticated:
        audit.record("logout", actor=current_user, subject=f"user:{current_user.id}")
        db.session.commit()
    sessions.end_current("signed-out")
    return redirect(url_for(".login"), code=303)


@bp.route("/password", methods=["GET", "POST"], endpoint="change_password")
@login_required
def change_password_page():
    """Change one's own password; every other session of the user ends."""
    form = PasswordChangeForm()
    user = current_user._get_current_object()
    code = 200
    if form.validate_on_submit():
        verdict = throttle.check(user.email)
        problem = password_problem(form.new_password.data, (user.email, user.name))
        if not verdict.allowed:
            audit.record("login.throttled", actor=user, details={"limit": verdict.scope})
            db.session.commit()
            form.current_password.errors.append(wait_message(verdict))
            code = 429
        elif not check_password(user, form.current_password.data):
            throttle.failed(user.email)
            audit.record("password.failure", actor=user, subject=f"user:{user.id}")
            db.session.commit()
            form.current_password.errors.append(_("The current password is not right."))
        elif problem:
            form.new_password.errors.append(problem)
        else:
            throttle.succeeded(user.email)
            change_password(user, form.new_password.data, actor=user)
            sessions.start(user)  # this browser carries on in a new session; copies are dead
            flash(_("Your password has been changed."), "success")
            return redirect(url_for("admin.dashboard"), code=303)
    if form.errors and code == 200:
        code = 400
    return render_template("admin/password.html", form=form), code


@bp.route("/security/sessions/<int:session_id>/end", methods=["POST"])
@login_required
def end_session(session_id: int):
    """End one of one's own sessions; ending this one signs out."""
    user = current_user._get_current_object()
    row = db.session.get(sessions.LoginSession, session_id)
    if row is None or row.user_id != user.id:
        abort(404)
    if sessions.is_current(row):
        return logout()
    if sessions.end_one(user, session_id):
        audit.record("session.ended", actor=user, subject=f"user:{user.id}",
                     details={"session": session_id})  # fmt: skip
        db.session.commit()
    flash(_("That session has ended."), "success")
    return redirect(url_for(".security"), code=303)


@bp.route("/security/sessions/end-others", methods=["POST"])
@login_required
def end_other_sessions():
    """Sign out everywhere else: every other browser with this account's session."""
    user = current_user._get_current_object()
    count = sessions.end_all(user, "ended-by-user", keep_current=True)
    audit.record("session.ended", actor=user, subject=f"user:{user.id}",
                 details={"others": count})  # fmt: skip
    db.session.commit()
    flash(
        ngettext("%(num)d other session has ended.", "%(num)d other sessions have ended.", count),
        "success",
    )
    return redirect(url_for(".security"), code=303)


@bp.route("/security/sessions/end-all", methods=["POST"])
@login_required
def end_all_sessions():
    """Sign out everywhere, this browser included."""
    user = current_user._get_current_object()
    count = sessions.end_all(user, "ended-by-user")
    audit.record("session.ended", actor=user, subject=f"user:{user.id}",
                 details={"all": count})  # fmt: skip
    db.session.commit()
    sessions.end_current("ended-by-user")
    flash(_("You have been signed out everywhere."), "success")
    return redirect(url_for(".login"), code=303)
