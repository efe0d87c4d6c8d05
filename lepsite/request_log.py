"""One request, traceable through every log: its id on each line and on its response.

nginx sends ``X-Request-ID: $request_id`` (32 hex digits). The app keeps an incoming id only
when it looks like one (1–64 of ``A-Z a-z 0-9 . _ -``), so a forged header cannot carry line
breaks, quotes or someone else's text into the logs; otherwise it makes its own. The id goes
back in every response's ``X-Request-ID`` header (error and static responses too: the WSGI
middleware below sits outside Flask), onto each line of the ``lepsite`` loggers, into the
audit log's entries, and onto gunicorn's access line, which reads it from the WSGI environ.

Under gunicorn, ``gunicorn.conf.py`` writes gunicorn's own log, the app's log and the access
log as one JSON object per line (``JsonFormatter``): time, level, logger, request id, method,
path (secret links redacted, see ``log_redaction``), status and duration (access lines) and
the signed-in user's id. An operator with a logging set-up of their own can use
``RequestFilter`` for ``%(request_id)s`` and the like in any format.
"""

import json
import logging
import re
import secrets
from datetime import UTC, datetime
from urllib.parse import unquote

from flask import Flask, g, has_request_context, request
from sqlalchemy import inspect

from .log_redaction import redact
from .models import User

HEADER = "X-Request-ID"
# Where the app leaves the id and the signed-in user for gunicorn's access line.
ENVIRON_ID = "lepsite.request_id"
ENVIRON_USER = "lepsite.user_id"

_SANE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def new_request_id() -> str:
    """A fresh id in nginx's ``$request_id`` form: 32 hex digits."""
    return secrets.token_hex(16)


def accepted_id(value: str | None) -> str | None:
    """``value`` when it is a plausible request id, else None (it is then replaced)."""
    return value if value and _SANE_ID.fullmatch(value) else None


class RequestIdMiddleware:
    """Decide the request's id before Flask sees it; add it to whatever response goes out."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        request_id = (
            accepted_id(environ.get(ENVIRON_ID))
            or accepted_id(environ.get("HTTP_X_REQUEST_ID"))
            or new_request_id()
        )
        environ[ENVIRON_ID] = request_id

        def start_with_id(status, headers, exc_info=None):
            headers = [(k, v) for k, v in headers if k.lower() != "x-request-id"]
            headers.append((HEADER, request_id))
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, start_with_id)


def current_request_id() -> str | None:
    """The id of the request being handled, or None outside a request (commands, cron)."""
    if not has_request_context():
        return None
    return request.environ.get(ENVIRON_ID)


def signed_in_user_id() -> int | None:
    """The id of the user this request signed in as, if the request looked at all.

    Only a user already loaded counts: asking Flask-Login here would read the session and
    mark a public page ``Vary: Cookie``. The id comes from the identity map, never the
    database, so a log line cannot fail on a broken connection.
    """
    user = g.get("_login_user")
    if not isinstance(user, User):
        return None
    identity = inspect(user).identity
    return identity[0] if identity else None


def loggable_path(path: str) -> str:
    """A path as it may be logged: percent-decoded, then secret links redacted.

    ``/en/apply/%73tatus/<token>`` is decoded before matching, however many times it was
    encoded, so no spelling of a status, reset or invitation link keeps its token.
    """
    for _ in range(5):
        decoded = unquote(path, errors="replace")
        if decoded == path:
            break
        path = decoded
    return redact(path)


def _environ_path(environ) -> str:
    """The request's path as text (WSGI gives UTF-8 bytes as latin-1 characters)."""
    raw = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
    try:
        return raw.encode("latin-1").decode("utf-8", "replace")
    except UnicodeEncodeError:
        return raw


def request_fields() -> dict:
    """Request id, method, path and signed-in user of the request being handled, if any."""
    if not has_request_context():
        return {}
    environ = request.environ
    fields = {
        "request_id": environ.get(ENVIRON_ID),
        "method": environ.get("REQUEST_METHOD", ""),
        "path": loggable_path(_environ_path(environ)),
    }
    try:
        user_id = signed_in_user_id()
    except Exception:  # a log line must never fail on the user
        user_id = None
    if user_id is not None:
        fields["user_id"] = user_id
    return fields


def access_entry(environ, status: int, seconds: float) -> dict:
    """The fields of one access-log line (gunicorn.conf.py writes it after the response)."""
    entry = {
        "request_id": environ.get(ENVIRON_ID),
        "method": environ.get("REQUEST_METHOD", ""),
        "path": loggable_path(_environ_path(environ)),
        "status": status,
        "duration_ms": round(seconds * 1000, 1),
    }
    if environ.get(ENVIRON_USER) is not None:
        entry["user_id"] = environ[ENVIRON_USER]
    return entry


def _json_object(message: str) -> dict | None:
    """``message`` as a dict when it is a JSON object (audit and access lines), else None."""
    if not message.startswith("{"):
        return None
    try:
        value = json.loads(message)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, the request's fields, then the message.

    A message that is itself a JSON object (an audit entry, an access line) is merged in, not
    quoted; a traceback becomes one escaped field, so every line stays one line.
    """

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
        }
        message = record.getMessage()
        fields = _json_object(message) if not record.args else None
        if fields is None:
            fields = {"message": redact(message)}
        for key, value in request_fields().items():
            fields.setdefault(key, value)
        entry.update((key, value) for key, value in fields.items() if key not in entry)
        if record.exc_info:
            entry["traceback"] = redact(self.formatException(record.exc_info))
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class RequestFilter(logging.Filter):
    """Adds ``request_id``, ``method``, ``path`` and ``user_id`` to each record (or None)."""

    def filter(self, record: logging.LogRecord) -> bool:
        fields = request_fields()
        for key in ("request_id", "method", "path", "user_id"):
            setattr(record, key, fields.get(key))
        return True


def init_app(app: Flask) -> None:
    """Give every request an id, and leave its signed-in user where the access log looks."""
    app.wsgi_app = RequestIdMiddleware(app.wsgi_app)

    @app.teardown_request
    def note_user(error=None) -> None:
        """The access line is written after the app is done: hand it the user's id."""
        user_id = signed_in_user_id()
        if user_id is not None:
            request.environ[ENVIRON_USER] = user_id
