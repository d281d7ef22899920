"""A draft parent is hidden from whoever may not see drafts, in every format the partners
API answers in (the CSV once named it while the JSON hid it)."""

import csv
import io

import pytest
from rest_framework.test import APIClient

from partners.models import Partner

pytestmark = pytest.mark.django_db


@pytest.fixture
def unit_of_a_draft(partner):
    parent = Partner.objects.create(
        name="Secret command", slug="secret-command", country="VN", region=Partner.Region.SOUTHEAST_ASIA,
        publication_state="draft",
    )  # fmt: skip
    partner.parent = parent
    partner.save()
    return partner


def _parents(client, fmt):
    response = client.get("/api/v1/partners/", {"format": fmt})
    assert response.status_code == 200
    if fmt == "json":
        return {p["slug"]: p["parent"] for p in response.json()["results"]}
    text = b"".join(response.streaming_content).decode()
    return {row["slug"]: row["parent"] for row in csv.DictReader(io.StringIO(text))}


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_an_anonymous_reader_sees_no_draft_parent(unit_of_a_draft, fmt):
    parents = _parents(APIClient(), fmt)
    assert "secret-command" not in parents
    assert parents["vietnam"] in (None, "")


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_staff_see_the_draft_parent(unit_of_a_draft, editor_client, fmt):
    parents = _parents(editor_client, fmt)
    assert parents["vietnam"] in ("secret-command", "http://testserver/api/v1/partners/secret-command/")
