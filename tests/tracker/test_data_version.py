"""The data version never goes back in time, whatever Redis persists: its numbers come
from the database, and a version in Redis below what a process has seen, or below the
database's latest (for a new process, or after a reconnect), is replaced with a new one.
A restart from a snapshot is simulated exactly as the app sees it: every key of the
test's prefix put back as it was (DUMP/RESTORE with a raw client), connections cut."""

import json

import pytest
import redis
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from core.cache.front import ResponseCacheFront
from core.cache.version import COUNTER, VERSION_KEY, VersionFloor, _database_number, floor
from projects.models import Project
from tests.projects.test_fast_paths import _redis_cache, _wsgi_get
from tests.services import REDIS_URL

LIST = "/api/v1/projects/"
QUERY = "page_size=50"


@pytest.fixture
def redis_cache(request, settings):
    """The response and count caches on, over the real Redis under the test's own prefix;
    yields a raw client and the prefix."""
    settings.CACHES = _redis_cache(request)
    settings.API_RESPONSE_CACHE = True
    settings.API_COUNT_CACHE = True
    floor.forget()
    yield redis.Redis.from_url(REDIS_URL), settings.CACHES["default"]["KEY_PREFIX"]
    floor.forget()


def _version_key(prefix):
    return f"{prefix}:1:{VERSION_KEY}"


def _snapshot(raw, prefix):
    """What a persistence snapshot of the test's keys holds."""
    return {key: (raw.pttl(key), raw.dump(key)) for key in raw.scan_iter(f"{prefix}:*")}


def _restore(raw, prefix, snapshot):
    """Redis restarted from the snapshot: the keys made since are gone, the old ones back."""
    for key in raw.scan_iter(f"{prefix}:*"):
        raw.delete(key)
    for key, (ttl, data) in snapshot.items():
        raw.restore(key, max(ttl, 0), data, replace=True)


def _cut_connections(raw, prefix):
    """This process's connections to Redis broken, as by a restart (only the test's: the
    server is shared; _redis_cache names them after the test)."""
    cut = [c["id"] for c in raw.client_list() if c["name"] == prefix]
    assert cut
    for client_id in cut:
        raw.client_kill_filter(_id=client_id)


def _titles(body):
    data = json.loads(body)
    return data["count"], {p["slug"]: p["title"] for p in data["results"]}


def _read(client):
    response = client.get(LIST, {"page_size": 50})
    assert response.status_code == 200
    return _titles(response.content)


def _front(calls):
    from tracker.wsgi import django_application

    def django(environ, start_response):
        calls.append(environ["PATH_INFO"])
        return django_application(environ, start_response)

    return ResponseCacheFront(django)


def _front_read(front):
    status, _, body = _wsgi_get(front, LIST, QUERY)
    assert status == "200 OK"
    return _titles(body)


def _write_elsewhere(raw, prefix, project, title):
    """A write through another app server: the row changed (no signal here), a number
    taken from the database by that server's own floor, stored in Redis."""
    Project.objects.filter(pk=project.pk).update(title=title)
    raw.set(_version_key(prefix), VersionFloor().take())


def _write_here(project, program, title):
    """A write through this process: a changed title and a new project (count + 1)."""
    project.title = title
    project.save()
    Project.objects.create(slug="later", title="Later", program=program, start_year=2020, publication_state="published")


