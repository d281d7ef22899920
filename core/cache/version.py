"""The data version: one number for the state of the tracker's data. Every write takes a
new one from the database when it commits and stores it in the shared cache, where
everything cached under the version (API answers, list counts) is read together with it.

The database hands each number out once and only ever higher (a sequence on PostgreSQL,
a one-row table on SQLite, made by the projects app's migration 0008), so no two states of
the data share a version. Each process remembers the highest version it has seen, from
the database before it first trusts the cache and again whenever it connects to Redis
anew; a lower version in the cache (Redis restored from a snapshot, or a lost key) is
replaced with a new number, which no stored entry carries. The README tells the whole
story ("No stale read after a write").

Writes that bypass model signals (QuerySet.update, bulk_create, raw SQL) must call
`data_changed()` themselves.
"""

import contextlib
import logging

from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, transaction
from django.db.models.signals import m2m_changed, post_delete, post_save

from core.cache import health as cachehealth
from core.db import Counter

logger = logging.getLogger(__name__)

VERSION_KEY = "tracker:data-version"
# The database's counter: a sequence on PostgreSQL, a table of one row on SQLite.
COUNTER = "core_data_version"
_counter = Counter(COUNTER)


def _database_number(*, above: int | None = None) -> int:
    """With `above`, a new number, greater than it and than every number handed out
    before; without, the last one handed out (0 if none)."""
    connection = connections[DEFAULT_DB_ALIAS]
    if above is None:
        return _counter.last(connection)
    return _counter.take(connection, above=above)


def committed_version() -> int:
    """The last data version the database handed out: every write that committed took a
    number at least this high, whatever the cache holds (one query; for answers that
    cannot be cached but need an ETag, such as streamed exports)."""
    return _database_number()


class VersionFloor:
    """The lowest data version this process may accept from the cache: the highest it has
    seen, and the database's latest after `recheck()` (first use, a new connection to
    Redis). Reading the cache costs no query; the database is asked again only then, and
    when the cache holds no version or a lower one."""

    def __init__(self):
        self.highest = 0
        self.confirmed = False

    def recheck(self) -> None:
        """Before the next version is trusted, ask the database for its latest."""
        self.confirmed = False

    def forget(self) -> None:
        """Know nothing, as a new process (tests)."""
        self.highest, self.confirmed = 0, False

    def checked(self, version: int | None) -> int:
        """The version to use, given the one the cache holds (None for none): that one, or
        a new one stored in its place if it is missing or lower than the floor."""
        if not self.confirmed:
            self._raise(_database_number())
            self.confirmed = True
        if version is not None and version >= self.highest:
            self.highest = version
            return version
        return self.publish()

    def take(self) -> int:
        """A new number from the database, above every version this process has seen."""
        number = _database_number(above=self.highest)
        self._raise(number)
        return number

    def publish(self) -> int:
        """A new number, stored in the cache as the current version."""
        number = self.take()
        cache.set(VERSION_KEY, number, timeout=None)
        return number

    def _raise(self, number):
        # Two threads may race here and keep the lower of two numbers: a floor a little
        # low costs nothing but a later detection.
        if number > self.highest:
            self.highest = number


floor = VersionFloor()


def bump_now() -> None:
    try:
        number = floor.take()
    except DatabaseError as exc:
        # Without a number, make the cache forget the version: the next reader takes one.
        logger.warning("No new data version from the database (%s); dropping the cached one", exc)
        try:
            cache.delete(VERSION_KEY)
        except Exception as cache_exc:
            cachehealth.failed("the data version", cache_exc)
        return
    try:
        cache.set(VERSION_KEY, number, timeout=None)
    except Exception as exc:
        # Unreachable: the database has the number, and a process reconnecting refuses the
        # older one Redis still holds. Refusing writes (out of memory): it may still delete.
        cachehealth.failed("the data version", exc)
        if not isinstance(exc, cachehealth.UNREACHABLE):
            with contextlib.suppress(Exception):
                cache.delete(VERSION_KEY)
    else:
        cachehealth.worked()


def data_changed(**kwargs) -> None:
    """Bump the data version once the current transaction (if any) commits: once per
    transaction, however many rows it writes."""
    using = kwargs.get("using")
    connection = transaction.get_connection(using)
    # A bump registered inside a savepoint that was rolled back is gone from this list.
    if connection.in_atomic_block and any(func is bump_now for _, func, _ in connection.run_on_commit):
        return
    transaction.on_commit(bump_now, using=using)


def _m2m_changed(action, **kwargs):
    if action.startswith("post_"):
        data_changed(**kwargs)


def watch(*models) -> None:
    """Bump the version on every save and delete of these models, and every change of
    their many-to-many links (pass the through models)."""
    for model in models:
        uid = f"tracker-data-version-{model._meta.label_lower}"
        post_save.connect(data_changed, sender=model, dispatch_uid=f"{uid}-save")
        post_delete.connect(data_changed, sender=model, dispatch_uid=f"{uid}-delete")
        m2m_changed.connect(_m2m_changed, sender=model, dispatch_uid=f"{uid}-m2m")
