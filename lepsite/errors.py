"""Error pages in the visitor's language, revealing nothing about the server."""

from flask import Flask, g, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from .i18n import LANGUAGES

# Statuses with a page of their own; the rest share the generic one.
_OWN_PAGES = {400, 404, 413, 429, 500}


def _language_from_path() -> None:
    """Errors raised before a route matched (405, say) still speak the URL's language."""
    if not g.get("lang"):
        first = request.path.strip("/").split("/", 1)[0]
        if first in LANGUAGES:
            g.lang = first


def render_error(error: HTTPException):
    """Render a known HTTP error with the page for its status, keeping headers such as Allow."""
    _language_from_path()
    code = error.code or 500
    template = f"errors/{code}.html" if code in _OWN_PAGES else "errors/generic.html"
    headers = [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"]
    return render_template(template, code=code), code, headers


def init_app(app: Flask) -> None:
    """Register the handlers."""

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        """Every HTTP error: a translated page of its own."""
        if isinstance(error, CSRFError):
            _language_from_path()
            return render_template("errors/400.html", code=400, csrf=True), 400
        return render_error(error)

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):
        """Anything unforeseen: logged in full, shown as a plain 500 page."""
        if isinstance(error, HTTPException):
            return render_error(error)
        app.logger.exception("Unhandled error")
        return render_error(InternalServerError())
