"""The security headers through the whole stack, on every route the URL resolver knows
(public pages in both languages, every API endpoint, the admin as staff), over HTTPS as
production serves it: CSP without inline script or style unless it carries the
response's nonce, HSTS, nosniff, referrer and permissions policies, frame denial; and
the session and CSRF cookies marked Secure (and the session HttpOnly)."""

import re

import pytest
from django.core.cache import cache
from django.urls import reverse

from tests.conftest import PASSWORD
from tests.fuzz.site import api_routes, body, public_routes, urls_for

# Once per CI run: response headers.
pytestmark = [pytest.mark.django_db, pytest.mark.engines("once")]

ADMIN_VIEWS = ["changelist", "add", "change", "history", "import", "export"]


def _check(response, where):
    headers = response.headers
    csp = headers.get("Content-Security-Policy", "")
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";") if d.strip())
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp, where
    assert directives.get("default-src") == "'self'", where
    assert directives.get("frame-ancestors") == "'none'", where
    assert directives.get("object-src") == "'none'", where
    assert headers.get("X-Frame-Options") == "DENY", where
    assert headers.get("X-Content-Type-Options") == "nosniff", where
    assert headers.get("Referrer-Policy") == "same-origin", where
    assert "camera=()" in headers.get("Permissions-Policy", ""), where
    hsts = headers.get("Strict-Transport-Security", "")
    assert re.fullmatch(r"max-age=(\d+); includeSubDomains; preload", hsts), f"{where}: {hsts!r}"
    assert int(hsts.split("=")[1].split(";")[0]) >= 31536000, where
    if "html" in headers.get("Content-Type", ""):
        nonce = re.search(r"'nonce-([^']+)'", directives.get("script-src", "")).group(1)
        html = body(response)
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert "src=" in tag or f'nonce="{nonce}"' in tag, f"{where}: inline script without the nonce: {tag}"
        for tag in re.findall(r"<style\b[^>]*>", html):
            assert f'nonce="{nonce}"' in tag, f"{where}: inline style without the nonce: {tag}"
        assert not re.search(r"<[^>]+\son[a-z]+\s*=", html), f"{where}: an inline event handler"


def test_every_public_page_and_api_endpoint_carries_the_headers_over_https(client, project, draft_project):
    urls = [url for route in [*public_routes(), *api_routes()] for url in urls_for(route)]
    urls += ["/no-such-page/", "/ja/no-such-page/", "/api/v1/no-such-endpoint/", "/projects/secret-draft-plan/"]
    cache.clear()  # answered by the views, not from an earlier test's cached API answers
    for url in urls:
        _check(client.get(url, secure=True), url)
    assert len(urls) > 40


@pytest.mark.parametrize("view", ADMIN_VIEWS)
def test_every_admin_page_carries_the_headers_for_staff(editor_client, project, view):
    from django.contrib import admin

    from projects.models import ProgramEvent

    ProgramEvent.objects.create(program=project.program, title="Launched", kind="announcement", year=2012)
    for model in [m for m in admin.site._registry if m._meta.app_label in {"partners", "projects"}]:
        name = f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}"
        args = [model._default_manager.first().pk] if view in {"change", "history"} else []
        try:
            url = reverse(name, args=args)
        except Exception:  # import/export exist only where the admin offers them
            continue
        response = editor_client.get(url, secure=True)
        assert response.status_code == 200, url
        _check(response, url)


def test_the_admin_login_over_https_sets_only_secure_cookies(client, editor):
    page = client.get(reverse("admin:login"), secure=True)
    _check(page, "login page")
    assert page.cookies["csrftoken"]["secure"]
    response = client.post(
        reverse("admin:login"),
        {"username": editor.username, "password": PASSWORD, "next": "/admin/"},
        secure=True,
    )
    assert response.status_code == 302
    session = response.cookies["sessionid"]
    assert session["secure"] and session["httponly"]
    assert session["samesite"].lower() == "lax"
    _check(response, "login redirect")
