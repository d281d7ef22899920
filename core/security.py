"""Security headers on every response: the public site, the API, the admin and the docs.

The Content-Security-Policy allows scripts and styles from this site only, plus
whatever carries the request's nonce (`request.csp_nonce`, a fresh random value per
request, for a template that truly needs an inline block). There is no 'unsafe-inline'
and no 'unsafe-eval', so injected markup cannot run script. Frames are denied twice:
`frame-ancestors 'none'` for browsers that read CSP, `X-Frame-Options: DENY` for older
ones.
"""

import secrets

# Features the tracker never uses; a page (or anything injected into it) may not ask for them.
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "payment",
        "usb",
        "browsing-topics",
    )
)


def content_security_policy(nonce: str | None) -> str:
    """The policy; with a nonce for HTML, without one for what is never a document
    (JSON, CSV, XML), so those responses' headers are the same for every request and
    the API's response cache can replay them."""
    allowed = f"'self' 'nonce-{nonce}'" if nonce else "'self'"
    directives = {
        "default-src": "'self'",
        "script-src": allowed,
        "style-src": allowed,
        # data: for the small inline images the admin and Swagger UI ship in their CSS.
        "img-src": "'self' data:",
        "font-src": "'self'",
        "connect-src": "'self'",
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


class SecurityHeadersMiddleware:
    """Adds the headers to every response, including error pages and responses of other
    middleware (it sits first in MIDDLEWARE). A view may set a stricter header of its
    own; it is not overwritten."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.csp_nonce = secrets.token_urlsafe(18)
        response = self.get_response(request)
        nonce = request.csp_nonce if "html" in response.get("Content-Type", "html") else None
        response.headers.setdefault("Content-Security-Policy", content_security_policy(nonce))
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        return response


def client_ip_address(request):
    """The client's address for the login lockout (django-axes): REMOTE_ADDR when the app
    faces clients itself; behind AXES_IPWARE_PROXY_COUNT proxies, the address the first
    of them saw, the N-th from the right of X-Forwarded-For. The addresses further left
    came from the client and prove nothing; a header shorter than the proxies would have
    made it means the request did not come through them: REMOTE_ADDR then."""
    from django.conf import settings

    count = settings.AXES_IPWARE_PROXY_COUNT
    remote = request.META.get("REMOTE_ADDR")
    if count <= 0:
        return remote
    forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if a.strip()]
    if len(forwarded) < count:
        return remote
    return forwarded[-count]
