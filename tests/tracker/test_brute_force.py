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
