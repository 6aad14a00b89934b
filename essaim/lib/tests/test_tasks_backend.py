"""django.tasks through Huey, on the real queue storage (SQLite file, or Redis with REDIS_URL)."""

from django.conf import settings
from django.tasks import task
from huey.contrib.djhuey import HUEY

CALLS: list[tuple[int, str]] = []


@task
def remember(number: int, word: str) -> int:
    CALLS.append((number, word))
    return number * 2


def test_enqueued_task_waits_in_the_queue_then_runs_in_the_worker(transactional_db):
    CALLS.clear()
    HUEY.immediate = False  # restores the configured storage (SqliteHuey or RedisHuey)
    try:
        HUEY.flush()
        result = remember.enqueue(21, word="vingt-et-un")
        assert CALLS == []
        assert HUEY.pending_count() == 1
        message = HUEY.dequeue()
        assert message is not None
        HUEY.execute(message)
        assert CALLS == [(21, "vingt-et-un")]
        result.refresh()
        assert (result.status, result.return_value) == ("SUCCESSFUL", 42)
        assert type(HUEY.storage).__name__ == (
            "RedisStorage" if settings.REDIS_URL else "SqliteStorage"
        )
    finally:
        HUEY.flush()
        HUEY.immediate = True


def test_tasks_run_inline_in_tests():
    CALLS.clear()
    remember.enqueue(1, word="un")
    assert CALLS == [(1, "un")]
