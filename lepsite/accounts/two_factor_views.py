"""Two-factor sign-in on the web: the code step of sign-in, the set-up at /admin/security (with
the user's sessions), recovery codes, switching off, an admin's reset, and the rule that keeps
a user who must have a second factor on the set-up page until it is done.
"""

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user, login_required
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired

from .. import audit
from ..extensions import db
from ..forms import SiteForm
from ..i18n import LANGUAGES
from ..models import User
from . import sessions, throttle, two_factor
from .login import use_account_language
from .passwords import check_password
from .views import bp, finish_sign_in, safe_next, wait_message

# What a user who must set up two-factor sign-in may still reach: the set-up page (with its
# sessions list) and the way out.
OPEN_DURING_SET_UP = {
    "accounts.login",
    "accounts.login_code",
    "accounts.logout",
    "accounts.security",
    "accounts.two_factor_confirm",
    "accounts.end_session",
    "accounts.end_other_sessions",
    "accounts.end_all_sessions",
}


class CodeForm(SiteForm):
    """The second step of sign-in: a code from the app, or a recovery code."""

    code = StringField(
        _l("Code"),
        description=_l("The 6-digit code your authenticator app shows, or a recovery code."),
        validators=[DataRequired(_l("Enter the code."))],
    )


class ConfirmForm(SiteForm):
    """The set-up's last step: a code from the app proves it holds the key."""

    code = StringField(
        _l("Code from the app"),
        description=_l("The 6 digits the app shows for this site."),
        validators=[DataRequired(_l("Enter the code."))],
    )


class ReauthForm(SiteForm):
    """Changes to the second factor ask again who is at the keyboard."""

    confirmation = PasswordField(
        _l("Your password or a code from the app"),
        description=_l("To make sure it is you."),
        validators=[DataRequired(_l("Enter your password or a code from the app."))],
    )


def _code_message(outcome: str) -> str:
    """The field error for a code that was refused."""
    if outcome == "malformed":
        return _("Enter the 6 digits from your app, or a recovery code (16 letters and digits).")
    if outcome == "replayed":
        return _("This code has been used already. Wait for the next code in your app.")
    return _("This code is not right. Check the time on your phone, then try the next code.")


@bp.before_app_request
def require_two_factor_set_up():
    """A user who must have a second factor and has none can only set it up (or sign out)."""
    if not request.path.startswith("/admin/") or request.endpoint in OPEN_DURING_SET_UP:
        return None
    if not current_user.is_authenticated or not two_factor.needs_set_up(current_user):
        return None
    use_account_language()
    flash(_("Set up two-factor sign-in first: your account needs it."), "info")
    return redirect(url_for("accounts.security"))


@bp.app_template_global()
def two_factor_enabled(user: User) -> bool:
    """For templates: does this account sign in with a second factor?"""
    return two_factor.is_enabled(user)


@bp.route("/login/code", methods=["GET", "POST"])
def login_code():
    """Sign-in, second step: the code, after a right password a moment ago."""
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")))
    pending = two_factor.pending_sign_in()
    if pending is None:
        two_factor.end_pending()
        flash(_("Your sign-in was not finished in time. Please sign in again."), "info")
        return redirect(url_for(".login"), code=303)
    user, next_url = pending
    if user.language in LANGUAGES:  # whoever knew the password reads the account's language
        g.admin_lang = user.language
    form = CodeForm()
    if not form.validate_on_submit():
        return render_template("admin/login_code.html", form=form), (400 if form.errors else 200)
    verdict = throttle.check_code(user)
    if not verdict.allowed:
        audit.record("two_factor.throttled", email=user.email, subject=f"user:{user.id}",
                     details={"limit": verdict.scope})  # fmt: skip
        db.session.commit()
        form.code.errors.append(wait_message(verdict))
        page = render_template("admin/login_code.html", form=form)
        return page, 429, {"Retry-After": str(verdict.retry_after)}
    outcome = two_factor.check_code(user, form.code.data)
    if outcome in two_factor.ACCEPTED:
        throttle.code_succeeded(user)
        return finish_sign_in(user, next_url, second_factor=outcome)
    if outcome != "malformed":  # text that is no code tells nothing: not counted as a guess
        throttle.code_failed(user)
        audit.record("two_factor.failure", email=user.email, subject=f"user:{user.id}",
                     details={"reason": outcome})  # fmt: skip
        db.session.commit()
    form.code.errors.append(_code_message(outcome))
    page = render_template("admin/login_code.html", form=form)
    return page, (400 if outcome == "malformed" else 401)


def _security_page(confirm_form=None, reauth_form=None, code: int = 200):
    """The security page: the second factor (set-up or its controls) and the sessions."""
    user = current_user._get_current_object()
    idle, hours = (
        current_app.config["SESSION_IDLE_MINUTES"],
        current_app.config["SESSION_MAX_HOURS"],
    )
    setup = None
    if not two_factor.is_enabled(user):
        secret = two_factor.pending_secret(user)
        uri = two_factor.provisioning_uri(user, secret)
        setup = {
            "qr": two_factor.qr_svg(uri, _("QR code to scan with your authenticator app")),
            "key": two_factor.grouped(secret),
            "issuer": two_factor.issuer(),
            "account": user.email,
        }
    page = render_template(
        "admin/security.html",
        two_factor_on=setup is None,
        two_factor_since=None if setup else two_factor.settings_for(user).enabled_at,
        two_factor_required=two_factor.is_required(user),
        codes_left=0 if setup else two_factor.recovery_codes_left(user),
        setup=setup,
        confirm_form=confirm_form or ConfirmForm(formdata=None),
        reauth_form=reauth_form or ReauthForm(formdata=None),
        session_limits=_(
            "A session ends when you sign out, %(idle)s, and %(lifetime)s.",
            idle=ngettext(
                "after %(num)d minute without use", "after %(num)d minutes without use", idle
            ),
            lifetime=ngettext(
                "%(num)d hour after signing in", "%(num)d hours after signing in", hours
            ),
        ),
        sessions=sessions.live_sessions(user),
        is_current=sessions.is_current,
        describe=sessions.describe_browser,
    )
    return page, code


