"""Rate limits on the real cache: the database cache on SQLite, Redis when REDIS_URL is set."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection

from essaim.lib.ratelimit import Decision, Rate, hit, parse_rate, reset

NOON = 1_750_000_000.0 - (1_750_000_000 % 3600)  # the start of an hour


@pytest.fixture(autouse=True)
def empty_cache(db: Any) -> None:
    cache.clear()


@pytest.mark.parametrize(
    ("text", "rate"),
    [
        ("5/h", Rate(5, 3600)),
        ("1/s", Rate(1, 1)),
        ("30/m", Rate(30, 60)),
        ("100/d", Rate(100, 86400)),
        (" 10 / 15m ", Rate(10, 900)),
    ],
)
def test_rates_are_read_as_hits_per_period(text, rate):
    assert parse_rate(text) == rate


@pytest.mark.parametrize("text", ["", "5", "5/x", "0/h", "-1/h", "5/0h", "h/5", "5/hour"])
def test_malformed_rates_are_refused(text):
    with pytest.raises(ValueError):
        parse_rate(text)


def test_the_limit_allows_n_hits_then_refuses_until_the_window_ends():
    decisions = [hit("signup-ip", "198.51.100.7", "3/h", now=NOON + 600) for _ in range(5)]
    assert decisions == [
        Decision(allowed=True, remaining=2, retry_after=0),
        Decision(allowed=True, remaining=1, retry_after=0),
        Decision(allowed=True, remaining=0, retry_after=0),
        Decision(allowed=False, remaining=0, retry_after=3000),
        Decision(allowed=False, remaining=0, retry_after=3000),
    ]


def test_the_next_window_starts_afresh():
    for _ in range(2):
        hit("signup-ip", "198.51.100.7", "2/h", now=NOON + 10)
    assert not hit("signup-ip", "198.51.100.7", "2/h", now=NOON + 3599).allowed
    assert hit("signup-ip", "198.51.100.7", "2/h", now=NOON + 3600).allowed


def test_identities_and_scopes_are_counted_apart():
    assert hit("signup-ip", "198.51.100.7", "1/h", now=NOON).allowed
    assert not hit("signup-ip", "198.51.100.7", "1/h", now=NOON).allowed
    assert hit("signup-ip", "198.51.100.8", "1/h", now=NOON).allowed
    assert hit("signup-email", "198.51.100.7", "1/h", now=NOON).allowed


def test_the_cache_keeps_no_clear_identity():
    hit("signup-email", "marie@exemple.fr", "5/h", now=NOON)
    keys = _stored_keys()
    assert len(keys) == 2  # slot 0 and the hint
    assert not any("marie" in key for key in keys)


def test_reset_forgets_the_current_window():
    for _ in range(2):
        hit("signup-ip", "198.51.100.7", "2/h", now=NOON)
    reset("signup-ip", "198.51.100.7", "2/h", now=NOON)
    assert hit("signup-ip", "198.51.100.7", "2/h", now=NOON).remaining == 1


@pytest.mark.parametrize("backend", ["configured", "database"])
@pytest.mark.django_db(transaction=True)
def test_concurrent_hits_never_pass_more_than_the_limit(backend, settings):
    if connection.vendor == "sqlite" and connection.is_in_memory_db():  # type: ignore[attr-defined]
        # The in-memory test database locks whole tables without waiting (SQLITE_LOCKED), unlike
        # the WAL file with a busy timeout that Essaim runs on; PostgreSQL runs this test.
        pytest.skip("needs a database that lets threads wait for each other's writes")
    if backend == "database":
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.db.DatabaseCache",
                "LOCATION": "essaim_ratelimit_test_cache",
            }
        }
        call_command("createcachetable", verbosity=0)
        cache.clear()
    allowed: list[bool] = []
    lock = threading.Lock()
    start = threading.Barrier(6)

    def client() -> None:
        try:
            start.wait()
            for _ in range(5):
                result = hit("signup-ip", "203.0.113.9", "12/h", now=NOON)
                with lock:
                    allowed.append(result.allowed)
        finally:
            connection.close()

    threads = [threading.Thread(target=client) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert (len(allowed), allowed.count(True)) == (30, 12)


def _stored_keys() -> list[str]:
    if settings.REDIS_URL:
        client = cache._cache.get_client()  # type: ignore[attr-defined]
        return [key.decode() for key in client.keys("*ratelimit*")]
    with connection.cursor() as cursor:
        cursor.execute("SELECT cache_key FROM essaim_cache")
        return [row[0] for row in cursor.fetchall()]
