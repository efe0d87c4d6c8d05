"""HTTP caching of public pages: rendered once into memory, revalidated with ETags.

A content page depends only on its URL, the site's address (canonical and alternate links are
absolute), the content store and the catalogs, all fixed while the app runs. So the
first request renders the page and later ones send the stored bytes; a browser or proxy that
already holds them gets a bodiless 304.
"""

import hashlib
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

from flask import Flask, Response, current_app, make_response, request, session
from flask.sessions import SecureCookieSessionInterface
from markupsafe import escape

from ..urls import base_url

# How long browsers and shared caches may reuse a public page without asking again.
PUBLIC_MAX_AGE = 300
# Rendered pages kept per app: every page in every language fits many times over, while junk
# query strings (or, in debug, Host headers) cannot grow the cache without bound.
MAX_ENTRIES = 2048
# Query values that change what a public page shows; any other is ignored.
SIGNIFICANT_ARGS = ("page",)


@dataclass(frozen=True)
class RenderedPage:
    """A page's bytes and what a conditional request compares them with."""

    body: bytes
    content_type: str
    etag: str


class PageCache:
    """A small thread-safe LRU of rendered pages."""

    def __init__(self, max_entries: int = MAX_ENTRIES):
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple, RenderedPage] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple) -> RenderedPage | None:
        """The stored page, marked as recently used, or None."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def put(self, key: tuple, entry: RenderedPage) -> None:
        """Store a page, dropping the least recently used beyond the limit."""
        with self._lock:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)


def etag_for(body: bytes) -> str:
    """A strong validator from the bytes themselves, the same on every worker and server."""
    return hashlib.blake2b(body, digest_size=16).hexdigest()


def public_and_conditional(
    response: Response, etag: str, max_age: int = PUBLIC_MAX_AGE
) -> Response:
    """Let browsers and proxies keep the page a while; answer ``If-None-Match`` with a 304."""
    response.set_etag(etag)
    response.cache_control.public = True
    response.cache_control.max_age = max_age
    return response.make_conditional(request)


def cached_page(view):
    """Serve a view's page from memory after its first rendering.

    Only for views whose output is a function of the URL and the content; errors (404s) are
    raised by the view and never stored.
    """

    @wraps(view)
    def wrapper(**view_args):
        cache: PageCache = current_app.extensions["lepsite.page_cache"]
        store = current_app.extensions["lepsite.content"]
        args = tuple(request.args.get(name) for name in SIGNIFICANT_ARGS)
        # The generation changes when debug mode reloads edited content.
        # The address is BASE_URL, fixed; only in debug without it is it the request's host.
        key = (store.generation, base_url(), request.path, args)
        entry = cache.get(key)
        if entry is None:
            response = make_response(view(**view_args))
            body = response.get_data()
            entry = RenderedPage(body, response.content_type, etag_for(body))
            cache.put(key, entry)
        response = Response(entry.body, content_type=entry.content_type)
        return public_and_conditional(response, entry.etag)

    return wrapper


def revalidated_page(view):
    """For public pages that also read the database: rendered for every request, with an ETag
    so an unchanged page is a bodiless 304.

    ``no-cache``: browsers and shared caches may keep the page but must ask again each time,
    so a change in the database shows at once (a membership that ended leaves a partnership's
    member list with the change, not a minute later).
    """

    @wraps(view)
    def wrapper(**view_args):
        response = make_response(view(**view_args))
        response.cache_control.no_cache = True
        return public_and_conditional(response, etag_for(response.get_data()), max_age=0)

    return wrapper


@dataclass(frozen=True)
class FormTemplate:
    """A rendered form page cut where its per-visitor secrets go: ``pieces`` has one more
    item than ``slots``, and the page is the pieces with each slot's value between them."""

    pieces: tuple[str, ...]
    slots: tuple[str, ...]

    def fill(self, values: dict[str, str]) -> str:
        """The page with these values (HTML-escaped) in its slots."""
        parts = [self.pieces[0]]
        for slot, piece in zip(self.slots, self.pieces[1:], strict=True):
            parts += [str(escape(values[slot])), piece]
        return "".join(parts)


def _cut(page: str, markers: dict[str, str]) -> FormTemplate | None:
    """``page`` cut at each marker; None unless every marker is in it exactly once."""
    if any(page.count(marker) != 1 for marker in markers.values()):
        return None
    found = sorted((page.index(marker), slot) for slot, marker in markers.items())
    pieces, start = [], 0
    for position, slot in found:
        pieces.append(page[start:position])
        start = position + len(markers[slot])
    pieces.append(page[start:])
    return FormTemplate(tuple(pieces), tuple(slot for _position, slot in found))


def form_page(key: tuple, render: Callable[..., str], **makers: Callable[[], str]) -> str:
    """A form page rendered once, then copied for each visitor with their own secrets.

    For pages whose only per-visitor parts are hidden values such as the CSRF token and a
    one-time form key. ``makers`` name those values and make this request's (so each visitor
    still gets a fresh token and key, and the session its CSRF secret); ``render(**values)``
    renders the page with given values. The first rendering for a key uses random markers,
    which are cut out and stored; should a marker not come out exactly once (escaped,
    repeated), the page is rendered for each request instead. ``key`` says what else the page
    depends on beyond its path, the content and the site's address.
    """
    values = {name: make() for name, make in makers.items()}
    if session.get("_flashes"):  # a message for this visitor alone: never cut or reused
        return render(**values)
    cache: PageCache = current_app.extensions["lepsite.form_pages"]
    store = current_app.extensions["lepsite.content"]
    full_key = (store.generation, base_url(), request.path, *key)
    template = cache.get(full_key)
    if template is None:
        # URL-safe like the real values, and random, so no page text can look like one.
        markers = {name: secrets.token_urlsafe(32) for name in makers}
        template = _cut(render(**markers), markers)
        if template is None:
            return render(**values)
        cache.put(full_key, template)
    return template.fill(values)


class CacheFriendlySessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, minus ``Vary: Cookie`` on public pages.

    Flask adds ``Vary: Cookie`` whenever anything peeks at the session, and Flask-Login peeks
    on every response (for its remember-me cookie). A page marked public is the same for
    everyone, so saying it varies by cookie would only stop shared caches from keeping it.
    """

    def save_session(self, app, session, response):
        super().save_session(app, session, response)
        if response.cache_control.public and not session.modified:
            response.vary.discard("Cookie")


def init_app(app: Flask) -> None:
    """Give the app its page caches and cache-friendly sessions; send one Date header."""
    app.extensions["lepsite.page_cache"] = PageCache()
    app.extensions["lepsite.form_pages"] = PageCache(max_entries=256)
    app.session_interface = CacheFriendlySessionInterface()

    @app.after_request
    def leave_the_date_to_the_server(response):
        """Werkzeug's conditional responses (pages, static files) add a Date header, and the
        server (gunicorn, Werkzeug) adds its own: a response must carry only one."""
        response.headers.pop("Date", None)
        return response
