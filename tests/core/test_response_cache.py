"""The response cache's keys come from Django's own helpers (learn_cache_key,
get_cache_key), so each answer's own Vary header decides what its entry varies on; and the
WSGI front learns of a new data version from Redis's push, through redis-py. Against the
real Redis, under the test's own key prefix."""

import json

import pytest
import redis
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from core.cache.front import ResponseCacheFront
from core.cache.version import VERSION_KEY
from tests.projects.test_fast_paths import _redis_cache, _wsgi_get
from tests.services import REDIS_URL

pytestmark = pytest.mark.django_db(transaction=True)  # real commits: writes bump the version

LIST = "/api/v1/projects/"


@pytest.fixture
def redis_cache(request, settings):
    """The response cache on, over the real Redis; yields a raw client and the key prefix."""
    settings.CACHES = _redis_cache(request)
    settings.API_RESPONSE_CACHE = True
    yield redis.Redis.from_url(REDIS_URL), settings.CACHES["default"]["KEY_PREFIX"]


def _entries(raw, prefix):
    """The response cache's entries in Redis (not the header lists beside them)."""
    return set(raw.scan_iter(f"{prefix}:*views.decorators.cache.cache_page.tracker-api.*"))


def _served_from_the_cache(client, **headers):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(LIST, **headers)
    assert response.status_code == 200
    return len(queries) == 0


@pytest.fixture
def front(redis_cache, project):
    """A cache front before Django, and the paths of the requests that reached Django."""
    from tracker.wsgi import django_application

    calls = []

    def django(environ, start_response):
        calls.append(environ["PATH_INFO"])
        return django_application(environ, start_response)

    front = ResponseCacheFront(django)
    yield front, calls
    watch = getattr(front.local, "watch", None)
    if watch is not None:
        watch.close()


class TestWhatAnEntryVariesOn:
    def test_the_answers_vary_header_names_what_the_middleware_keys_on(self, redis_cache, project):
        response = APIClient().get(LIST)
        vary = [h.strip() for h in response["Vary"].split(",")]
        assert vary == ["Accept", "Accept-Language", "Cookie", "Authorization"]

    def test_requests_differing_in_a_header_the_answer_varies_on_get_entries_of_their_own(self, redis_cache, project):
        raw, prefix = redis_cache
        client = APIClient()
        client.get(LIST)
        assert len(_entries(raw, prefix)) == 1
        assert _served_from_the_cache(client)
        # Vary: Accept. Both are answered with JSON, but Django keys on the header as sent.
        assert not _served_from_the_cache(client, HTTP_ACCEPT="application/json")
        assert len(_entries(raw, prefix)) == 2
        assert _served_from_the_cache(client, HTTP_ACCEPT="application/json")
        # Vary: Cookie (one that is neither the session's nor CSRF's).
        assert not _served_from_the_cache(client, HTTP_COOKIE="theme=dark")
        assert len(_entries(raw, prefix)) == 3

    def test_a_header_the_answer_does_not_vary_on_shares_the_entry(self, redis_cache, project):
        raw, prefix = redis_cache
        client = APIClient()
        client.get(LIST, HTTP_USER_AGENT="one")
        assert _served_from_the_cache(client, HTTP_USER_AGENT="another")
        assert len(_entries(raw, prefix)) == 1

    def test_the_language_is_keyed_on_as_chosen_not_as_asked_for(self, redis_cache, project):
        """The API is not translated (LocaleMiddleware answers it in the default language
        whatever is asked): Django's key ends with the language chosen, and its
        learn_cache_key leaves Accept-Language out as redundant with that."""
        raw, prefix = redis_cache
        client = APIClient()
        english = client.get(LIST, HTTP_ACCEPT_LANGUAGE="en")
        assert _served_from_the_cache(client, HTTP_ACCEPT_LANGUAGE="ja")
        japanese = client.get(LIST, HTTP_ACCEPT_LANGUAGE="ja", HTTP_COOKIE="django_language=ja")
        assert japanese.content == english.content and japanese["Content-Language"] == "en"
        assert {key.rsplit(b".", 2)[-2] for key in _entries(raw, prefix)} == {b"en"}

    def test_the_wsgi_front_finds_what_the_middleware_stored_under_the_same_key(self, front):
        front, calls = front
        assert front.location is not None
        APIClient().get(LIST, HTTP_ACCEPT="application/json")  # through Django alone
        # The test client sends an empty Cookie header, which Django keys apart from none.
        headers = {"HTTP_ACCEPT": "application/json", "HTTP_COOKIE": ""}
        status, _, body = _wsgi_get(front, LIST, **headers)
        assert status == "200 OK" and calls == []
        assert _wsgi_get(front, LIST, **{**headers, "HTTP_ACCEPT": "*/*"})[2] == body and calls == [LIST]


