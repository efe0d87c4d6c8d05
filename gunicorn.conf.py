"""Gunicorn settings for lepsite: ``gunicorn 'lepsite:create_app()' -c <this file>``.

Environment: ``LEPSITE_BIND`` (default ``127.0.0.1:8000``; the reverse proxy talks to it),
``LEPSITE_WORKERS`` (default 2 × cores + 1, at most 9), ``LEPSITE_FORWARDED_ALLOW_IPS`` (the
proxy's address, default loopback). The app itself reads ``X-Forwarded-*`` through ProxyFix
(``LEPSITE_PROXY_COUNT``); gunicorn's setting only decides whom it believes about HTTPS.
"""

import json
import logging
import os
import traceback

from gunicorn.glogging import Logger

from lepsite.log_redaction import redact
from lepsite.request_log import JsonFormatter, access_entry

bind = os.environ.get("LEPSITE_BIND", "127.0.0.1:8000")

# Each worker holds its own database pool (up to 15 connections); nine workers stay well inside
# PostgreSQL's default of 100 connections even with two servers.
workers = int(os.environ.get("LEPSITE_WORKERS", min(2 * (os.cpu_count() or 1) + 1, 9)))
proc_name = "lepsite"

# Requests are short; a worker stuck for 30 s is killed and replaced.
timeout = 30
graceful_timeout = 20
# The proxy keeps connections to us open a little; longer only ties up sync workers.
keepalive = 5


def on_starting(server) -> None:
    """Refuse to run several workers that would each count the sign-in limits on their own.

    With ``memory://`` every worker keeps its own counters, so "5 per minute" would really be
    5 × workers. Several workers need a shared store: ``LEPSITE_RATELIMIT_STORAGE_URI=redis://…``.
    """
    storage = os.environ.get("LEPSITE_RATELIMIT_STORAGE_URI", "memory://").strip().lower()
    enabled = os.environ.get("LEPSITE_RATELIMIT_ENABLED", "true").strip().lower() != "false"
    if server.cfg.workers > 1 and enabled and storage.startswith("memory://"):
        server.log.error(
            "%d workers with LEPSITE_RATELIMIT_STORAGE_URI=%s would each count the sign-in "
            "limits alone: set it to redis://… (shared by every worker and server), or run "
            "one worker (LEPSITE_WORKERS=1).",
            server.cfg.workers,
            storage,
        )
        raise SystemExit(1)


forwarded_allow_ips = os.environ.get("LEPSITE_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# Logs to stdout/stderr, for systemd's journal or the container runtime: the access log on
# stdout; gunicorn's own messages and the app's on stderr. Every line is one JSON object
# (lepsite/request_log.py): time, level, logger, request id, method, path, and for the access
# log status, duration_ms and the signed-in user's id.
accesslog = "-"
errorlog = "-"

# Status, invitation and reset links are keys: keep them out of the logs.


class RedactingLogger(Logger):
    """Gunicorn's logger, writing JSON lines with secret links cut from every path.

    It also takes the app's log (the ``lepsite`` loggers, the audit log among them) unless the
    operator configures logging (``logconfig``, ``logconfig_dict``, ``logconfig_json``), so
    one request's lines share a format, a request id and a destination.
    """

    def setup(self, cfg) -> None:
        super().setup(cfg)
        formatter = JsonFormatter()
        streams = []
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                # Syslog handlers keep gunicorn's syslog format.
                if getattr(handler, "_gunicorn", False) and isinstance(
                    handler, logging.StreamHandler
                ):
                    handler.setFormatter(formatter)
                    if log is self.error_log:
                        streams.append(handler)
        app_log = logging.getLogger("lepsite")
        for handler in list(app_log.handlers):
            if getattr(handler, "_gunicorn", False):  # from a previous setup (reload)
                app_log.removeHandler(handler)
        if cfg.logconfig or cfg.logconfig_dict or getattr(cfg, "logconfig_json", None):
            return
        for handler in streams:
            app_log.addHandler(handler)
        if app_log.level == logging.NOTSET:
            app_log.setLevel(logging.INFO)

    def access(self, resp, req, environ, request_time) -> None:
        """One JSON line per request, with the id and user the app left in the environ."""
        cfg = self.cfg
        if not (
            cfg.accesslog
            or cfg.logconfig
            or cfg.logconfig_dict
            or getattr(cfg, "logconfig_json", None)
            or (cfg.syslog and not cfg.disable_redirect_access_to_syslog)
        ):
            return
        try:
            status = int(str(resp.status).split(None, 1)[0])
            entry = access_entry(environ, status, request_time.total_seconds())
            self.access_log.info(json.dumps(entry, ensure_ascii=False))
        except Exception:
            self.error(traceback.format_exc())

    def atoms(self, resp, req, environ, request_time):
        """Gunicorn's format atoms (for a subclass with a text format), secret links cut."""
        atoms = super().atoms(resp, req, environ, request_time)
        for key in ("r", "U", "f", "{referer}i"):
            if isinstance(atoms.get(key), str):
                atoms[key] = redact(atoms[key])
        return atoms


logger_class = RedactingLogger

# gunicorn 25+ opens a control socket in $HOME/.gunicorn/ by default; two instances on one host
# would fight over it, and we do not use gunicornc.
control_socket_disable = True


def _drop_server_header() -> None:
    """Send no ``Server: gunicorn`` header: it tells scanners what to try, and helps no one.

    Gunicorn has no setting for it (its maintainers declined one, benoitc/gunicorn#825) and
    writes the header after the app has answered, so no WSGI middleware can remove it. We
    filter it out of the response's default headers instead; tests/test_production.py checks
    that it stays gone after an upgrade. Behind nginx the header would not reach clients
    anyway: ``proxy_pass`` drops the upstream ``Server`` header.
    """
    try:
        from gunicorn.http.wsgi import Response

        original = Response.default_headers
    except (ImportError, AttributeError):
        logging.getLogger("gunicorn.error").warning("cannot drop the Server header")
        return

    def default_headers(self):
        return [line for line in original(self) if not line.lower().startswith("server:")]

    Response.default_headers = default_headers


_drop_server_header()
