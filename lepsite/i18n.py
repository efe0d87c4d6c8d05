"""Languages: the language segment in URLs, the visitor's choice, and the compiled catalogs."""

import contextlib
import logging
import os
import tempfile
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Blueprint, Flask, current_app, g, redirect, request, url_for
from werkzeug.routing import BaseConverter

log = logging.getLogger(__name__)

# Code → name of the language in itself, in the order the switcher shows them.
LANGUAGES = {"bs": "BHS", "uk": "Українська", "en": "English"}
DEFAULT_LANGUAGE = "en"
LANGUAGE_COOKIE = "lang"
LANGUAGE_COOKIE_MAX_AGE = 365 * 24 * 3600

# Browser language tags that mean BHS on this site.
_BHS_TAGS = {"bs", "hr", "sr", "sh", "cnr"}

bp = Blueprint("i18n", __name__)


class LanguageConverter(BaseConverter):
    """Match only the site's language codes, so ``/xx/…`` is an ordinary 404."""

    regex = "(?:" + "|".join(LANGUAGES) + ")"


def language_for_tag(tag: str) -> str | None:
    """Map a browser language tag (``sr-Latn-RS``, ``uk``) to a site language, if any."""
    primary = tag.replace("_", "-").split("-")[0].lower()
    if primary in _BHS_TAGS:
        return "bs"
    return primary if primary in LANGUAGES else None


def preferred_language() -> str:
    """The visitor's language: remembered choice, then Accept-Language by quality, else English."""
    remembered = request.cookies.get(LANGUAGE_COOKIE)
    if remembered in LANGUAGES:
        return remembered
    for tag, quality in request.accept_languages:
        if quality <= 0:
            continue
        language = language_for_tag(tag)
        if language:
            return language
    return DEFAULT_LANGUAGE


def current_language() -> str:
    """The language of this request: the URL's, else the visitor's preference."""
    lang = g.get("lang") or g.get("admin_lang")
    if lang:
        return lang
    if request:
        return preferred_language()
    return DEFAULT_LANGUAGE


def is_safe_local_path(target: str | None) -> bool:
    """True for a path on this site (``/uk/about``), never for another host or scheme."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return False
    return "\\" not in target and not any(ord(ch) < 32 for ch in target)


@bp.route("/")
def root():
    """Send the visitor to the home page in their language."""
    response = redirect(url_for("public.home", lang=preferred_language()))
    response.vary.add("Accept-Language")
    response.vary.add("Cookie")
    response.headers["Cache-Control"] = "private, no-cache"
    return response


@bp.route("/<lang:lang>/language")
def choose():
    """Remember the visitor's language choice, then show the page they were reading."""
    lang = g.lang
    target = request.args.get("next")
    if not is_safe_local_path(target):
        target = url_for("public.home", lang=lang)
    response = redirect(target)
    response.set_cookie(
        LANGUAGE_COOKIE,
        lang,
        max_age=LANGUAGE_COOKIE_MAX_AGE,
        secure=current_app.config["SESSION_COOKIE_SECURE"],
        httponly=True,
        samesite="Lax",
    )
    return response


def compile_catalogs(source_dir: Path, target_dir: Path) -> Path:
    """Make sure compiled catalogs exist for every ``.po``; return the folder that holds them.

    An installed wheel ships ``.mo`` files beside the ``.po`` files (compiled when the package
    is built, see ``hatch_build.py``): then nothing is written at all. In a checkout they are
    compiled into ``target_dir`` (the instance folder), but only when missing or older than
    their ``.po``, so a worker start normally writes nothing. If writing fails (a full disk,
    a read-only folder) the files already there are kept and the start goes on: a restarted
    worker must never take the site down for want of a few kilobytes.
    """
    po_paths = sorted(source_dir.glob("*/LC_MESSAGES/*.po"))
    if all(_is_fresh(po.with_suffix(".mo"), po) for po in po_paths):
        return source_dir
    for po_path in po_paths:
        mo_path = target_dir / po_path.relative_to(source_dir).with_suffix(".mo")
        if _is_fresh(mo_path, po_path):
            continue
        try:
            _write_mo(po_path, mo_path)
        except OSError as error:
            log.warning(
                "could not compile %s (%s); %s", po_path, error,
                "keeping the catalog compiled before" if mo_path.exists()
                else "this language falls back to English",
            )  # fmt: skip
    return target_dir


def _is_fresh(mo_path: Path, po_path: Path) -> bool:
    try:
        return mo_path.stat().st_mtime >= po_path.stat().st_mtime and mo_path.stat().st_size > 0
    except OSError:
        return False


def _write_mo(po_path: Path, mo_path: Path) -> None:
    """Compile one catalog: written to a temporary name and renamed, so parallel workers do
    not clash; the temporary file is removed whatever happens."""
    with po_path.open("rb") as po_file:
        catalog = read_po(po_file, locale=po_path.parts[-3])
    mo_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=mo_path.parent, prefix=".", suffix=".mo.tmp")
    try:
        with os.fdopen(fd, "wb") as mo_file:
            write_mo(mo_file, catalog)
        os.replace(tmp_name, mo_path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)


def init_app(app: Flask) -> None:
    """Register the language converter, the URL processors and the root redirect."""
    app.url_map.converters["lang"] = LanguageConverter

    @app.url_value_preprocessor
    def pull_language(endpoint, values):
        """Take the language out of the URL values and keep it for this request."""
        if values and "lang" in values:
            g.lang = values.pop("lang")

    @app.url_defaults
    def add_language(endpoint, values):
        """Let ``url_for`` keep the current language unless told otherwise."""
        if "lang" in values or not g.get("lang"):
            return
        if app.url_map.is_endpoint_expecting(endpoint, "lang"):
            values["lang"] = g.lang

    app.register_blueprint(bp)