@pytest.mark.django_db(transaction=True)
class TestARestoredSnapshotIsNeverServed:
    def test_through_the_middleware(self, redis_cache, project, program):
        raw, prefix = redis_cache
        client = APIClient()
        assert _read(client) == (1, {"ha-dr-vietnam": "HA/DR for Vietnam"})
        with CaptureQueriesContext(connection) as queries:
            _read(client)
        assert len(queries) == 0  # a hit: the entry and its count are in Redis
        old, old_version = _snapshot(raw, prefix), int(raw.get(_version_key(prefix)))
        _write_here(project, program, "Renamed")
        assert _read(client) == (2, {"ha-dr-vietnam": "Renamed", "later": "Later"})

        _restore(raw, prefix, old)
        assert _read(client) == (2, {"ha-dr-vietnam": "Renamed", "later": "Later"})
        # A new number from the database replaced the restored one.
        assert int(raw.get(_version_key(prefix))) == _database_number() > old_version + 1

    def test_through_the_wsgi_front(self, redis_cache, project, program):
        raw, prefix = redis_cache
        calls = []
        front = _front(calls)
        assert front.location is not None  # the process keeps a copy and watches the version
        _front_read(front)
        assert _front_read(front) == (1, {"ha-dr-vietnam": "HA/DR for Vietnam"}) and len(calls) == 1
        old = _snapshot(raw, prefix)
        _write_here(project, program, "Renamed")
        assert _front_read(front) == (2, {"ha-dr-vietnam": "Renamed", "later": "Later"})

        _restore(raw, prefix, old)
        assert _front_read(front) == (2, {"ha-dr-vietnam": "Renamed", "later": "Later"})
        assert _front_read(front) == (2, {"ha-dr-vietnam": "Renamed", "later": "Later"})

    def test_by_a_new_process(self, redis_cache, project, program):
        raw, prefix = redis_cache
        _front_read(_front([]))
        old = _snapshot(raw, prefix)
        _write_here(project, program, "Renamed")
        _restore(raw, prefix, old)

        floor.forget()  # a process started after the restore: its floor comes from the database
        assert _front_read(_front([])) == (2, {"ha-dr-vietnam": "Renamed", "later": "Later"})
        _restore(raw, prefix, old)
        floor.forget()
        assert _read(APIClient()) == (2, {"ha-dr-vietnam": "Renamed", "later": "Later"})

    def test_by_a_process_that_never_saw_the_write(self, redis_cache, project):
        """Another server wrote; this one, idle meanwhile, only knows the old version. Redis
        restarts from a snapshot: its connections break, and a new connection has the
        version checked against the database before it is trusted."""
        raw, prefix = redis_cache
        calls = []
        front = _front(calls)
        _front_read(front)
        old = _snapshot(raw, prefix)
        _write_elsewhere(raw, prefix, project, "Renamed elsewhere")
        _restore(raw, prefix, old)
        _cut_connections(raw, prefix)

        assert _front_read(front)[1] == {"ha-dr-vietnam": "Renamed elsewhere"}
        assert _front_read(front)[1] == {"ha-dr-vietnam": "Renamed elsewhere"}
        assert len(calls) == 2  # the second read was the front's own hit again

    def test_by_a_process_that_never_saw_the_write_without_the_front(self, redis_cache, project):
        raw, prefix = redis_cache
        client = APIClient()
        _read(client)
        old = _snapshot(raw, prefix)
        _write_elsewhere(raw, prefix, project, "Renamed elsewhere")
        _restore(raw, prefix, old)
        _cut_connections(raw, prefix)
        assert _read(client)[1] == {"ha-dr-vietnam": "Renamed elsewhere"}


@pytest.mark.django_db(transaction=True)
class TestTheNumbers:
    def test_a_lost_key_takes_a_fresh_number_from_the_database(self, redis_cache, project):
        raw, prefix = redis_cache
        client = APIClient()
        _read(client)
        before = int(raw.get(_version_key(prefix)))
        raw.delete(_version_key(prefix))
        _read(client)
        after = int(raw.get(_version_key(prefix)))
        assert after > before and after == _database_number()

    def test_a_write_takes_one_number_however_many_rows_it_writes(self, redis_cache, project, program, partner):
        raw, prefix = redis_cache
        _read(APIClient())
        before = int(raw.get(_version_key(prefix)))
        with CaptureQueriesContext(connection) as queries, transaction.atomic():
            for i in range(3):
                created = Project.objects.create(
                    slug=f"p{i}", title=f"P {i}", program=program, publication_state="published"
                )
                created.partners.add(partner)
        taken = [q["sql"] for q in queries.captured_queries if COUNTER in q["sql"]]
        assert len(taken) == 1, taken
        assert int(raw.get(_version_key(prefix))) == _database_number() > before

    def test_a_write_after_a_rolled_back_savepoint_still_moves_the_version(self, redis_cache, project, program):
        raw, prefix = redis_cache
        client = APIClient()
        _read(client)
        before = int(raw.get(_version_key(prefix)))
        with transaction.atomic():
            with pytest.raises(RuntimeError), transaction.atomic():
                Project.objects.create(slug="undone", title="Undone", program=program, publication_state="published")
                raise RuntimeError("rolled back")
            project.title = "Kept"
            project.save()
        assert int(raw.get(_version_key(prefix))) > before
        assert _read(client) == (1, {"ha-dr-vietnam": "Kept"})

    def test_numbers_grow_past_a_flush_a_rollback_and_a_database_behind(self):
        first = VersionFloor().take()
        call_command("flush", interactive=False, verbosity=0)
        second = VersionFloor().take()
        assert second > first
        with pytest.raises(RuntimeError), transaction.atomic():
            undone = VersionFloor().take()
            raise RuntimeError("rolled back")
        # Another process, after that rollback, is never handed the same number.
        assert VersionFloor().take() > undone > second
        # A process that saw more than the database has (the database restored from a
        # backup) takes a number above what it saw, and the database follows.
        ahead = VersionFloor()
        seen = ahead.highest = _database_number() + 1_000_000
        number = ahead.take()
        assert number > seen and _database_number() == number


def test_a_version_watch_with_a_floor_refuses_an_older_version_after_reconnecting(redis_cache, db):
    from core.cache.front import VersionWatch

    raw, prefix = redis_cache
    key = _version_key(prefix)
    raw.set(key, VersionFloor().take())
    newer = VersionFloor().take()
    raw.set(key, newer)
    watch = VersionWatch(REDIS_URL, key, floor=floor)
    try:
        assert watch.current_version() == newer
        raw.set(key, newer - 1)  # Redis restarted from an older snapshot: the connection breaks
        assert raw.client_kill_filter(_id=watch.client_id) == 1
        with pytest.raises(redis.ConnectionError):
            watch.current_version()
        version = watch.current_version()
        assert version > newer and int(raw.get(key)) == version
    finally:
        watch.close()
