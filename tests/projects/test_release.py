"""A new release starts from fresh cache entries and new streamed ETags: the data version
alone does not move when a deploy changes what answers say (core.release)."""

import pytest
from rest_framework.test import APIClient

from core import release as release_module
from core.cache import responses
from tests.projects.test_fast_paths import _queries, cached  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db


@pytest.fixture
def release(settings):
    """Set the release's name; each test starts and ends with the digest recomputed."""

    def set_release(name):
        settings.TRACKER_RELEASE = name
        release_module.release.cache_clear()

    yield set_release
    release_module.release.cache_clear()


def test_the_release_is_a_digest_of_the_code_that_changes_with_it(settings, tmp_path):
    release_module.release.cache_clear()
    settings.TRACKER_RELEASE = ""
    settings.BASE_DIR = tmp_path
    (tmp_path / "core").mkdir()
    view = tmp_path / "core" / "views.py"
    view.write_text("ANSWER = 1\n")
    first = release_module.release()
    assert first == release_module.release()  # once per process
    release_module.release.cache_clear()
    view.write_text("ANSWER = 2\n")
    assert release_module.release() != first
    release_module.release.cache_clear()


def test_the_cache_key_and_the_streamed_etag_name_the_release(release, rf):
    release("one")
    assert responses.key_prefix(7) == "tracker-api.one.7"
    request = rf.get("/api/v1/projects/?format=csv")
    before = responses.streamed_etag(request)
    release("two")
    assert responses.key_prefix(7) == "tracker-api.two.7"
    assert responses.streamed_etag(request) != before


@pytest.mark.usefixtures("cached")
def test_an_answer_cached_by_one_release_is_not_served_by_the_next(release, world):
    release("one")
    client = APIClient()
    client.get("/api/v1/projects/")
    assert _queries(client, "/api/v1/projects/")[1] == []  # from the cache
    release("two")  # a deploy: the same data version
    response, queries = _queries(client, "/api/v1/projects/")
    assert response.status_code == 200 and queries  # answered by this release's code
    csv = client.get("/api/v1/projects/?format=csv")
    assert client.get("/api/v1/projects/?format=csv", HTTP_IF_NONE_MATCH=csv["ETag"]).status_code == 304
    release("three")
    # The CSV's old tag named the release: the client now gets this release's bytes.
    assert client.get("/api/v1/projects/?format=csv", HTTP_IF_NONE_MATCH=csv["ETag"]).status_code == 200
