"""The machine's services as the tests use them: each pytest-xdist worker gets a Redis
database of its own (6 for the first worker, 7 for the second, ...; the benchmark keeps
5), and every test also keys its entries under a prefix of its own."""

import os

from tests.conftest import worker_number


def _worker_redis_db() -> int:
    return 6 + worker_number() % 10


REDIS_URL = os.environ.get("TEST_REDIS_URL") or f"redis://127.0.0.1:6379/{_worker_redis_db()}"
