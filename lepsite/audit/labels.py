"""The names of the recorded actions, as the admin page shows them."""

from flask_babel import lazy_gettext as _l

# Every action the app records; an unknown code is still stored and shown as it is.
ACTION_LABELS = {
    "login.success": _l("Signed in"),
    "login.failure": _l("Sign-in failed"),
    "login.throttled": _l("Sign-in blocked: too many attempts"),
    "logout": _l("Signed out"),
    "session.ended": _l("Session ended"),
    "password.changed": _l("Password changed"),
    "password.failure": _l("Password not changed: wrong current password"),
    "user.created": _l("Account created"),
    "user.changed": _l("Account changed"),
    "export.csv": _l("Applications exported (CSV)"),
    "application.start_review": _l("Review started"),
    "application.request_info": _l("Applicant asked for more information"),
    "application.approve": _l("Application approved"),
    "application.reject": _l("Application not approved"),
    "application.note": _l("Internal note added"),
    "application.reroute": _l("Passed to another partnership"),
    "audit.pruned": _l("Old audit entries deleted"),
    "mail.retry": _l("Mail queued again"),
}
