"""A token sent the wrong way gets a message that says how to send it."""

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

HOW = "Authorization: Token <key>"


def _client(header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    return client


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_bearer_token_is_a_401_that_says_how_to_send_it(editor, method):
    key = Token.objects.create(user=editor).key
    for header in (f"Bearer {key}", f"bearer {key}", "Bearer"):
        response = getattr(_client(header), method)("/api/v1/projects/", {}, format="json")
        assert response.status_code == 401, header
        error = response.json()["errors"][0]
        assert error["code"] == "authentication_failed" and "Bearer" in error["detail"] and HOW in error["detail"]
        assert response["WWW-Authenticate"] == "Token"


def test_the_same_token_sent_as_token_works(editor):
    key = Token.objects.create(user=editor).key
    assert _client(f"Token {key}").post("/api/v1/projects/", {}, format="json").status_code == 400


def test_another_scheme_reads_as_anonymous_and_a_write_names_the_scheme(db):
    client = _client("Basic dXNlcjpwYXNz")  # a proxy's credentials pass through to reads
    assert client.get("/api/v1/fields/").status_code == 200
    response = client.post("/api/v1/projects/", {}, format="json")
    assert response.status_code == 401
    detail = response.json()["errors"][0]["detail"]
    assert "“Basic”" in detail and HOW in detail


def test_no_header_keeps_drfs_message(db):
    response = APIClient().post("/api/v1/projects/", {}, format="json")
    assert response.status_code == 401
    assert response.json()["errors"][0]["detail"] == "Authentication credentials were not provided."
