"""Refuse control characters in the parts of a request that no form checks.

Forms refuse them as field errors (``lepsite.forms.SiteForm``). Everything else a view reads
straight from the request — the path and its values (``<token>``, ``<slug>``), query arguments
such as the admin's filters and ``next`` — is checked here, before any view runs: PostgreSQL
refuses NUL in a query (a 500), and none of these characters belongs in a URL. Cookies are not
checked: the language cookie is only compared and the others are signed, while a stray cookie
of another site on the same domain must not lock a visitor out. The request body is left to
the forms, which answer with a message at the field rather than an error page.
"""

import re

from flask import Flask, abort, request

from .forms import CONTROL_CHARACTERS

# Request headers that are stored (sign-in sessions keep the browser's name).
_STORED_HEADERS = ("User-Agent",)
# A tab is legal inside a header value.
_CONTROL_IN_HEADER = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def has_control_characters(text: str) -> bool:
    """True when ``text`` holds a C0 control character or DEL."""
    return CONTROL_CHARACTERS.search(text) is not None


def refuse_control_characters() -> None:
    """A 400 for control characters in the path, the query or a stored header."""
    if has_control_characters(request.path):
        abort(400)
    # Only requests with a query pay for the check; a content page usually has none.
    if request.query_string:
        for name, values in request.args.lists():
            if has_control_characters(name) or any(map(has_control_characters, values)):
                abort(400)
    for header in _STORED_HEADERS:
        value = request.headers.get(header)
        if value and _CONTROL_IN_HEADER.search(value):
            abort(400)


def init_app(app: Flask) -> None:
    """Register the request check, ahead of every other one so no view or hook sees the value."""
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_control_characters)
