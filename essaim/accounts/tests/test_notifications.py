"""Notifications in the app: the counts in the menu and on the bell (one query for all), the
page that lists them newest first, opening one (read, and off to its thing), marking one or all
read, the digest's choice; someone else's notification is a 404 and stays as it was."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from essaim.accounts.models import Notification, NotificationSettings
from essaim.accounts.services import notifications as svc
from essaim.army.models import Stage
from essaim.army.services.teams import request_to_join
from essaim.army.tests.factories import MissionFactory, TeamFactory, VolunteerFactory

pytestmark = pytest.mark.django_db

PAGE = reverse("accounts:notifications")


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def ana() -> Any:
    return VolunteerFactory.create(
        email="ana@exemple.fr", roles={"tchatcheur": Stage.ACTIVE}, first_name="Ana"
    )


def nav(html: str) -> str:
    return html.split('<div id="site-nav"')[1].split("</nav>")[0]


# --- The service ---------------------------------------------------------------------------------


def test_notify_leaves_out_the_actor_and_renews_what_was_told_before(
    coordinator: Any, other_coordinator: Any, hq: Any
) -> None:
    told = svc.notify(
        kind="join_request",
        object_id=7,
        recipients=[coordinator.pk, other_coordinator.pk, hq.pk, coordinator.pk],
        actor_id=hq.pk,
    )
    assert told == 2
    assert sorted(Notification.objects.values_list("recipient_id", flat=True)) == sorted(
        [coordinator.pk, other_coordinator.pk]
    )
    row = Notification.objects.get(recipient=coordinator)
    Notification.objects.filter(pk=row.pk).update(read_at=timezone.now(), emailed_at=timezone.now())
    svc.notify(kind="join_request", object_id=7, recipients=[coordinator.pk])
    again = Notification.objects.get(recipient=coordinator)
    assert (again.pk, again.read_at, again.emailed_at) == (row.pk, None, None)
    assert again.created_at > row.created_at
    assert Notification.objects.count() == 2


def test_settle_reads_a_thing_for_everyone_and_nothing_else(
    coordinator: Any, other_coordinator: Any
) -> None:
    svc.notify(kind="join_request", object_id=7, recipients=[coordinator.pk, other_coordinator.pk])
    svc.notify(kind="join_request", object_id=8, recipients=[coordinator.pk])
    assert svc.settle(kinds=["join_request"], object_id=7) == 2
    unread = Notification.objects.filter(read_at__isnull=True)
    assert list(unread.values_list("recipient_id", "object_id")) == [(coordinator.pk, 8)]


def test_move_leads_a_things_notifications_to_the_other_once_per_person(
    coordinator: Any, other_coordinator: Any
) -> None:
    svc.notify(kind="join_request", object_id=7, recipients=[coordinator.pk, other_coordinator.pk])
    svc.notify(kind="join_request", object_id=8, recipients=[coordinator.pk])
    svc.notify(kind="proof_review", object_id=7, recipients=[coordinator.pk])
    kept = Notification.objects.get(recipient=coordinator, kind="join_request", object_id=8)
    assert svc.move(kinds=["join_request"], object_id=7, to=8) == 1
    rows = Notification.objects.order_by("kind", "recipient_id")
    assert list(rows.values_list("kind", "object_id", "recipient_id")) == sorted(
        [
            ("join_request", 8, coordinator.pk),
            ("join_request", 8, other_coordinator.pk),
            ("proof_review", 7, coordinator.pk),
        ]
    )
    assert Notification.objects.filter(pk=kept.pk).exists()


# --- Counts in the menu --------------------------------------------------------------------------


def test_the_bell_and_the_menu_count_unread_notifications_in_one_query(
    ana: Any, django_assert_num_queries: Any
) -> None:
    MissionFactory.create(title="Relayer le discours")
    MissionFactory.create(title="Répondre au forum")
    seen = MissionFactory.create(title="Déjà vue")
    Notification.objects.filter(object_id=seen.pk).update(read_at=timezone.now())
    client = client_for(ana.user)
    client.get(PAGE)  # the session's first request
    # session, user, the page's list, its missions (one query per kind), the digest's choice,
    # one for the unread counts of the bell, the page and every badge of the menu, and whether
    # this volunteer account coordinates a team (the menu's Missions entry)
    with django_assert_num_queries(7):
        html = client.get(PAGE).content.decode()
    assert 'aria-label="2 notifications non lues"' in html
    assert '<span class="bell-count" aria-hidden="true">2</span>' in html
    menu = nav(html)
    missions = reverse("army:my_missions")
    assert (
        f'<a href="{missions}">Mes missions <span class="nav-count" aria-hidden="true">2</span>'
        '<span class="visually-hidden">(2 non lues)</span></a>'
    ) in menu
    assert (
        f'<a href="{PAGE}" aria-current="page">Notifications <span class="nav-count" '
        'aria-hidden="true">2</span>'
    ) in menu
    # No count where there is nothing unread.
    assert f'<a href="{reverse("army:team_list")}">Équipes</a>' in menu


def test_each_entry_counts_its_own_kinds(coordinator: Any) -> None:
    team = TeamFactory.create(coordinators=[coordinator])
    for n in range(3):
        request_to_join(user=VolunteerFactory.create(email=f"v{n}@exemple.fr").user, team=team)
    html = client_for(coordinator).get(reverse("home")).content.decode()
    menu = nav(html)
    assert (
        f'<a href="{reverse("army:team_list")}">Équipes <span class="nav-count" '
        'aria-hidden="true">3</span><span class="visually-hidden">(3 non lues)</span></a>'
    ) in menu
    assert f'<a href="{reverse("army:missions_run")}">Missions</a>' in menu
    assert 'aria-label="3 notifications non lues"' in html


def test_nothing_unread_shows_no_count(volunteer_client: Client) -> None:
    html = volunteer_client.get(reverse("home")).content.decode()
    assert 'aria-label="Notifications : aucune non lue"' in html
    assert "bell-count" not in html and "nav-count" not in html


def test_a_page_without_menu_counts_nothing(client: Client, django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(0):
        html = client.get(reverse("accounts:login")).content.decode()
    assert "bell" not in html


# --- The page ------------------------------------------------------------------------------------


def test_the_page_lists_ones_own_notifications_newest_first_with_links(
    ana: Any, coordinator: Any
) -> None:
    first = MissionFactory.create(title="Relayer le discours")
    second = MissionFactory.create(title="Répondre au forum")
    Notification.objects.filter(object_id=first.pk).update(read_at=timezone.now())
    team = TeamFactory.create(name="Paris 11e", coordinators=[coordinator])
    request_to_join(user=ana.user, team=team)  # the coordinator's, not Ana's
    response = client_for(ana.user).get(PAGE)
    assert response.status_code == 200
    entries = response.context["entries"]
    assert [(e.text, e.unread) for e in entries] == [
        ("Nouvelle mission : Répondre au forum", True),
        ("Nouvelle mission : Relayer le discours", False),
    ]
    html = response.content.decode()
    opened = reverse("accounts:notification_open", args=[entries[0].notification.pk])
    assert f'<a href="{opened}">Nouvelle mission : Répondre au forum</a>' in html
    assert html.count("Marquer comme lue</button>") == 1
    assert "1 notification non lue" in html
    assert "Paris 11e" not in html
    assert second.pk == entries[0].notification.object_id


def test_an_empty_page_says_what_will_come(volunteer_client: Client) -> None:
    html = volunteer_client.get(PAGE).content.decode()
    assert '<p class="empty-title">Aucune notification</p>' in html
    assert "Tout marquer comme lu" not in html


def test_the_page_goes_back_in_time_by_pages(ana: Any) -> None:
    for n in range(33):
        svc.notify(kind="mission_offered", object_id=10_000 + n, recipients=[ana.pk])
    client = client_for(ana.user)
    first = client.get(PAGE)
    assert len(first.context["entries"]) == 30
    assert first.context["next_url"]
    older = client.get(first.context["next_url"])
    assert len(older.context["entries"]) == 3
    seen = {e.notification.pk for e in first.context["entries"] + older.context["entries"]}
    assert len(seen) == 33
    # What no longer exists still shows, without a link.
    html = older.content.decode()
    for entry in older.context["entries"]:
        assert (entry.text, entry.url) == ("Nouvelle mission : élément supprimé", "")
        opened = reverse("accounts:notification_open", args=[entry.notification.pk])
        assert f'href="{opened}"' not in html


def test_opening_a_notification_reads_it_and_leads_to_its_thing(ana: Any) -> None:
    mission = MissionFactory.create(title="Relayer le discours")
    note = Notification.objects.get(recipient=ana.user)
    client = client_for(ana.user)
    response = client.get(reverse("accounts:notification_open", args=[note.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("army:mission_detail", args=[mission.pk])
    note.refresh_from_db()
    assert note.read_at is not None
    html = client.get(PAGE).content.decode()
    assert 'aria-label="Notifications : aucune non lue"' in html


def test_opening_one_whose_thing_is_gone_comes_back_to_the_list(ana: Any) -> None:
    svc.notify(kind="mission_offered", object_id=999_999, recipients=[ana.pk])
    note = Notification.objects.get()
    response = client_for(ana.user).get(reverse("accounts:notification_open", args=[note.pk]))
    assert (response.status_code, response["Location"]) == (302, PAGE)
    assert Notification.objects.get().read_at is not None


def test_marking_one_read_and_then_all(ana: Any) -> None:
    for title in ("A", "B", "C"):
        MissionFactory.create(title=title)
    notes = list(Notification.objects.order_by("pk"))
    client = client_for(ana.user)
    response = client.post(reverse("accounts:notification_read", args=[notes[0].pk]))
    assert (response.status_code, response["Location"]) == (302, PAGE)
    unread = Notification.objects.filter(read_at__isnull=True)
    assert sorted(unread.values_list("pk", flat=True)) == [notes[1].pk, notes[2].pk]
    response = client.post(reverse("accounts:notification_read_all"), follow=True)
    assert "2 notifications marquées comme lues." in response.content.decode()
    assert not unread.exists()


def test_someone_elses_notification_can_be_neither_opened_nor_marked(
    ana: Any, volunteer_client: Client
) -> None:
    MissionFactory.create(title="Relayer le discours")
    note = Notification.objects.get(recipient=ana.user)
    opened = volunteer_client.get(reverse("accounts:notification_open", args=[note.pk]))
    marked = volunteer_client.post(reverse("accounts:notification_read", args=[note.pk]))
    everything = volunteer_client.post(reverse("accounts:notification_read_all"))
    assert (opened.status_code, marked.status_code, everything.status_code) == (404, 404, 302)
    note.refresh_from_db()
    assert note.read_at is None
    assert "Relayer le discours" not in volunteer_client.get(PAGE).content.decode()


def test_marking_needs_a_post_and_the_list_a_get(ana: Any) -> None:
    MissionFactory.create()
    note = Notification.objects.get()
    client = client_for(ana.user)
    assert client.get(reverse("accounts:notification_read", args=[note.pk])).status_code == 405
    assert client.get(reverse("accounts:notification_read_all")).status_code == 405
    assert client.post(PAGE).status_code == 405
    assert Notification.objects.get().read_at is None


# --- The digest's choice -------------------------------------------------------------------------


def test_the_digest_is_daily_until_the_person_chooses(volunteer: Any) -> None:
    client = client_for(volunteer)
    assert client.get(PAGE).context["form"].initial == {"digest": "daily"}
    response = client.post(reverse("accounts:notification_digest"), {"digest": "weekly"})
    assert (response.status_code, response["Location"]) == (302, PAGE)
    assert NotificationSettings.objects.get(user=volunteer).digest == "weekly"
    assert client.get(PAGE).context["form"].initial == {"digest": "weekly"}
    client.post(reverse("accounts:notification_digest"), {"digest": "none"})
    assert NotificationSettings.objects.get(user=volunteer).digest == "none"


@pytest.mark.parametrize("bad", [{}, {"digest": "hourly"}, {"digest": ""}])
def test_a_bad_digest_choice_is_refused_and_changes_nothing(
    volunteer: Any, bad: dict[str, str]
) -> None:
    client = client_for(volunteer)
    client.post(reverse("accounts:notification_digest"), {"digest": "weekly"})
    response = client.post(reverse("accounts:notification_digest"), bad)
    assert response.status_code == 400
    assert "digest" in response.context["form"].errors
    assert NotificationSettings.objects.get(user=volunteer).digest == "weekly"
