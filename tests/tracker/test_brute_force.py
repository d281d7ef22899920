"""Admin login brute force: an account/IP pair is locked out after a few failures, with a
clear message, while other users still log in."""

import pytest
from django.conf import settings
from django.test import Client

from tests.conftest import PASSWORD

# Once per CI run: the login lockout (django-axes) is the same on every engine.
pytestmark = [pytest.mark.django_db, pytest.mark.engines("once")]

LOGIN = "/admin/login/?next=/admin/"


def _attempt(client, username, password, ip="203.0.113.7"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip)


def test_it_locks_an_account_out_after_repeated_failures_with_a_clear_message(editor):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = _attempt(client, "ed", "wrong password")
        assert response.status_code == 200  # the login form again, with its error
    response = _attempt(client, "ed", "wrong password")
    assert response.status_code == 429
    assert "Too many failed login attempts" in response.content.decode()
    assert "Try again in 15 minutes" in response.content.decode()
    # Even the right password is refused during the cool-off.
    response = _attempt(client, "ed", PASSWORD)
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_other_users_still_log_in_while_one_account_is_locked(editor, viewer):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _attempt(Client(), "ed", "wrong password")
    client = Client()
    response = _attempt(client, "vera", PASSWORD)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(viewer.pk)


def test_the_same_account_from_another_address_is_not_locked(editor):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _attempt(Client(), "ed", "wrong password", ip="203.0.113.7")
    client = Client()
    response = _attempt(client, "ed", PASSWORD, ip="198.51.100.20")
    assert response.status_code == 302


def test_a_successful_login_resets_the_failure_count(editor):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _attempt(client, "ed", "wrong password")
    assert _attempt(client, "ed", PASSWORD).status_code == 302
    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _attempt(client, "ed", "wrong password").status_code == 200


def test_passwords_need_twelve_characters(django_user_model):
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="at least 12 characters"):
        validate_password("Sh0rt!pass")
    validate_password("a-much-longer-passphrase")


def _through_proxies(client, username, password, forwarded, proxy="127.0.0.1"):
    return client.post(
        LOGIN, {"username": username, "password": password}, REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=forwarded
    )


def test_behind_a_proxy_the_lockout_counts_the_clients_address_not_the_proxys(editor, settings):
    """Behind nginx every request comes from 127.0.0.1: the lockout must be per client, or
    five bad passwords from anyone lock the account for everyone."""
    settings.AXES_IPWARE_PROXY_COUNT = 1
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _through_proxies(Client(), "ed", "wrong password", "203.0.113.7")
    assert _through_proxies(Client(), "ed", PASSWORD, "203.0.113.7").status_code == 429
    assert _through_proxies(Client(), "ed", PASSWORD, "198.51.100.20").status_code == 302


def test_a_client_cannot_choose_its_address_by_sending_x_forwarded_for(editor, settings):
    settings.AXES_IPWARE_PROXY_COUNT = 1
    for _ in range(settings.AXES_FAILURE_LIMIT):
        # The client's own header comes first; the proxy appends what it saw.
        _through_proxies(Client(), "ed", "wrong password", "198.51.100.20, 203.0.113.7")
    assert _through_proxies(Client(), "ed", PASSWORD, "198.51.100.99, 203.0.113.7").status_code == 429


@pytest.mark.parametrize(
    "count,remote,forwarded,expected",
    [
        (0, "203.0.113.7", "198.51.100.1", "203.0.113.7"),  # no proxy: the header is the client's, ignored
        (1, "127.0.0.1", "203.0.113.7", "203.0.113.7"),
        (1, "127.0.0.1", "10.9.9.9, 203.0.113.7", "203.0.113.7"),
        (2, "10.0.0.2", "203.0.113.7, 10.0.0.1", "203.0.113.7"),
        (2, "10.0.0.2", "6.6.6.6, 203.0.113.7, 10.0.0.1", "203.0.113.7"),
        (2, "10.0.0.2", "10.0.0.1", "10.0.0.2"),  # too short: not through both proxies
        (1, "127.0.0.1", "", "127.0.0.1"),
    ],
)
def test_the_client_address_is_the_one_the_first_trusted_proxy_saw(settings, rf, count, remote, forwarded, expected):
    from core.security import client_ip_address

    settings.AXES_IPWARE_PROXY_COUNT = count
    request = rf.get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip_address(request) == expected


def test_healthz_answers_plain_http_for_a_load_balancers_check(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/healthz").status_code == 200
    assert client.get("/projects/").status_code == 301
