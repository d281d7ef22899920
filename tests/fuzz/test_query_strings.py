"""Hostile query strings on every public page and every API list endpoint (found from the
URL resolver, so pages added later are fuzzed too): each answers with a 4xx or a clean
page, never a server error, and a GET changes nothing in the database."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.client import fuzz_request
from tests.fuzz.site import api_routes, public_routes, urls_for
from tests.fuzz.snapshot import changed_tables, db_snapshot
from tests.fuzz.strategies import filter_parameters, fuzz_settings, query_strings

# Once per CI run: hostile query strings are refused before any SQL; the filters' SQL is tested on both engines.
pytestmark = [pytest.mark.django_db, pytest.mark.engines("once")]

PUBLIC = public_routes()
# The API's list endpoints and reports: every route without a record in its path.
API_LISTS = [r for r in api_routes() if not set(r.params) - {"format"}]
PARAMETERS = filter_parameters()
SLUGS = ["ha-dr-vietnam", "secret-draft-plan", "vietnam", "ha-dr", "capacity-building", "test-source"]


def _fuzz(client, target, urls, examples, only_known=False):
    before = db_snapshot()

    @fuzz_settings(examples)
    @given(url=st.sampled_from(urls), query=query_strings(PARAMETERS, SLUGS, only_known=only_known))
    def case(url, query):
        response = fuzz_request(client, target, "GET", url, query)
        assert response.status_code < 500

    case()
    assert changed_tables(before, db_snapshot()) == [], "a GET changed the database"


@pytest.mark.parametrize("route", PUBLIC, ids=[r.name for r in PUBLIC])
def test_public_pages_answer_hostile_query_strings_without_a_server_error(client, fuzz_world, route):
    urls = urls_for(route)
    assert urls, f"no URL could be made for {route.name} ({route.path})"
    _fuzz(client, f"public {route.name}", urls, 40)


@pytest.mark.parametrize("route", API_LISTS, ids=[f"{r.name}{'.fmt' if r.params else ''}" for r in API_LISTS])
def test_api_lists_answer_hostile_query_strings_without_a_server_error(client, fuzz_world, route):
    urls = urls_for(route)
    assert urls, f"no URL could be made for {route.name} ({route.path})"
    _fuzz(client, f"api {route.name}", urls, 25)
    # The API refuses unknown parameters outright: hostile values of the filters alone
    # reach the filters themselves.
    _fuzz(client, f"api {route.name}", urls, 20, only_known=True)


def test_the_fuzzed_routes_are_the_whole_site():
    # The control: the resolver walk found the public pages and the API endpoints.
    names = {r.name for r in PUBLIC} | {r.name for r in API_LISTS}
    assert {"projects:project-list", "projects:project-detail", "partners:partner-list", "sitemap"} <= names
    assert {"projects-api:project-list", "projects-api:report-counts", "partners-api:partner-list"} <= names
