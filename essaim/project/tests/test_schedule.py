"""The worker knows every periodic job of essaim/schedule.py without importing it itself."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from huey.api import PeriodicTask, TaskWrapper

import essaim.schedule

# What `essaim run_huey` does before it reads the periodic tasks: set Django up (every app's
# ready()), then ask Huey; nothing here imports essaim.schedule by name.
WORKER_VIEW = """
import json, django
django.setup()
from huey.contrib.djhuey import HUEY
print(json.dumps(sorted(type(t).__name__ for t in HUEY._registry.periodic_tasks)))
"""


def scheduled_job_names() -> list[str]:
    return sorted(
        name
        for name, value in vars(essaim.schedule).items()
        if isinstance(value, TaskWrapper) and issubclass(value.task_class, PeriodicTask)
    )


def test_schedule_declares_the_twelve_periodic_jobs() -> None:
    assert scheduled_job_names() == [
        "detect_watch_spikes",
        "draft_daily_synthesis",
        "lapse_idle_volunteer_roles",
        "place_pending_watch_items",
        "prune_watch_bands",
        "prune_watch_evidence",
        "prune_watch_history",
        "purge_expired_import_files",
        "retry_watch_webhooks",
        "send_notification_digests",
        "send_pending_watch_alert_mails",
        "send_waiting_invitations",
    ]


def test_a_fresh_process_knows_every_periodic_job_of_the_schedule() -> None:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "essaim.settings_test"}
    out = subprocess.run(
        [sys.executable, "-c", WORKER_VIEW],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == scheduled_job_names()
