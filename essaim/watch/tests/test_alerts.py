"""The alerts: who receives which alert by which channel (HQ in the app by default, anyone's
own choice otherwise), the mail an alert sends, and the spikes: distinct sources of the last
hour, reprints left out, against the same hour of past weeks and the last six hours, one alert
per watchlist per quiet period."""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any

import pytest
from django.core import mail
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from essaim.accounts.models import Notification, Role, User
from essaim.army.models import RoleAssignment, Stage
from essaim.army.tests.factories import make_volunteer
from essaim.lib.testing import SmtpRecorder, free_port
from essaim.watch.models import (
    Alert,
    AlertEmail,
    AlertPreference,
    Story,
    Watchlist,
    WatchlistMatch,
)
from essaim.watch.services import alerts, spikes
from essaim.watch.tests.factories import ItemFactory, SourceFactory

pytestmark = pytest.mark.django_db


def matched(
    watchlist: Watchlist, when: dt.datetime, *, reprint: bool = False, source: Any = None
) -> Any:
    item = ItemFactory.create(
        title="Dupont",
        summary="",
        seen_at=when,
        is_reprint=reprint,
        source=source or SourceFactory.create(),
    )
    story = Story.objects.create(
        title=f"Sujet {item.pk}", first_item=item, first_source=item.source
    )
    item.story = story
    item.save(update_fields=["story"])
    WatchlistMatch.objects.create(watchlist=watchlist, item=item, terms=["dupont"])
    return item


@pytest.fixture
def watchlist() -> Watchlist:
    return Watchlist.objects.create(name="Candidats", kind="names", query="Dupont")


def test_hq_gets_alerts_in_the_app_by_default_and_others_only_by_their_choice(
    hq: Any, hq_admin: Any, coordinator: Any
) -> None:
    assert alerts.recipients("urgent") == (sorted([hq.pk, hq_admin.pk]), [])
    AlertPreference.objects.create(user=hq_admin, in_app=False, email=True)
    AlertPreference.objects.create(user=coordinator, urgent=True, spike=False, in_app=True)
    assert alerts.recipients("urgent") == (sorted([hq.pk, coordinator.pk]), [hq_admin.pk])
    assert alerts.recipients("spike") == ([hq.pk], [hq_admin.pk])


