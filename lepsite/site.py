"""Language-free URLs: health check, sitemap and robots.txt."""

from flask import Blueprint, current_app, redirect, render_template, url_for

from . import health
from .i18n import LANGUAGES
from .urls import external_url

bp = Blueprint("site", __name__)

# Content paths whose URL is a section view rather than the page view.
_SECTION_ENDPOINTS = {
    "index": ("public.home", {}),
    "news/index": ("public.news_index", {}),
    "partnerships/index": ("public.partnerships", {}),
}


def page_url(path: str, lang: str, external: bool = False) -> str:
    """The URL of a content path (``about``, ``news/x``, ``index``) in a language.

    ``external``: the absolute link, on the site's public address.
    """
    if path in _SECTION_ENDPOINTS:
        endpoint, values = _SECTION_ENDPOINTS[path]
    elif path.startswith("news/"):
        endpoint, values = "public.news_item", {"slug": path[5:]}
    elif path.startswith("partnerships/"):
        endpoint, values = "public.partnership", {"key": path[13:]}
    else:
        endpoint, values = "public.page", {"slug": path}
    if external:
        return external_url(endpoint, lang=lang, **values)
    return url_for(endpoint, lang=lang, **values)


@bp.route("/healthz")
def healthz():
    """200 ``ok`` when the app can serve and store (database and instance folder writable);
    503 within two seconds otherwise, for load balancers and monitoring."""
    found = health.problems()
    headers = {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"}
    if found:
        current_app.logger.warning("Health check failed: %s", "; ".join(found))
        return "\n".join(found) + "\n", 503, headers
    return "ok", 200, headers


@bp.route("/favicon.ico")
def favicon():
    """Browsers and feed readers ask for this address whatever the page says."""
    return redirect(url_for("static", filename="img/favicon.svg"), code=301)


@bp.route("/robots.txt")
def robots():
    """Let crawlers in everywhere but the admin, and point them at the sitemap."""
    sitemap = external_url("site.sitemap")
    body = f"User-agent: *\nDisallow: /admin/\nSitemap: {sitemap}\n"
    return body, 200, {"Content-Type": "text/plain; charset=utf-8"}


@bp.route("/sitemap.xml")
def sitemap():
    """Every page in every language, each with its alternates."""
    store = current_app.extensions["lepsite.content"]
    entries = []
    for path in store.paths():
        alternates = {lang: page_url(path, lang, external=True) for lang in LANGUAGES}
        for lang in LANGUAGES:
            entries.append({"loc": alternates[lang], "alternates": alternates})
    body = render_template("sitemap.xml", entries=entries, x_default_lang="en")
    return body, 200, {"Content-Type": "application/xml; charset=utf-8"}
