"""Error pages in the visitor's language, revealing nothing about the server.

Every page a visitor can meet says whether what they sent was kept and what to do next. A
failure is logged as one line per request naming the request's id (``request_log``), which the
500 page shows too; its traceback at most once a minute per kind (the exception class and the
line that raised it), so an outage does not flood the log.
"""

import contextlib
import errno
import threading
import time
import traceback

from flask import Flask, current_app, g, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable

from .extensions import db
from .i18n import LANGUAGES
from .request_log import current_request_id, loggable_path

# Statuses with a page of their own; the rest share the generic one.
_OWN_PAGES = {400, 404, 413, 429, 500, 503}

# How long a 503 asks clients to wait before trying again, in seconds.
RETRY_AFTER = 30
TRACEBACK_INTERVAL = 60.0

# A full disk or a read-only file system: the server's fault, and passing.
_STORAGE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS}


def _language_from_path() -> None:
    """Errors raised before a route matched (405, say) still speak the URL's language."""
    if not g.get("lang"):
        first = request.path.strip("/").split("/", 1)[0]
        if first in LANGUAGES:
            g.lang = first


def is_unavailable(error: BaseException) -> bool:
    """True when the database or the disk failed, not the request: worth a retry later.

    A lost or refused connection, a timeout, a cancelled statement and SQLite's "database or
    disk is full" are ``OperationalError``; a broken driver connection ``InterfaceError``. An
    integrity or data error is a bug, and stays a 500.
    """
    if isinstance(error, sa_exc.OperationalError | sa_exc.InterfaceError | sa_exc.TimeoutError):
        return True
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, OSError) and error.errno in _STORAGE_ERRNOS


def _redacted_path() -> str:
    return loggable_path(request.path)


def _summary(error: BaseException) -> str:
    """The error's class and first line, without SQL parameters (they hold personal data)."""
    original = getattr(error, "orig", None) or error
    text = str(original).strip().splitlines()
    return f"{type(error).__name__}: {text[0][:300] if text else ''}"


def _kind(error: BaseException) -> tuple[str, str, int]:
    """The exception class and the line that raised it."""
    frames = traceback.extract_tb(error.__traceback__)
    where = frames[-1] if frames else None
    return (type(error).__qualname__, where.filename if where else "", where.lineno or 0)


class _Throttle:
    """Remembers, per process, when each kind of failure last had its traceback logged."""

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self.lock = threading.Lock()
        self.last: dict[tuple, float] = {}

    def due(self, kind: tuple) -> bool:
        now = self.clock()
        with self.lock:
            if now - self.last.get(kind, -TRACEBACK_INTERVAL) < TRACEBACK_INTERVAL:
                return False
            self.last[kind] = now
            return True


def log_failure(error: BaseException, code: int) -> None:
    """One line per failing request; the full traceback once a minute per kind."""
    if isinstance(error, sa_exc.StatementError):
        error.hide_parameters = True  # the traceback's last line repeats the parameters
    throttle: _Throttle = current_app.extensions["lepsite.error_log"]
    request_id = current_request_id()
    current_app.logger.error(
        "%s %s failed with %d: %s (request %s)",
        request.method,
        _redacted_path(),
        code,
        _summary(error),
        request_id,
    )
    if throttle.due(_kind(error)):
        current_app.logger.error(
            "Traceback of %s in request %s (once a minute)",
            type(error).__name__,
            request_id,
            exc_info=error,
        )


def discard_transaction() -> None:
    """Roll back what a failed request left in the session; a dead connection may refuse."""
    with contextlib.suppress(Exception):
        db.session.rollback()


def report(error: BaseException) -> tuple[int, list[tuple[str, str]]]:
    """Log a failure; return the status to answer with (503 or 500) and its headers."""
    code = 503 if is_unavailable(error) else 500
    log_failure(error, code)
    return code, ([("Retry-After", str(RETRY_AFTER))] if code == 503 else [])


def _sent_data() -> bool:
    """True when the request carried something to store (a form, not a page view)."""
    return request.method not in {"GET", "HEAD", "OPTIONS"}


def render_error(error: HTTPException):
    """Render a known HTTP error with the page for its status, keeping headers such as Allow."""
    _language_from_path()
    code = error.code or 500
    template = f"errors/{code}.html" if code in _OWN_PAGES else "errors/generic.html"
    headers = [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"]
    page = render_template(
        template,
        code=code,
        sent_data=_sent_data(),
        # The membership form says more: whether the application arrived.
        application_form=request.endpoint == "membership.apply" and _sent_data(),
        stored_application=g.get("stored_application"),
        # A visitor who writes about a failure can quote it; the log line names it too.
        request_id=current_request_id() if code == 500 else None,
    )
    return page, code, headers


def csrf_error(error: CSRFError):
    """An expired or foreign form: nothing was saved."""
    _language_from_path()
    return render_template("errors/400.html", code=400, csrf=True), 400


def init_app(app: Flask) -> None:
    """Register the handlers."""
    app.extensions["lepsite.error_log"] = _Throttle()

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        """Every HTTP error: a translated page of its own."""
        if isinstance(error, CSRFError):
            return csrf_error(error)
        return render_error(error)

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):
        """Anything unforeseen: logged, and shown as a 503 (try later) or a 500 page."""
        if isinstance(error, HTTPException):
            return render_error(error)
        discard_transaction()
        code, headers = report(error)
        page, code, _ = render_error(ServiceUnavailable() if code == 503 else InternalServerError())
        return page, code, headers
