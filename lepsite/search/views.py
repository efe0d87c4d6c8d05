"""The search page."""

from flask import Blueprint, g, make_response, render_template, request

from ..public.caching import etag_for, public_and_conditional
from . import queries

bp = Blueprint("search", __name__, url_prefix="/<lang:lang>")


@bp.route("/search")
def search():
    """Results for ``q`` in the page's language; without ``q``, how to search.

    Marked ``noindex, follow``: a results page only repeats bits of pages that are indexed
    themselves, and every possible query would make another such page, while the links on it
    lead to real pages a crawler may follow. Public and cacheable like the other pages, since
    it depends only on its URL and the content; not kept in the page cache, where endless
    different queries would push the real pages out.
    """
    query = queries.query_text(request.args.get("q", ""))
    hits = queries.search(g.lang, query)
    body = render_template(
        "public/search.html",
        search_query=query,
        hits=hits,
        suggestions=queries.suggested_pages(g.lang) if query and not hits else [],
        # No canonical or alternate links: each language's results are another search.
        has_language_url=False,
    )
    response = make_response(body)
    return public_and_conditional(response, etag_for(response.get_data()))