class TestThePushInvalidation:
    """The front answers from its process's copy without asking Redis, and a new version
    written by any other client reaches it as a RESP3 push, read through redis-py."""

    def test_another_clients_bump_drops_the_process_copy_at_the_next_request(self, redis_cache, front):
        raw, prefix = redis_cache
        front, calls = front
        first = _wsgi_get(front, LIST)
        for _ in range(3):
            assert _wsgi_get(front, LIST) == first
        assert len(calls) == 1
        watch = front.local.watch
        assert watch.entries and watch.version is not None

        raw.incr(f"{prefix}:1:{VERSION_KEY}")  # another server's write, straight to Redis
        assert _wsgi_get(front, LIST)[0] == "200 OK"
        assert len(calls) == 2  # the push arrived before the request, and sent it to Django
        assert _wsgi_get(front, LIST)[0] == "200 OK" and len(calls) == 2

    def test_the_process_copy_is_read_without_asking_redis(self, redis_cache, front):
        raw, prefix = redis_cache
        front, calls = front
        first = _wsgi_get(front, LIST)
        assert _wsgi_get(front, LIST) == first
        for key in _entries(raw, prefix):
            raw.delete(key)  # behind the front's back: its own copy still answers
        assert _wsgi_get(front, LIST) == first and len(calls) == 1

    def test_a_write_through_the_app_is_pushed_too(self, redis_cache, front, project):
        front, calls = front
        _wsgi_get(front, LIST)
        project.title = "Renamed"
        project.save()
        _, _, body = _wsgi_get(front, LIST)
        assert [p["title"] for p in json.loads(body)["results"]] == ["Renamed"] and len(calls) == 2

    def test_a_lost_version_key_drops_the_process_copy(self, redis_cache, front):
        raw, prefix = redis_cache
        front, calls = front
        _wsgi_get(front, LIST)
        raw.delete(f"{prefix}:1:{VERSION_KEY}")
        _wsgi_get(front, LIST)
        assert len(calls) == 2


class TestTheFrontsRememberedKeys:
    """The front makes Django's request and cache key once for each request signature (the
    request line, the server, every header) and version, then remembers the key: the
    same request again is a dictionary lookup. A request that differs in anything gets
    Django's key for itself, so it can only share an entry where Django's key is the same."""

    def test_the_same_request_again_is_answered_from_the_remembered_key(self, front):
        front, calls = front
        first = _wsgi_get(front, LIST, HTTP_ACCEPT="application/json")
        watch = front.local.watch
        assert len(watch.keys) == 0 and calls == [LIST]  # the miss: no key kept before the header list is known
        assert _wsgi_get(front, LIST, HTTP_ACCEPT="application/json") == first
        assert len(watch.keys) == 1 and calls == [LIST]
        assert _wsgi_get(front, LIST, HTTP_ACCEPT="application/json") == first and len(watch.keys) == 1

    def test_a_header_the_answer_varies_on_is_another_entry_and_one_it_does_not_shares_it(self, front):
        front, calls = front
        json_accept = {"HTTP_ACCEPT": "application/json"}
        _wsgi_get(front, LIST, **json_accept)
        _wsgi_get(front, LIST, **json_accept, HTTP_USER_AGENT="another client")  # Vary does not name it
        assert calls == [LIST]
        _wsgi_get(front, LIST, **json_accept, HTTP_COOKIE="theme=dark")  # Vary: Cookie
        assert calls == [LIST, LIST]
        _wsgi_get(front, LIST, HTTP_ACCEPT="*/*")  # Vary: Accept, the header as sent
        assert calls == [LIST, LIST, LIST]
        # Remembered: the user agent's, the cookie's and */*'s keys (the first request was the
        # miss that taught the URL's header list: no key before that).
        assert len(front.local.watch.keys) == 3

    def test_a_host_django_refuses_is_always_sent_to_django(self, front):
        front, calls = front
        for _ in range(2):
            status, _, _ = _wsgi_get(front, LIST, HTTP_ACCEPT="application/json", HTTP_HOST="evil.example")
            assert status.startswith("400")
        assert calls == [LIST, LIST] and not front.local.watch.keys

    def test_a_new_version_forgets_the_keys(self, redis_cache, front):
        raw, prefix = redis_cache
        front, calls = front
        for _ in range(2):
            _wsgi_get(front, LIST, HTTP_ACCEPT="application/json")
        assert front.local.watch.keys
        raw.incr(f"{prefix}:1:{VERSION_KEY}")
        _wsgi_get(front, LIST, HTTP_ACCEPT="application/json")
        assert len(calls) == 2  # the new version's answer came from Django
