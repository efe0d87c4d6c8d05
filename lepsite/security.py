"""Security headers on every response."""

from flask import Flask, abort, request

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def keep_private(response):
    """Pages with personal data or tokens: never cached, never indexed, never a Referer.

    A status page's address is its applicant's key: with no Referer, a click from it to
    another page (ours or not) does not carry the key into anyone's access log.
    """
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def refuse_cross_site_posts():
    """A form sent from another site is refused, whatever its token (Fetch Metadata)."""
    if request.method == "POST" and request.headers.get("Sec-Fetch-Site") == "cross-site":
        abort(400)


def init_app(app: Flask) -> None:
    """Check where forms come from; add the headers after each request."""
    app.before_request(refuse_cross_site_posts)

    @app.after_request
    def add_security_headers(response):
        """Strict defaults; HSTS only where the request came over HTTPS."""
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if request.is_secure:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return response