def test_an_alert_is_mailed_to_those_who_chose_email_once_committed(
    hq: Any, hq_admin: Any, watchlist: Watchlist, django_capture_on_commit_callbacks: Any
) -> None:
    AlertPreference.objects.create(user=hq_admin, in_app=False, email=True)
    item = matched(watchlist, timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        alert = alerts.raise_urgent(story=item.story, user=hq, note="Vite")
    assert alert is not None
    assert [m.to for m in mail.outbox] == [[hq_admin.email]]
    body = mail.outbox[0].body
    assert "Note : Vite" in body
    assert reverse("watch:alert_detail", args=[alert.pk]) in body
    # The actor is not told in the app of their own act; the admin chose the mail only.
    assert list(Notification.objects.values_list("recipient_id", flat=True)) == []


def test_a_person_chooses_their_alerts_on_their_page(
    coordinator_client: Client, coordinator: Any
) -> None:
    url = reverse("watch:alert_settings")
    assert coordinator_client.get(url).status_code == 200
    response = coordinator_client.post(url, {"urgent": "on", "email": "on"})
    assert response.status_code == 302
    pref = AlertPreference.objects.get(user=coordinator)
    assert (pref.urgent, pref.spike, pref.in_app, pref.email) == (True, False, False, True)


def test_volunteers_cannot_choose_alerts(volunteer_client: Client) -> None:
    response = volunteer_client.post(reverse("watch:alert_settings"), {"urgent": "on"})
    assert response.status_code == 403
    assert AlertPreference.objects.count() == 0


def test_a_burst_of_distinct_sources_is_a_spike_and_raises_one_alert_in_the_quiet_period(
    hq: Any, watchlist: Watchlist
) -> None:
    now = timezone.now()
    for minutes in (5, 10, 20, 30):
        matched(watchlist, now - dt.timedelta(minutes=minutes))
    # Reprints are not voices: they count for nothing.
    for _ in range(5):
        matched(watchlist, now - dt.timedelta(minutes=3), reprint=True)
    # One source a week ago at the same hour, one in the last six hours.
    matched(watchlist, now - dt.timedelta(weeks=1, minutes=10))
    matched(watchlist, now - dt.timedelta(hours=3))

    counts = spikes.measure(watchlist.pk, now)
    assert counts == {"stories": 4, "sources": 4, "baseline_weeks": 0.25, "baseline_hours": 0.17}
    raised = spikes.detect(now)
    assert [a.kind for a in raised] == ["spike"]
    alert = raised[0]
    assert alert.watchlist_id == watchlist.pk
    assert alert.explanation["counts"] == counts
    assert len(alert.explanation["stories"]) == 4
    assert alert.explanation["top_terms"] == ["dupont"]
    assert list(Notification.objects.values_list("recipient_id", "kind")) == [(hq.pk, alerts.ALERT)]
    # Still spiking a quarter hour later: no second alert within the quiet period.
    assert spikes.detect(now + dt.timedelta(minutes=15)) == []
    assert Alert.objects.count() == 1


def test_a_usual_level_is_no_spike(watchlist: Watchlist) -> None:
    now = timezone.now()
    for hours in range(0, 7):
        for _ in range(3):
            matched(watchlist, now - dt.timedelta(hours=hours, minutes=10))
    counts = spikes.measure(watchlist.pk, now)
    assert (counts["sources"], counts["baseline_hours"]) == (3, 3.0)
    assert spikes.detect(now) == []


def test_one_source_repeating_itself_is_no_spike(watchlist: Watchlist) -> None:
    now = timezone.now()
    source = SourceFactory.create()
    for minutes in range(1, 11):
        matched(watchlist, now - dt.timedelta(minutes=minutes), source=source)
    assert spikes.measure(watchlist.pk, now)["sources"] == 1
    assert spikes.detect(now) == []


@pytest.mark.django_db(transaction=True)
def test_a_run_overlapping_another_waits_for_it_and_raises_no_second_spike(hq: Any) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite: every IMMEDIATE transaction takes the write lock; one writer at once")
    watchlist = Watchlist.objects.create(name="Candidats", kind="names", query="Dupont")
    now = timezone.now()
    for minutes in (5, 10, 20):
        matched(watchlist, now - dt.timedelta(minutes=minutes))
    pids: list[int] = []
    done: list[list[Alert]] = []

    def other_run() -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                pids.append(cursor.fetchone()[0])
            done.append(spikes.detect(now))
        finally:
            connection.close()  # this thread's own

    thread = threading.Thread(target=other_run)
    with transaction.atomic():
        # This run has raised its alert and not committed yet when the other one starts.
        assert len(spikes.detect(now)) == 1
        thread.start()
        # Deterministic, not timed: the other run is seen blocked by this one, or it ended.
        with connection.cursor() as cursor:
            while thread.is_alive():
                if pids:
                    cursor.execute("SELECT pg_backend_pid() = ANY(pg_blocking_pids(%s))", pids)
                    if cursor.fetchone()[0]:
                        break
                time.sleep(0.01)
            else:
                pytest.fail("the second run did not wait for the first")
    thread.join(60)
    assert done == [[]]
    assert Alert.objects.count() == 1
    assert list(Notification.objects.values_list("recipient_id", "kind")) == [(hq.pk, alerts.ALERT)]


# --- Alert mail: a task after the commit, one connection, each mail once ----------------------


def veilleur_by_email(address: str) -> Any:
    user = make_volunteer(address, roles={"veilleur": Stage.ACTIVE}).user
    AlertPreference.objects.create(user=user, in_app=True, email=True)
    return user


def lapse(user: Any) -> None:
    RoleAssignment.objects.filter(volunteer_id=user.pk).update(stage=Stage.LAPSED)


def test_an_urgent_decision_mails_its_alert_after_the_commit_over_one_connection(
    hq: Any,
    watchlist: Watchlist,
    smtp_recorder: SmtpRecorder,
    django_capture_on_commit_callbacks: Any,
) -> None:
    ana, bruno = veilleur_by_email("ana@equipe.test"), veilleur_by_email("bruno@equipe.test")
    item = matched(watchlist, timezone.now())
    client = Client()
    client.force_login(hq)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("watch:triage_decide", args=[item.story_id]), {"decision": "urgent"}
        )
    assert response.status_code == 302
    alert = Alert.objects.get()
    assert sorted(m.rcpt_to[0] for m in smtp_recorder.messages) == [ana.email, bruno.email]
    assert len({m.peer for m in smtp_recorder.messages}) == 1
    assert smtp_recorder.messages[0].message["Auto-Submitted"] == "auto-generated"
    assert reverse("watch:alert_detail", args=[alert.pk]) in smtp_recorder.messages[0].text
    rows = AlertEmail.objects.order_by("user_id")
    assert [(r.user_id, r.status, r.sent_at is not None) for r in rows] == [
        (ana.pk, "sent", True),
        (bruno.pk, "sent", True),
    ]
    # The task run again (a retry) sends nothing twice.
    assert alerts.mail_alert(alert_id=alert.pk) == 0
    assert len(smtp_recorder.messages) == 2


