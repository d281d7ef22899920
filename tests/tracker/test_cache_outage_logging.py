"""A cache outage is logged twice in each process, when it starts and when it ends, and
never with a traceback per request, whichever part of the tracker meets it: the response
cache, the counts, the WSGI front, the data version, the throttles, /healthz."""

import logging

import pytest
from redis.exceptions import ResponseError
from rest_framework.test import APIClient

from core.cache import health as cachehealth
from core.cache import responses as apicache
from core.cache.front import ResponseCacheFront
from projects.models import Project
from tests.projects.test_fast_paths import _redis_cache, _wsgi_get

# Imported here, not in a test: its django.setup() configures logging afresh, which would
# remove the handler caplog captures with.
from tracker.wsgi import django_application

# A real Redis client, pointed at a port where nothing listens.
UNREACHABLE = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:9/0"}
}


@pytest.fixture
def caches_on(settings, caplog):
    settings.API_RESPONSE_CACHE = True
    settings.API_COUNT_CACHE = True
    # The process's view of the cache as at start: reachable, no error logged yet.
    cachehealth.health.down_since = None
    cachehealth.health.errors_logged.clear()
    caplog.set_level(logging.INFO)
    yield
    cachehealth.health.down_since = None
    cachehealth.health.errors_logged.clear()


def _requests(editor, n=10):
    """Every kind of request that uses the cache, n times over."""
    anonymous, signed_in = APIClient(), APIClient()
    signed_in.force_authenticate(editor)
    front = ResponseCacheFront(django_application)
    project = Project.objects.get(slug="ha-dr-vietnam")
    for i in range(n):
        assert anonymous.get("/api/v1/projects/", {"page": 1}).status_code == 200  # response cache, count, throttle
        assert signed_in.get("/api/v1/partners/").status_code == 200  # the user throttle
        assert _wsgi_get(front, "/api/v1/projects/")[0] == "200 OK"  # the WSGI front
        project.title = f"Renamed {i}"
        project.save()  # the data version, when it commits
        anonymous.get("/healthz")


def _tracker_records(caplog):
    return [r for r in caplog.records if r.name.startswith("core") and r.levelno >= logging.WARNING]


def _messages(caplog):
    return [r.getMessage() for r in _tracker_records(caplog)]


@pytest.mark.django_db(transaction=True)  # real commits: writes bump the version
def test_an_outage_is_logged_when_it_starts_and_when_it_ends(
    request, caches_on, settings, caplog, monkeypatch, project, editor
):
    failures = []

    def failed(what, exc):
        failures.append(what)
        cachehealth.health.failed(what, exc)

    monkeypatch.setattr(cachehealth, "failed", failed)
    settings.CACHES = UNREACHABLE
    _requests(editor)
    assert set(failures) == {
        "the API response cache",
        "the count cache",
        "the API response cache (WSGI front)",
        "the data version",
        "throttling",
        "the health check",
    }
    messages = _messages(caplog)
    assert len(messages) == 1, messages
    assert messages[0].startswith("The cache is unreachable") and "Connection refused" in messages[0]
    assert not any(r.exc_info for r in caplog.records)  # not one traceback, from any logger

    caplog.clear()
    settings.CACHES = _redis_cache(request)
    _requests(editor)
    messages = _messages(caplog)
    assert len(messages) == 1, messages
    assert messages[0].startswith("The cache is reachable again")

    caplog.clear()
    settings.CACHES = UNREACHABLE
    _requests(editor, 3)
    assert [m.split(" (")[0] for m in _messages(caplog)] == ["The cache is unreachable"]


@pytest.mark.django_db
def test_an_error_the_cache_answers_with_is_logged_with_its_traceback_once_in_a_while(
    caches_on, monkeypatch, caplog, project
):
    """The cache is reachable but refuses (out of memory, read-only): not an outage."""

    def refuse(keys):
        raise ResponseError("OOM command not allowed when used memory > 'maxmemory'.")

    monkeypatch.setattr(apicache, "_get_many", refuse)
    client = APIClient()
    for _ in range(20):
        assert client.get("/api/v1/projects/").status_code == 200
    records = _tracker_records(caplog)
    assert [r.getMessage().split(":")[0] for r in records] == [
        "Cache error in the API response cache",
        "Cache error in the count cache",
    ]
    assert all(r.exc_info and r.exc_info[0] is ResponseError for r in records)
    assert cachehealth.health.down_since is None
