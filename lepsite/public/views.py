"""Views of the public site; every URL starts with the language."""

import math

from flask import Blueprint, abort, current_app, g, render_template, request

from . import queries
from .caching import cached_page, revalidated_page
from .labels import COUNTRY_NAMES, STATUS_LABELS

bp = Blueprint("public", __name__, url_prefix="/<lang:lang>")

HOME_NEWS_COUNT = 3


@bp.app_context_processor
def partnership_labels():
    """Translated names for partnership statuses and countries, for every template."""
    return {"status_labels": STATUS_LABELS, "country_names": COUNTRY_NAMES}


def _page_number() -> int:
    """The ``page`` query value; anything but a positive whole number is a 404."""
    raw = request.args.get("page", "1")
    if not raw.isdigit() or int(raw) < 1:
        abort(404)
    return int(raw)


@bp.route("/")
@cached_page
def home():
    """Home page: the introduction, the latest news and the call to apply."""
    page = queries.get_page_or_404(g.lang, "index")
    latest = queries.news(g.lang)[:HOME_NEWS_COUNT]
    return render_template("public/home.html", page=page, latest_news=latest)


@bp.route("/<slug>")
@cached_page
def page(slug: str):
    """A content page such as ``about`` or ``privacy``."""
    if slug == "index":
        abort(404)
    page = queries.get_page_or_404(g.lang, slug)
    return render_template("public/page.html", page=page)


@bp.route("/news/")
@cached_page
def news_index():
    """The news list, newest first, a page at a time."""
    intro = queries.get_page_or_404(g.lang, "news/index")
    items = queries.news(g.lang)
    per_page = current_app.config["NEWS_PER_PAGE"]
    page_count = max(1, math.ceil(len(items) / per_page))
    number = _page_number()
    if number > page_count:
        abort(404)
    shown = items[(number - 1) * per_page : number * per_page]
    return render_template(
        "public/news_index.html",
        page=intro,
        items=shown,
        page_number=number,
        page_count=page_count,
    )


@bp.route("/news/<slug>")
@cached_page
def news_item(slug: str):
    """One news item."""
    if slug == "index":
        abort(404)
    page = queries.get_page_or_404(g.lang, f"news/{slug}")
    return render_template("public/news_item.html", page=page)


@bp.route("/news/feed.xml")
@cached_page
def news_feed():
    """The Atom feed of the news in this language."""
    intro = queries.get_page_or_404(g.lang, "news/index")
    items = queries.news(g.lang)
    body = render_template("public/feed.xml", intro=intro, items=items)
    return body, 200, {"Content-Type": "application/atom+xml; charset=utf-8"}


@bp.route("/partnerships/")
@cached_page
def partnerships():
    """The directory of partnerships, grouped by country."""
    intro = queries.get_page_or_404(g.lang, "partnerships/index")
    return render_template(
        "public/partnerships.html",
        page=intro,
        groups=queries.partnerships_by_country(g.lang),
    )


@bp.route("/partnerships/<key>")
@revalidated_page
def partnership(key: str):
    """One partnership's page."""
    if key == "index":
        abort(404)
    page = queries.get_page_or_404(g.lang, f"partnerships/{key}")
    members = queries.listed_members(page.meta["key"])
    return render_template("public/partnership.html", page=page, members=members)
