"""The site's public address: the one source of absolute links.

Mail, the sitemap, robots.txt, the feed, canonical and hreflang links and redirects are all
built from ``BASE_URL``, never from the ``Host`` a client sent: otherwise a forged header would
put an attacker's address into a coordinator's notification or an applicant's status link.
With ``BASE_URL`` set, a request for any other host is refused with a 400. Without it (debug
and testing only, see ``config.ensure_base_url``) links point to the development server's
address, whatever host a request names.
"""

from urllib.parse import urlsplit, urlunsplit

from flask import Flask, abort, current_app, has_request_context, request, url_for
from werkzeug.routing import IntegerConverter
from werkzeug.sansio.utils import host_is_trusted

# Where ``flask run`` listens by default: links made by the CLI in development point there.
DEVELOPMENT_BASE_URL = "http://127.0.0.1:5000"


class BoundedIntegerConverter(IntegerConverter):
    """``<int:…>`` that fits the database's integer column: a larger number is a 404 at
    routing, not an overflow in PostgreSQL or SQLite (a 500)."""

    def __init__(self, map, fixed_digits=0, min=None, max=2**31 - 1, signed=False):  # noqa: A002
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def base_url() -> str:
    """The site's address without a trailing slash (``https://lep.example.org``)."""
    return current_app.config.get("BASE_URL") or DEVELOPMENT_BASE_URL


def absolute(path: str) -> str:
    """An absolute link to a path of this site (``/en/about``), as built by ``url_for``."""
    return base_url() + path


def external_url(endpoint: str, **values) -> str:
    """``url_for`` as an absolute link on the site's address, in a request or in the CLI."""
    if has_request_context() or current_app.config["SERVER_NAME"]:
        return absolute(url_for(endpoint, _external=False, **values))
    # The CLI in development, with no address configured: Flask has no URL adapter here,
    # but a path needs no host.
    current_app.inject_url_defaults(endpoint, values)
    return absolute(current_app.url_map.bind("").build(endpoint, values))


def init_app(app: Flask) -> None:
    """Refuse requests for other hosts and keep redirects on the site's address.

    Only called when ``BASE_URL`` is set. Flask's own ``TRUSTED_HOSTS`` would refuse them too,
    but before a URL adapter exists, so the translated 400 page could not be rendered.
    """
    parts = urlsplit(app.config["BASE_URL"])
    hostname = parts.hostname

    def refuse_other_hosts():
        """A ``Host`` (or trusted ``X-Forwarded-Host``) naming another site gets a 400.

        The health check too, as INTERFACES.md says: a load balancer probing by address sends
        the site's name (``Host: lep.example.org``) as nginx does.
        """
        if not host_is_trusted(request.host.lower(), [hostname]):
            app.logger.warning("Refused a request for host %r (not in BASE_URL)", request.host)
            abort(400)

    # The first before_request hook, ahead of rate limits, sessions and CSRF, so a forged
    # request gets no further; the URL's language is known by then, for the error page.
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_other_hosts)

    @app.after_request
    def redirect_to_base_url(response):
        """Routing's slash redirects name our host but the request's scheme: use ours."""
        location = response.headers.get("Location")
        if location:
            target = urlsplit(location)
            if target.netloc == parts.netloc and target.scheme != parts.scheme:
                response.headers["Location"] = urlunsplit(target._replace(scheme=parts.scheme))
        return response
