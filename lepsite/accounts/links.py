"""The pages behind mailed links: ask for a password reset, use a reset link, accept an invitation.

Registered on the ``accounts`` blueprint (``/admin/reset``, ``/admin/reset/<token>``,
``/admin/invite/<token>``). A link that is forged, garbled, used, expired or replaced gets a
page that says so and what to do, in the language of the account it was made for when that
is known. Neither page signs anyone in: the person signs in afterwards, as anyone does (and
sets up a second factor there when the account needs one).
"""

from flask import current_app, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import ngettext

from .. import audit
from ..extensions import db
from ..i18n import LANGUAGES
from ..mail import send_now
from ..models import User
from . import invitations, reset, throttle, tokens
from .forms import NewPasswordForm, ResetRequestForm
from .strength import password_problem
from .views import bp

# Unknown or garbled: there is nothing at this address. Used or expired: it was there.
PROBLEM_STATUS = {"unknown": 404, "used": 410, "expired": 410}


def _speak(user: User | None) -> None:
    """Pages about an account speak its language, whoever opens the link."""
    if user is not None and user.language in LANGUAGES:
        g.admin_lang = user.language


def _problem(kind: str, state: str):
    """The page for a link that does not work (any more), with the status that fits."""
    return render_template(f"admin/{kind}_problem.html", state=state), PROBLEM_STATUS[state]


def _wait(verdict: throttle.Verdict) -> str:
    minutes = max(1, -(-verdict.retry_after // 60))
    return ngettext(
        "Too many attempts. Try again in %(num)d minute.",
        "Too many attempts. Try again in %(num)d minutes.",
        minutes,
    )


def _checked_password(form: NewPasswordForm, user: User) -> str | None:
    """The new password if the form is sent and the password is strong enough, else None."""
    if not form.validate_on_submit():
        return None
    problem = password_problem(form.new_password.data, (user.email, user.name))
    if problem:
        form.new_password.errors.append(problem)
        return None
    return form.new_password.data


@bp.route("/reset", methods=["GET", "POST"])
def request_reset():
    """Ask for a reset link: the same answer whether or not the address has an account."""
    form = ResetRequestForm()
    if not form.validate_on_submit():
        return render_template("admin/reset.html", form=form), (400 if form.errors else 200)
    verdict = throttle.reset_requested(form.email.data)
    if not verdict.allowed:
        audit.record("password.reset_throttled", details={"limit": verdict.scope})
        db.session.commit()
        form.email.errors.append(_wait(verdict))
        page = render_template("admin/reset.html", form=form)
        return page, 429, {"Retry-After": str(verdict.retry_after)}
    send_now(reset.request_reset(form.email.data))
    return render_template("admin/reset_sent.html", minutes=current_app.config["RESET_MINUTES"])


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    """Choose a new password through a reset link; every session of the account ends."""
    state, user = reset.link_state(token)
    _speak(user)
    if state != "live":
        return _problem("reset", state)
    form = NewPasswordForm()
    password = _checked_password(form, user)
    if password is not None:
        done, mail_ids = reset.reset_password(token, password)
        if done is None:  # used or expired while the form was open
            state, _user = reset.link_state(token)
            return _problem("reset", "used" if state == "live" else state)
        send_now(mail_ids)
        flash(_("Your password has been changed. Sign in with the new one."), "success")
        return redirect(url_for(".login"), code=303)
    page = render_template("admin/reset_password.html", form=form, account=user)
    return page, (400 if form.errors else 200)


@bp.route("/invite/<token>", methods=["GET", "POST"])
def accept_invitation(token: str):
    """Accept an invitation by choosing a password; then the person signs in."""
    state, user, row = invitations.invitation_for(token)
    _speak(user)
    if state != "live":
        return _problem("invite", state)
    form = NewPasswordForm()
    password = _checked_password(form, user)
    if password is not None:
        if invitations.accept(token, password) is None:
            state, _user, _row = invitations.invitation_for(token)
            return _problem("invite", "used" if state == "live" else state)
        flash(_("Your account is ready. Sign in with your e-mail address and new password."),
              "success")  # fmt: skip
        return redirect(url_for(".login"), code=303)
    page = render_template(
        "admin/invite.html", form=form, account=user, expires_at=tokens.expires_at(row)
    )
    return page, (400 if form.errors else 200)
