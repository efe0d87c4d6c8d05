"""What every template needs: languages, alternates, menus, date formatting."""

from flask import Flask, current_app, g, has_request_context, request, url_for
from flask_babel import format_date, format_datetime, format_number

from .i18n import LANGUAGES, current_language
from .review_clock import fill_placeholders
from .site import page_url
from .urls import absolute, external_url


def _same_page_in(lang: str) -> str:
    """This page's URL in another language (home where the page has no language)."""
    if request.endpoint and request.url_rule and "lang" in request.url_rule.arguments:
        # A search keeps its words in the other language too.
        query = request.args.get("q", "") if request.endpoint == "search.search" else ""
        extra = {"q": query} if query else {}
        return url_for(request.endpoint, lang=lang, **(request.view_args or {}), **extra)
    return url_for("public.home", lang=lang)


def _switcher_links() -> list[dict]:
    """One entry per language: its name in itself and the link that remembers the choice."""
    if not has_request_context():  # mail rendered by a command (cron) has no page to switch
        return []
    here = current_language()
    # A page whose address is a secret (a status link) links straight to its other languages:
    # through /<lang>/language?next=… the secret would sit in a query string in access logs.
    secret_address = "token" in (request.view_args or {})
    links = []
    for code, name in LANGUAGES.items():
        target = _same_page_in(code)
        links.append(
            {
                "code": code,
                "name": name,
                "href": target,
                "absolute": absolute(target),
                "choose_href": target
                if secret_address
                else url_for("i18n.choose", lang=code, next=target),
                "current": code == here,
            }
        )
    return links


def _common_context() -> dict:
    lang = current_language()
    store = current_app.extensions["lepsite.content"]
    has_language_url = bool(g.get("lang"))
    return {
        "lang": lang,
        "languages": LANGUAGES,
        "language_links": _switcher_links(),
        "has_language_url": has_language_url,
        "main_menu": store.menu(lang, "main"),
        "footer_menu": store.menu(lang, "footer"),
        "page_url": page_url,
        "is_stale": store.is_stale,
        "site_name": current_app.config["SITE_NAME"],
    }


def _format_date(value, style: str = "long") -> str:
    """A date in the reader's language (``22. novembra 2026.``, ``22 листопада 2026 р.``)."""
    return format_date(value, style) if value else ""


def init_app(app: Flask) -> None:
    """Register the context processor and filters."""
    app.context_processor(_common_context)
    app.jinja_env.globals["external_url"] = external_url
    app.jinja_env.filters["date"] = _format_date
    app.jinja_env.filters["datetime"] = lambda value: format_datetime(value, "medium")
    app.jinja_env.filters["number"] = format_number
    app.jinja_env.filters["fill_placeholders"] = fill_placeholders
