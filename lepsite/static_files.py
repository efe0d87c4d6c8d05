"""Fingerprinted static files: each URL carries a hash of the file, so it can be cached for a year.

``url_for('static', filename='css/site.css')`` gives ``/static/css/site.css?v=<hash>``; a changed
file gets a new URL, so browsers never keep a stale copy, and a URL whose hash matches the file
is sent with ``immutable``. nginx may serve ``static/`` itself with the same long lifetime.
"""

import hashlib
from pathlib import Path

from flask import Flask, request

ONE_YEAR = 365 * 24 * 3600


def file_fingerprint(path: Path) -> str | None:
    """A short hash of the file's bytes, or None when there is no such file."""
    try:
        return hashlib.blake2b(path.read_bytes(), digest_size=6).hexdigest()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


def init_app(app: Flask) -> None:
    """Add the hash to static URLs and the long lifetime to responses that match it."""
    root = Path(app.static_folder)
    known: dict[str, str | None] = {}

    def fingerprint(filename: str) -> str | None:
        # In debug the files change under a running server; otherwise hash each file once.
        if app.debug or filename not in known:
            known[filename] = file_fingerprint(root / filename)
        return known[filename]

    @app.url_defaults
    def add_fingerprint(endpoint, values):
        """``url_for('static', …)`` adds ``v=<hash>`` unless given one."""
        if endpoint == "static" and "filename" in values and "v" not in values:
            version = fingerprint(values["filename"])
            if version:
                values["v"] = version

    @app.after_request
    def cache_fingerprinted(response):
        """A static response whose ``v`` matches the file's hash never changes."""
        if request.endpoint != "static" or response.status_code not in (200, 304):
            return response
        filename = (request.view_args or {}).get("filename", "")
        version = request.args.get("v")
        if version and version == fingerprint(filename):
            response.cache_control.public = True
            response.cache_control.max_age = ONE_YEAR
            response.cache_control.immutable = True
        return response
