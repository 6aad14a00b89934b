"""A django.tasks backend that hands tasks to Huey.

App code declares `@task` functions and calls `.enqueue()`; this backend turns each call into
one Huey message naming the task's import path, so the worker (`essaim run_huey`) can import and
run it. Huey gives us SQLite storage by default and Redis when REDIS_URL is set.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from django.tasks.backends.base import BaseTaskBackend
from django.tasks.base import Task, TaskResult, TaskResultStatus
from django.utils import timezone
from django.utils.module_loading import import_string
from huey.contrib.djhuey import HUEY


@HUEY.task(retries=0, context=False)
def run_django_task(task_path: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
    task: Task = import_string(task_path)
    return task.call(*args, **kwargs)


class HueyTaskBackend(BaseTaskBackend):
    supports_defer = True

    def enqueue(self, task: Task, args: Any, kwargs: Any) -> TaskResult:
        self.validate_task(task)
        now = timezone.now()
        message = run_django_task.s(task.module_path, list(args), dict(kwargs))
        if task.run_after and task.run_after > now:
            message.eta = task.run_after.astimezone(UTC).replace(tzinfo=None)
        HUEY.enqueue(message)
        result_id = str(message.id)
        return TaskResult(
            task=task,
            id=result_id,
            status=TaskResultStatus.READY,
            enqueued_at=now,
            started_at=None,
            last_attempted_at=None,
            finished_at=None,
            args=list(args),
            kwargs=dict(kwargs),
            backend=self.alias,
            errors=[],
            worker_ids=[],
        )
