"""Error pages in the visitor's language, revealing nothing about the server."""

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

# Statuses with a page of their own; the rest share the generic one.
_OWN_PAGES = {400, 404, 413, 429, 500}


def render_error(error: HTTPException):
    """Render a known HTTP error with the page for its status."""
    code = error.code or 500
    template = f"errors/{code}.html" if code in _OWN_PAGES else "errors/generic.html"
    response = render_template(template, code=code), code
    return response


def init_app(app: Flask) -> None:
    """Register the handlers."""

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        """Every HTTP error: a translated page of its own."""
        if isinstance(error, CSRFError):
            return render_template("errors/400.html", code=400, csrf=True), 400
        return render_error(error)

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):
        """Anything unforeseen: logged in full, shown as a plain 500 page."""
        if isinstance(error, HTTPException):
            return render_error(error)
        app.logger.exception("Unhandled error")
        return render_error(InternalServerError())
