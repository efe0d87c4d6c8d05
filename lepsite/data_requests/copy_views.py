"""The applicant asks for a copy of their data from the status page: it is mailed to the
address on file, never shown to whoever holds the link."""

import math

from flask import current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from limits import parse_many

from ..accounts import throttle
from ..mail import send_now
from ..membership import queries as membership_queries
from ..membership.views import bp
from . import operations

# Every request counts, per client address and per application, in the rate limiter's shared
# storage (see accounts.throttle): DATA_COPY_RATE_LIMIT and DATA_COPY_APPLICATION_RATE_LIMIT.


def _copy_limits(application) -> throttle.Limits:
    """(scope, key, limits) that a request for a copy counts against."""
    config = current_app.config
    return [
        ("data-copy-address", request.remote_addr or "",
         parse_many(config["DATA_COPY_RATE_LIMIT"])),
        ("data-copy-application", str(application.id),
         parse_many(config["DATA_COPY_APPLICATION_RATE_LIMIT"])),
    ]  # fmt: skip


@bp.route("/status/<token>/copy", methods=["POST"])
def request_copy(token: str):
    """Mail the applicant a copy of their data; the page says so without showing the address."""
    application = membership_queries.get_application_by_token_or_404(token)
    back = redirect(url_for(".status", token=token), code=303)
    verdict = throttle.count_request(_copy_limits(application))
    if not verdict.allowed:
        minutes = max(1, math.ceil(verdict.retry_after / 60))
        flash(
            ngettext(
                "You have asked for a copy too often. Try again in %(num)d minute.",
                "You have asked for a copy too often. Try again in %(num)d minutes.",
                minutes,
            ),
            "error",
        )
        return back
    mail_ids = operations.mail_copy(application)
    if mail_ids is None:
        flash(
            _(
                "A copy was sent to the e-mail address given in the application a few minutes "
                "ago, so no second one was sent. Look in the spam folder too."
            ),
            "info",
        )
        return back
    send_now(mail_ids)
    flash(
        _(
            "A copy of your data is on its way to the e-mail address given in the application. "
            "The e-mail can take a few minutes; look in the spam folder too."
        ),
        "success",
    )
    return back
