"""Migration army.0008: the army's notifications and the volunteers' digest choices move to
accounts row for row (kinds renamed, "never" become "none"), nothing lost."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from essaim.accounts.models import Notification, NotificationSettings

BEFORE = [
    ("accounts", "0003_audit_append_only_chain"),
    ("army", "0007_mission_approval_invitation_limits"),
]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_armys_notifications_and_digest_choices_move_to_accounts() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    user = old.get_model("accounts", "User").objects.create(email="ana@exemple.fr", password="x")
    volunteer = old.get_model("army", "Volunteer").objects.create(user=user)
    at = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)
    old.get_model("army", "VolunteerMissionSettings").objects.create(
        volunteer=volunteer, digest="never", last_digest_at=at
    )
    legacy = old.get_model("army", "Notification")
    for mission_id, kind in (
        (11, "new_mission"),
        (11, "accepted"),
        (12, "returned"),
        (13, "closed"),
    ):
        legacy.objects.create(
            volunteer_id=volunteer.pk,
            mission_id=mission_id,
            kind=kind,
            created_at=at,
            read_at=at if kind == "accepted" else None,
            emailed_at=at if kind == "closed" else None,
        )

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    moved = Notification.objects.order_by("object_id", "kind")
    assert [
        (n.recipient_id, n.kind, n.object_id, n.created_at, n.read_at, n.emailed_at) for n in moved
    ] == [
        (user.pk, "mission_offered", 11, at, None, None),
        (user.pk, "proof_accepted", 11, at, at, None),
        (user.pk, "proof_returned", 12, at, None, None),
        (user.pk, "mission_closed", 13, at, None, at),
    ]
    settings = NotificationSettings.objects.get()
    assert (settings.user_id, settings.digest, settings.last_digest_at) == (user.pk, "none", at)
