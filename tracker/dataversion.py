"""One number for the state of the tracker's data, kept in the shared cache: every write
to a tracker model bumps it, so anything cached under it (API responses, list counts) is
never served after the data it was built from changed.

The bump happens when the writing transaction commits, not before: a reader that read
the version before the commit and the data after it stores fresh data under the old
version (harmless), and no reader can store data older than the version it read. So
after a write has returned, no app server sharing the cache serves what it replaced.

Writes that bypass model signals (QuerySet.update, bulk_create, raw SQL) must call
`data_changed()` themselves. A lost version key (Redis restarted or evicted it) starts
again from the clock, never from a number an old entry could still carry.
"""

import logging
import time

from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save

logger = logging.getLogger(__name__)

VERSION_KEY = "tracker:data-version"


def data_version() -> int:
    """The current version; starts one (from the clock) if the cache has none."""
    version = cache.get(VERSION_KEY)
    if version is None:
        cache.add(VERSION_KEY, time.time_ns(), timeout=None)
        version = cache.get(VERSION_KEY)
    return version


def bump_now() -> None:
    try:
        cache.incr(VERSION_KEY)
    except ValueError:  # no version yet: any new one is newer than all entries
        cache.add(VERSION_KEY, time.time_ns(), timeout=None)
    except Exception:  # the cache is down: nothing can be served from it either
        logger.exception("could not bump the data version")


def data_changed(**kwargs) -> None:
    """Bump the data version once the current transaction (if any) commits."""
    transaction.on_commit(bump_now, using=kwargs.get("using"))


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