def test_a_bad_address_or_a_refused_one_fails_alone_and_the_others_get_the_alert(
    hq: Any,
    watchlist: Watchlist,
    smtp_recorder: SmtpRecorder,
    django_capture_on_commit_callbacks: Any,
) -> None:
    ana = veilleur_by_email("ana@equipe.test")
    bad = veilleur_by_email("bad@equipe.test")
    refused = veilleur_by_email("refuse@equipe.test")
    zoe = veilleur_by_email("zoe@equipe.test")
    User.objects.filter(pk=bad.pk).update(email="pas une adresse")
    smtp_recorder.refuse.add(refused.email)
    item = matched(watchlist, timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        alert = alerts.raise_urgent(story=item.story, user=hq)
    assert alert is not None
    assert sorted(m.rcpt_to[0] for m in smtp_recorder.messages) == [ana.email, zoe.email]
    assert len({m.peer for m in smtp_recorder.messages}) == 1
    rows = {r.user_id: r for r in AlertEmail.objects.all()}
    assert [rows[u.pk].status for u in (ana, bad, refused, zoe)] == [
        "sent",
        "failed",
        "failed",
        "sent",
    ]
    assert rows[bad.pk].error.startswith("ValueError: Invalid address")
    assert rows[refused.pk].error.startswith("SMTPRecipientsRefused")
    # Failed is final: a retry tries nobody again.
    assert alerts.mail_alert(alert_id=alert.pk) == 0
    assert len(smtp_recorder.messages) == 2


def test_an_unreachable_server_leaves_the_mails_pending_for_the_next_run(
    hq: Any,
    watchlist: Watchlist,
    settings: Any,
    smtp_recorder: SmtpRecorder,
    django_capture_on_commit_callbacks: Any,
) -> None:
    ana = veilleur_by_email("ana@equipe.test")
    working = settings.MAILERS
    # Nothing listens there.
    settings.MAILERS = {
        "default": {**working["default"], "OPTIONS": {"host": "127.0.0.1", "port": free_port()}}
    }
    item = matched(watchlist, timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        alert = alerts.raise_urgent(story=item.story, user=hq)
    assert alert is not None
    assert list(AlertEmail.objects.values_list("user_id", "status")) == [(ana.pk, "pending")]
    settings.MAILERS = working
    # The periodic job leaves it to the task a while, then sends it, once.
    assert alerts.mail_pending(timezone.now()) == 0
    later = timezone.now() + alerts.PENDING_GRACE + dt.timedelta(seconds=1)
    assert alerts.mail_pending(later) == 1
    assert alerts.mail_pending(later) == 0
    assert [m.rcpt_to for m in smtp_recorder.messages] == [[ana.email]]
    assert AlertEmail.objects.get().status == "sent"


def test_someone_who_lost_the_role_gets_no_alert_by_mail_nor_in_the_app(
    hq: Any,
    coordinator: Any,
    watchlist: Watchlist,
    smtp_recorder: SmtpRecorder,
    django_capture_on_commit_callbacks: Any,
) -> None:
    former = veilleur_by_email("ancien@equipe.test")
    lapse(former)
    AlertPreference.objects.create(user=coordinator, in_app=True, email=True)
    User.objects.filter(pk=coordinator.pk).update(role=Role.VOLUNTEER)
    assert alerts.recipients("urgent") == ([hq.pk], [])
    item = matched(watchlist, timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        alerts.raise_urgent(story=item.story, user=None)
    assert smtp_recorder.messages == []
    assert AlertEmail.objects.count() == 0
    assert list(Notification.objects.values_list("recipient_id", flat=True)) == [hq.pk]


def test_someone_who_loses_the_role_before_the_mail_leaves_gets_nothing(
    hq: Any,
    watchlist: Watchlist,
    smtp_recorder: SmtpRecorder,
    django_capture_on_commit_callbacks: Any,
) -> None:
    ana, leaving = veilleur_by_email("ana@equipe.test"), veilleur_by_email("part@equipe.test")
    item = matched(watchlist, timezone.now())
    with django_capture_on_commit_callbacks() as callbacks:
        alert = alerts.raise_urgent(story=item.story, user=hq)
    assert alert is not None
    lapse(leaving)
    for callback in callbacks:
        callback()
    assert [m.rcpt_to for m in smtp_recorder.messages] == [[ana.email]]
    assert AlertEmail.objects.get(user=leaving).status == "withheld"
