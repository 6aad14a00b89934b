"""The email digest: a person's unread notifications not yet mailed, at the interval they chose
(none, daily, weekly), caught by a real local SMTP server; marked in the transaction that
records the digest, so that a second run sends nothing. Runs on SQLite and, with DATABASE_URL,
on PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from essaim.accounts.models import Notification, NotificationSettings
from essaim.accounts.services.notifications import send_digests, set_digest
from essaim.army.models import Stage
from essaim.army.services.teams import request_to_join
from essaim.army.tests.factories import MissionFactory, TeamFactory, VolunteerFactory

pytestmark = pytest.mark.django_db


def run(capture: Any, **kw: Any) -> int:
    with capture(execute=True):
        return send_digests(**kw)


@pytest.fixture
def ana() -> Any:
    return VolunteerFactory.create(
        email="ana@exemple.fr", roles={"tchatcheur": Stage.ACTIVE}, first_name="Ana"
    )


def test_the_digest_lists_the_unread_notifications_once(
    ana: Any,
    coordinator: Any,
    settings: Any,
    smtp_recorder: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    seen = MissionFactory.create(title="Déjà vue")
    MissionFactory.create(title="Relayer le discours")
    MissionFactory.create(title="Répondre au forum d'Ana")
    Notification.objects.filter(object_id=seen.pk).update(read_at=timezone.now())
    team = TeamFactory.create(name="Paris 11e", coordinators=[coordinator])
    request_to_join(user=ana.user, team=team)

    assert run(django_capture_on_commit_callbacks) == 2
    (mail,) = smtp_recorder.to("ana@exemple.fr")
    assert mail.message["Subject"] == "Essaim : 2 notifications non lues"
    assert mail.message["Auto-Submitted"] == "auto-generated"
    text = mail.text.replace("\r\n", "\n")
    assert "Vous avez 2 notifications non lues :" in text
    assert "- Nouvelle mission : Répondre au forum d'Ana" in text
    assert "- Nouvelle mission : Relayer le discours" in text
    assert text.index("Répondre au forum") < text.index("Relayer le discours")  # newest first
    assert "Déjà vue" not in text
    for note in Notification.objects.filter(recipient=ana.user, read_at__isnull=True):
        opened = settings.SITE_URL + reverse("accounts:notification_open", args=[note.pk])
        assert f"\n  {opened}\n" in text
    assert f"Toutes vos notifications : {settings.SITE_URL}{reverse('accounts:notifications')}" in (
        text
    )
    (theirs,) = smtp_recorder.to("coord.paris@equipe.test")
    assert "- Demande pour rejoindre l'équipe Paris 11e" in theirs.text
    # Recorded with the marking: mailed once, the digest's time noted.
    assert not Notification.objects.filter(read_at__isnull=True, emailed_at__isnull=True).exists()
    assert NotificationSettings.objects.get(user=ana.user).last_digest_at is not None

    # A second run, at once or the next day, sends nothing: nothing new is waiting.
    assert run(django_capture_on_commit_callbacks) == 0
    assert run(django_capture_on_commit_callbacks, now=timezone.now() + timedelta(days=1)) == 0
    assert len(smtp_recorder.messages) == 2


def test_what_came_since_the_last_digest_waits_for_the_next_day(
    ana: Any, smtp_recorder: Any, django_capture_on_commit_callbacks: Any
) -> None:
    MissionFactory.create(title="Premier")
    assert run(django_capture_on_commit_callbacks) == 1
    MissionFactory.create(title="Second")
    assert run(django_capture_on_commit_callbacks) == 0
    tomorrow = timezone.now() + timedelta(days=1)
    assert run(django_capture_on_commit_callbacks, now=tomorrow) == 1
    first, second = smtp_recorder.to("ana@exemple.fr")
    assert "Premier" in first.text and "Second" not in first.text
    assert "Second" in second.text and "Premier" not in second.text
    assert second.message["Subject"] == "Essaim : 1 notification non lue"


def test_someone_who_chose_none_gets_no_digest(
    ana: Any, smtp_recorder: Any, django_capture_on_commit_callbacks: Any
) -> None:
    set_digest(user=ana.user, digest="none")
    MissionFactory.create()
    assert run(django_capture_on_commit_callbacks) == 0
    assert smtp_recorder.messages == []
    # The notification stays in the app, unread and not mailed.
    assert Notification.objects.filter(emailed_at__isnull=True, read_at__isnull=True).count() == 1


def test_a_weekly_digest_waits_for_its_week(
    ana: Any, smtp_recorder: Any, django_capture_on_commit_callbacks: Any
) -> None:
    set_digest(user=ana.user, digest="weekly")
    NotificationSettings.objects.filter(user=ana.user).update(
        last_digest_at=timezone.now() - timedelta(days=2)
    )
    MissionFactory.create()
    assert run(django_capture_on_commit_callbacks) == 0
    assert run(django_capture_on_commit_callbacks, now=timezone.now() + timedelta(days=5)) == 1
    assert len(smtp_recorder.messages) == 1


def test_a_notification_read_in_the_app_is_not_mailed_and_an_inactive_account_gets_nothing(
    ana: Any, smtp_recorder: Any, django_capture_on_commit_callbacks: Any
) -> None:
    MissionFactory.create()
    Notification.objects.update(read_at=timezone.now())
    other = VolunteerFactory.create(email="parti@exemple.fr", roles={"tchatcheur": Stage.ACTIVE})
    other.user.is_active = False
    other.user.save(update_fields=["is_active"])
    MissionFactory.create(title="Autre")
    assert run(django_capture_on_commit_callbacks) == 1  # Ana's second mission only
    assert [m.rcpt_to for m in smtp_recorder.messages] == [["ana@exemple.fr"]]
    assert Notification.objects.filter(recipient=other.user, emailed_at__isnull=True).count() == 1


def test_a_failed_mail_is_not_sent_again(
    ana: Any, settings: Any, django_capture_on_commit_callbacks: Any, caplog: Any
) -> None:
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            # Nothing listens on the discard port of the loopback: the connection is refused.
            "OPTIONS": {"host": "127.0.0.1", "port": 9, "timeout": 2},
        }
    }
    MissionFactory.create()
    assert run(django_capture_on_commit_callbacks) == 1
    assert "notification digest to ['ana@exemple.fr'] failed" in caplog.text
    assert run(django_capture_on_commit_callbacks, now=timezone.now() + timedelta(days=1)) == 0