@bp.route("/security")
@login_required
def security():
    """Two-factor sign-in (set it up, or manage it) and the sessions, with a way to end them."""
    return _security_page()


def _show_recovery_codes(codes: list[str], first_time: bool):
    """The recovery codes, this once: they are stored only as hashes."""
    return render_template("admin/recovery_codes.html", codes=codes, first_time=first_time)


@bp.route("/security/two-factor", methods=["POST"])
@login_required
def two_factor_confirm():
    """Switch two-factor sign-in on with a code from the app; show the recovery codes once."""
    user = current_user._get_current_object()
    if two_factor.is_enabled(user):
        return redirect(url_for(".security"), code=303)
    form = ConfirmForm()
    if not form.validate_on_submit():
        return _security_page(confirm_form=form, code=400)
    verdict = throttle.check_code(user)
    if not verdict.allowed:
        audit.record("two_factor.throttled", actor=user, subject=f"user:{user.id}",
                     details={"limit": verdict.scope})  # fmt: skip
        db.session.commit()
        form.code.errors.append(wait_message(verdict))
        return _security_page(confirm_form=form, code=429)
    result = two_factor.enable(user, form.code.data)
    if isinstance(result, str):
        if result != "malformed":
            throttle.code_failed(user)
            audit.record("two_factor.failure", actor=user, subject=f"user:{user.id}",
                         details={"reason": result, "during": "set-up"})  # fmt: skip
            db.session.commit()
        form.code.errors.append(_code_message(result))
        return _security_page(confirm_form=form, code=400)
    throttle.code_succeeded(user)
    return _show_recovery_codes(result, first_time=True)


def _reauthenticated(user: User, form: ReauthForm) -> int:
    """Check the password or app code typed to confirm a change: 200 if right, else the
    status to answer with (the field error is set)."""
    verdict = throttle.check_code(user)
    if not verdict.allowed:
        audit.record("two_factor.throttled", actor=user, subject=f"user:{user.id}",
                     details={"limit": verdict.scope})  # fmt: skip
        db.session.commit()
        form.confirmation.errors.append(wait_message(verdict))
        return 429
    typed = form.confirmation.data
    if two_factor.is_totp_shaped(two_factor.normalise(typed)):
        outcome = two_factor.check_code(user, typed, recovery=False)
    else:
        outcome = "password" if check_password(user, typed) else "wrong"
    if outcome in ("totp", "password"):
        throttle.code_succeeded(user)
        return 200
    throttle.code_failed(user)
    audit.record("two_factor.failure", actor=user, subject=f"user:{user.id}",
                 details={"reason": outcome, "during": "confirmation"})  # fmt: skip
    db.session.commit()
    form.confirmation.errors.append(
        _code_message("replayed")
        if outcome == "replayed"
        else _("This is neither your password nor the current code from your app.")
    )
    return 401


def _refused_confirmation(user: User):
    """The answer when a change to two-factor sign-in may not go ahead (it is off, or the
    password or code typed to confirm it is missing or wrong); None when it may."""
    if not two_factor.is_enabled(user):
        return redirect(url_for(".security"), code=303)
    form = ReauthForm()
    if not form.validate_on_submit():
        return _security_page(reauth_form=form, code=400)
    status = _reauthenticated(user, form)
    if status != 200:
        return _security_page(reauth_form=form, code=status)
    return None


@bp.route("/security/two-factor/recovery-codes", methods=["POST"])
@login_required
def two_factor_recovery_codes():
    """Make ten new recovery codes (the old ones stop working); shown once."""
    user = current_user._get_current_object()
    refused = _refused_confirmation(user)
    if refused is not None:
        return refused
    return _show_recovery_codes(two_factor.regenerate_recovery_codes(user), first_time=False)


@bp.route("/security/two-factor/off", methods=["POST"])
@login_required
def two_factor_disable():
    """Switch two-factor sign-in off; where it is required, the set-up follows at once."""
    user = current_user._get_current_object()
    refused = _refused_confirmation(user)
    if refused is not None:
        return refused
    two_factor.disable(user)
    if two_factor.is_required(user):
        flash(_("Two-factor sign-in is off. Your account needs it: set it up again now."), "info")
    else:
        flash(_("Two-factor sign-in is off."), "success")
    return redirect(url_for(".security"), code=303)


@bp.route("/users/<int:user_id>/two-factor/reset", methods=["POST"])
@login_required
def reset_two_factor(user_id: int):
    """Admins remove another user's second factor (a lost phone); that user's sessions end."""
    if not current_user.is_admin:
        abort(404)
    account = db.session.get(User, user_id) or abort(404)
    if account.id == current_user.id:
        flash(_("Change your own two-factor sign-in on the Security page."), "error")
    else:
        two_factor.reset(account, actor=current_user._get_current_object())
        message = _(
            "Two-factor sign-in of %(name)s has been reset: they set it up again at their next "
            "sign-in.",
            name=account.name,
        )
        flash(message, "success")
    return redirect(url_for("admin.user", user_id=account.id), code=303)
