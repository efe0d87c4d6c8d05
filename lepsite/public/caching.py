"""HTTP caching of public pages: rendered once into memory, revalidated with ETags.

A content page depends only on its URL, the site's address (canonical and alternate links are
absolute), the content store and the catalogs, all fixed while the app runs. So the
first request renders the page and later ones send the stored bytes; a browser or proxy that
already holds them gets a bodiless 304.
"""

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from functools import wraps

from flask import Flask, Response, current_app, make_response, request
from flask.sessions import SecureCookieSessionInterface

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
    """For public pages that also read the database: send an ETag so unchanged pages are 304s."""

    @wraps(view)
    def wrapper(**view_args):
        response = make_response(view(**view_args))
        return public_and_conditional(response, etag_for(response.get_data()), max_age=60)

    return wrapper


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
    """Give the app its page cache and cache-friendly sessions; send one Date header."""
    app.extensions["lepsite.page_cache"] = PageCache()
    app.session_interface = CacheFriendlySessionInterface()

    @app.after_request
    def leave_the_date_to_the_server(response):
        """Werkzeug's conditional responses (pages, static files) add a Date header, and the
        server (gunicorn, Werkzeug) adds its own: a response must carry only one."""
        response.headers.pop("Date", None)
        return response
