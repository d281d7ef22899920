"""core/security.py: the security headers on every response, whatever produced it."""

import pytest
from django.http import HttpResponse, HttpResponseServerError
from django.test import RequestFactory

from core.security import SecurityHeadersMiddleware, content_security_policy

# Once per CI run: security settings and headers.
pytestmark = pytest.mark.engines("once")


def _through_middleware(response):
    request = RequestFactory().get("/")
    result = SecurityHeadersMiddleware(lambda r: response)(request)
    return request, result


def test_a_server_error_response_gets_the_headers_too():
    request, response = _through_middleware(HttpResponseServerError("boom"))
    assert response.headers["Content-Security-Policy"] == content_security_policy(request.csp_nonce)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "geolocation=()" in response.headers["Permissions-Policy"]


def test_the_policy_allows_the_requests_nonce_and_nothing_inline():
    request, response = _through_middleware(HttpResponse("ok"))
    csp = response.headers["Content-Security-Policy"]
    assert f"'nonce-{request.csp_nonce}'" in csp
    assert "unsafe" not in csp
    assert len(request.csp_nonce) >= 22


def test_a_view_may_set_its_own_stricter_policy():
    own = HttpResponse("ok")
    own.headers["Content-Security-Policy"] = "default-src 'none'"
    _, response = _through_middleware(own)
    assert response.headers["Content-Security-Policy"] == "default-src 'none'"


def test_a_frame_exempt_response_is_still_denied_framing():
    # XFrameOptionsMiddleware skips views marked xframe_options_exempt; this one does not.
    response = HttpResponse("ok")
    response.xframe_options_exempt = True
    _, result = _through_middleware(response)
    assert result.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in result.headers["Content-Security-Policy"]
