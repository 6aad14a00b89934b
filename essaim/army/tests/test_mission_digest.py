"""The email digest: the notifications not yet mailed, once, at the interval the volunteer
chose (never, daily, weekly), caught by a real local SMTP server."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from essaim.army.models import Notification, Stage, VolunteerMissionSettings
from essaim.army.services.dispatch import send_digests
from essaim.army.tests.factories import MissionFactory, VolunteerFactory

pytestmark = pytest.mark.django_db


def run_digests(capture, **kw):  # type: ignore[no-untyped-def]
    with capture(execute=True):
        return send_digests(**kw)


def test_the_digest_lists_new_missions_once(smtp_recorder, django_capture_on_commit_callbacks):
    volunteer = VolunteerFactory.create(
        email="ana@exemple.fr", roles={"tchatcheur": Stage.ACTIVE}, first_name="Ana"
    )
    MissionFactory.create(title="Relayer le discours")
    MissionFactory.create(title="Répondre au forum")
    assert run_digests(django_capture_on_commit_callbacks) == 1
    (mail,) = smtp_recorder.to("ana@exemple.fr")
    assert "Relayer le discours" in mail.text and "Répondre au forum" in mail.text
    assert "/armee/missions/reglages/" in mail.text
    assert not Notification.objects.filter(volunteer=volunteer, emailed_at__isnull=True).exists()
    assert run_digests(django_capture_on_commit_callbacks) == 0
    assert len(smtp_recorder.messages) == 1


def test_a_volunteer_who_chose_never_gets_no_digest(
    smtp_recorder, django_capture_on_commit_callbacks
):
    volunteer = VolunteerFactory.create(roles={"tchatcheur": Stage.ACTIVE})
    VolunteerMissionSettings.objects.create(volunteer=volunteer, digest="never")
    MissionFactory.create()
    assert run_digests(django_capture_on_commit_callbacks) == 0
    assert smtp_recorder.messages == []


def test_a_weekly_digest_waits_for_its_week(smtp_recorder, django_capture_on_commit_callbacks):
    volunteer = VolunteerFactory.create(roles={"tchatcheur": Stage.ACTIVE})
    VolunteerMissionSettings.objects.create(
        volunteer=volunteer, digest="weekly", last_digest_at=timezone.now() - timedelta(days=2)
    )
    MissionFactory.create()
    assert run_digests(django_capture_on_commit_callbacks) == 0
    later = timezone.now() + timedelta(days=6)
    assert run_digests(django_capture_on_commit_callbacks, now=later) == 1
    assert len(smtp_recorder.messages) == 1
