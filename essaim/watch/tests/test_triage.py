"""The veilleurs' triage: the queue lists the stories the watchlists matched, newest first and
by watchlist; a taken story is locked for its taker (a conditional UPDATE, so a second person
is refused while the lock lives), decisions are kept and audited, an urgent story raises one
alert told to HQ. Refused actions change nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from essaim.accounts.models import AuditEvent, Notification
from essaim.army.models import Stage
from essaim.army.tests.factories import make_volunteer
from essaim.watch.models import (
    Alert,
    Item,
    Story,
    StoryTriage,
    TriageDecision,
    TriageState,
    Watchlist,
    WatchlistMatch,
)
from essaim.watch.services import alerts, triage
from essaim.watch.tests.factories import ItemFactory

pytestmark = pytest.mark.django_db


def client_of(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def matched_story(title: str, watchlist: Watchlist, terms: list[str] | None = None) -> Story:
    item = ItemFactory.create(title=title, summary="")
    story = Story.objects.create(title=title, first_item=item, first_source=item.source)
    item.story = story
    item.save(update_fields=["story"])
    WatchlistMatch.objects.create(watchlist=watchlist, item=item, terms=terms or ["dupont"])
    return story


@pytest.fixture
def watchlist() -> Watchlist:
    return Watchlist.objects.create(name="Candidats", kind="names", query="Dupont")


@pytest.fixture
def veilleur() -> Any:
    return make_volunteer("veilleur@equipe.test", roles={"veilleur": Stage.ACTIVE}).user


@pytest.fixture
def other_veilleur() -> Any:
    return make_volunteer("autre@equipe.test", roles={"veilleur": Stage.ACTIVE}).user


def snapshot() -> list[Any]:
    return [
        list(
            StoryTriage.objects.values_list("story_id", "state", "locked_by_id", "assigned_to_id")
        ),
        list(TriageDecision.objects.values_list("pk", flat=True)),
        list(Alert.objects.values_list("pk", flat=True)),
    ]


def test_the_queue_lists_matched_stories_newest_first_and_filters_by_watchlist(
    veilleur: Any, watchlist: Watchlist
) -> None:
    other = Watchlist.objects.create(name="Retraites", kind="topics", query="retraite")
    first = matched_story("Dupont en meeting", watchlist)
    second = matched_story("La réforme des retraites", other)
    unmatched_item = ItemFactory.create(title="Rien à voir", summary="")
    Story.objects.create(title="Rien à voir", first_item=unmatched_item)

    assert list(triage.queue()) == [second, first]
    assert list(triage.queue(watchlist_id=watchlist.pk)) == [first]

    client = client_of(veilleur)
    page = client.get(reverse("watch:triage_queue"), {"liste": other.pk}).content.decode()
    assert "La réforme des retraites" in page
    assert "Dupont en meeting" not in page
    assert "Rien à voir" not in client.get(reverse("watch:triage_queue")).content.decode()


def test_a_decided_story_leaves_the_new_queue_and_shows_under_its_state(
    veilleur: Any, watchlist: Watchlist
) -> None:
    story = matched_story("Dupont en meeting", watchlist)
    triage.decide(story=story, user=veilleur, decision=TriageState.PERTINENT)
    assert list(triage.queue()) == []
    assert list(triage.queue(state=TriageState.PERTINENT)) == [story]


def test_a_taken_story_cannot_be_taken_or_decided_by_someone_else_while_the_lock_lives(
    veilleur: Any, other_veilleur: Any, watchlist: Watchlist
) -> None:
    story = matched_story("Dupont en meeting", watchlist)
    now = timezone.now()
    until = triage.take(story=story, user=veilleur, now=now)
    assert until == now + triage.LOCK_FOR

    with pytest.raises(triage.Locked):
        triage.take(story=story, user=other_veilleur, now=now + dt.timedelta(minutes=1))
    before = snapshot()
    with pytest.raises(triage.Locked):
        triage.decide(story=story, user=other_veilleur, decision=TriageState.URGENT, now=now)
    assert snapshot() == before

    page = client_of(other_veilleur).get(reverse("watch:triage_story", args=[story.pk]))
    assert 'id="triage-locked">En cours par quelqu\'un<' in page.content.decode()
    response = client_of(other_veilleur).post(
        reverse("watch:triage_decide", args=[story.pk]), {"decision": "urgent"}
    )
    assert response.status_code == 302
    assert snapshot() == before


def test_a_lock_that_ran_out_frees_the_story(
    veilleur: Any, other_veilleur: Any, watchlist: Watchlist
) -> None:
    story = matched_story("Dupont en meeting", watchlist)
    now = timezone.now()
    triage.take(story=story, user=veilleur, now=now)
    later = now + triage.LOCK_FOR + dt.timedelta(seconds=1)
    triage.take(story=story, user=other_veilleur, now=later)
    assert StoryTriage.objects.get(story=story).locked_by_id == other_veilleur.pk


def test_the_taker_decides_and_every_decision_is_kept_and_audited(
    veilleur: Any, hq: Any, watchlist: Watchlist
) -> None:
    story = matched_story("Dupont en meeting", watchlist)
    client = client_of(veilleur)
    assert client.post(reverse("watch:triage_take", args=[story.pk])).status_code == 302
    response = client.post(
        reverse("watch:triage_decide", args=[story.pk]),
        {"decision": "not_pertinent", "note": "  Homonyme.  "},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("watch:triage_queue")
    triage.decide(story=story, user=hq, decision=TriageState.PERTINENT)

    row = StoryTriage.objects.get(story=story)
    assert (row.state, row.locked_by_id, row.locked_until) == ("pertinent", None, None)
    assert list(
        TriageDecision.objects.order_by("pk").values_list("user_id", "decision", "note")
    ) == [(veilleur.pk, "not_pertinent", "Homonyme."), (hq.pk, "pertinent", "")]
    assert list(
        AuditEvent.objects.filter(action="watch.triage_decided")
        .order_by("pk")
        .values_list("actor_id", "details__decision")
    ) == [(veilleur.pk, "not_pertinent"), (hq.pk, "pertinent")]


def test_a_story_assigned_to_a_veilleur_is_theirs_and_they_are_told(
    hq: Any, veilleur: Any, other_veilleur: Any, watchlist: Watchlist
) -> None:
    story = matched_story("Dupont en meeting", watchlist)
    triage.decide(story=story, user=hq, decision=TriageState.ASSIGNED, assign_to=veilleur)
    row = StoryTriage.objects.get(story=story)
    assert (row.state, row.assigned_to_id, row.locked_by_id) == (
        "assigned",
        veilleur.pk,
        veilleur.pk,
    )
    assert list(Notification.objects.values_list("recipient_id", "kind", "object_id")) == [
        (veilleur.pk, alerts.TRIAGE_ASSIGNED, story.pk)
    ]
    with pytest.raises(triage.Locked):
        triage.decide(story=story, user=other_veilleur, decision=TriageState.PERTINENT)
    triage.decide(story=story, user=veilleur, decision=TriageState.PERTINENT)


def test_a_story_cannot_be_assigned_to_someone_who_does_not_triage_nor_decided_wrongly(
    hq: Any, volunteer: Any, watchlist: Watchlist
) -> None:
    story = matched_story("Dupont en meeting", watchlist)
    before = snapshot()
    with pytest.raises(triage.InvalidDecision):
        triage.decide(story=story, user=hq, decision=TriageState.ASSIGNED, assign_to=volunteer)
    with pytest.raises(triage.InvalidDecision):
        triage.decide(story=story, user=hq, decision=TriageState.ASSIGNED)
    with pytest.raises(triage.InvalidDecision):
        triage.decide(story=story, user=hq, decision="new")
    response = client_of(hq).post(
        reverse("watch:triage_decide", args=[story.pk]), {"decision": "peut-être"}
    )
    assert response.status_code == 302
    assert snapshot() == before


def test_an_urgent_story_raises_one_alert_told_to_hq_never_two(
    veilleur: Any, hq: Any, hq_admin: Any, coordinator: Any, watchlist: Watchlist
) -> None:
    story = matched_story("Dupont visé par une plainte", watchlist, ["dupont", "plainte"])
    triage.decide(story=story, user=veilleur, decision=TriageState.URGENT, note="À relayer vite")
    triage.decide(story=story, user=hq, decision=TriageState.URGENT)

    alert = Alert.objects.get()
    assert (alert.kind, alert.story_id, alert.title) == ("urgent", story.pk, story.title)
    assert alert.explanation["note"] == "À relayer vite"
    assert alert.explanation["top_terms"] == ["dupont", "plainte"]
    assert alert.explanation["watchlists"] == ["Candidats"]
    assert [s["id"] for s in alert.explanation["stories"]] == [story.pk]
    assert alert.explanation["first_sources"] == [Item.objects.get(story=story).url]
    assert sorted(
        Notification.objects.filter(kind=alerts.ALERT).values_list("recipient_id", flat=True)
    ) == sorted([hq.pk, hq_admin.pk])

    page = client_of(hq).get(reverse("watch:alert_detail", args=[alert.pk])).content.decode()
    assert "À relayer vite" in page and "dupont, plainte" in page
    listing = client_of(coordinator).get(reverse("watch:alert_list")).content.decode()
    assert "Dupont visé par une plainte" in listing


@pytest.mark.parametrize("who", ["volunteer", "coordinator", "lapsed"])
def test_those_who_do_not_triage_are_refused_and_change_nothing(
    who: str, volunteer: Any, coordinator: Any, watchlist: Watchlist
) -> None:
    user = {
        "volunteer": volunteer,
        "coordinator": coordinator,
        "lapsed": make_volunteer("ancien@equipe.test", roles={"veilleur": Stage.LAPSED}).user,
    }[who]
    story = matched_story("Dupont en meeting", watchlist)
    client = client_of(user)
    before = snapshot()
    for name in ("triage_take", "triage_release", "triage_decide"):
        response = client.post(reverse(f"watch:{name}", args=[story.pk]), {"decision": "urgent"})
        assert response.status_code == 403
    assert snapshot() == before
    # Coordinators read the queue; the others do not.
    expected = 200 if who == "coordinator" else 403
    assert client.get(reverse("watch:triage_queue")).status_code == expected
    assert client.get(reverse("watch:alert_list")).status_code == expected


def test_the_menu_offers_tri_to_hq_and_coordinators(
    hq_client: Client, volunteer_client: Client
) -> None:
    assert reverse("watch:triage_queue") in hq_client.get(reverse("home")).content.decode()
    assert (
        reverse("watch:triage_queue") not in volunteer_client.get(reverse("home")).content.decode()
    )


def test_a_veilleur_finds_the_triage_on_their_home_page(
    veilleur: Any, volunteer_client: Client, watchlist: Watchlist
) -> None:
    matched_story("Dupont en meeting", watchlist)
    page = client_of(veilleur).get(reverse("home")).content.decode()
    assert 'id="panel-triage"' in page
    assert reverse("watch:triage_queue") in page
    assert 'id="panel-triage"' not in volunteer_client.get(reverse("home")).content.decode()


def test_the_api_lists_alerts_newest_first_for_those_who_see_them(
    hq: Any, coordinator: Any, volunteer: Any, watchlist: Watchlist
) -> None:
    from essaim.api.testing import api_for

    story = matched_story("Dupont en meeting", watchlist)
    triage.decide(story=story, user=hq, decision=TriageState.URGENT)
    spike = Alert.objects.create(kind="spike", watchlist=watchlist, title="Candidats")
    body = api_for(coordinator).get("/api/v1/watch/alerts").json()
    assert [(a["id"], a["kind"]) for a in body["items"]] == [
        (spike.pk, "spike"),
        (Alert.objects.get(kind="urgent").pk, "urgent"),
    ]
    assert body["next"] is None
    only = api_for(hq).get("/api/v1/watch/alerts", kind="urgent").json()
    assert [a["story"] for a in only["items"]] == [story.pk]
    assert api_for(volunteer).get("/api/v1/watch/alerts").status_code == 403


def people_of_the_triage(watchlist: Watchlist) -> tuple[Any, Any, Any, Story]:
    """HQ with a name, and two veilleurs: HQ assigned the story to one, who decided on it."""
    from essaim.accounts.tests.factories import UserFactory

    boss = UserFactory.create(email="helene.secret@qg.test", full_name="Hélène Quartier", hq=True)
    vera = make_volunteer("vera.secret@equipe.test", roles={"veilleur": Stage.ACTIVE})
    vera.first_name = "Véra"
    vera.save(update_fields=["first_name"])
    vera.user.full_name = "Véra Lenoir"
    vera.user.save(update_fields=["full_name"])
    other = make_volunteer("autre.secret@equipe.test", roles={"veilleur": Stage.ACTIVE}).user
    story = matched_story("Dupont en meeting", watchlist)
    triage.decide(story=story, user=boss, decision=TriageState.ASSIGNED, assign_to=vera.user)
    triage.decide(story=story, user=vera.user, decision=TriageState.ASSIGNED, assign_to=boss)
    # The lock has run out: anyone who triages may decide, and sees whom to assign to.
    StoryTriage.objects.filter(story=story).update(
        locked_until=timezone.now() - dt.timedelta(minutes=1)
    )
    return boss, vera.user, other, story


def test_a_veilleur_sees_names_never_addresses_in_the_triage(watchlist: Watchlist) -> None:
    boss, vera, other, story = people_of_the_triage(watchlist)
    client = client_of(other)
    page = client.get(reverse("watch:triage_story", args=[story.pk])).content.decode()
    queue = client.get(reverse("watch:triage_queue"), {"etat": "assigned"}).content.decode()
    for text in (page, queue):
        assert "helene.secret" not in text
        assert "vera.secret" not in text
    # The history says who decided and to whom, by name; the assignees are names too.
    assert "Hélène Q. · <strong>Confié</strong> → Véra L." in page
    assert "Véra L. · <strong>Confié</strong> → Hélène Q." in page
    assert f'<option value="{boss.pk}">Hélène Q.</option>' in page
    assert f'<option value="{vera.pk}">Véra L.</option>' in page
    assert "Confié à Hélène Q." in queue


def test_hq_still_reads_the_names_and_addresses_as_elsewhere(watchlist: Watchlist) -> None:
    from essaim.accounts.tests.factories import UserFactory

    boss, _vera, other, story = people_of_the_triage(watchlist)
    nameless = UserFactory.create(email="sans.nom@qg.test", full_name="", hq=True)
    page = client_of(boss).get(reverse("watch:triage_story", args=[story.pk])).content.decode()
    assert "Hélène Quartier · <strong>Confié</strong> → Véra Lenoir" in page
    assert f'<option value="{nameless.pk}">sans.nom@qg.test</option>' in page
    # A veilleur reads neither the address nor an empty name for an unnamed HQ member.
    seen = client_of(other).get(reverse("watch:triage_story", args=[story.pk])).content.decode()
    assert f'<option value="{nameless.pk}">Quelqu&#x27;un du QG</option>' in seen


def test_a_story_the_watchlists_did_not_match_is_not_the_triage(
    veilleur: Any, hq: Any, watchlist: Watchlist
) -> None:
    item = ItemFactory.create(title="Un sujet du flux", summary="")
    elsewhere = Story.objects.create(title="Un sujet du flux", first_item=item)
    Item.objects.filter(pk=item.pk).update(story=elsewhere)
    before = snapshot()
    for user in (veilleur, hq):
        client = client_of(user)
        assert client.get(reverse("watch:triage_story", args=[elsewhere.pk])).status_code == 404
        for name in ("triage_take", "triage_release", "triage_decide"):
            url = reverse(f"watch:{name}", args=[elsewhere.pk])
            assert client.post(url, {"decision": "urgent"}).status_code == 404
    assert snapshot() == before
    assert not StoryTriage.objects.filter(story=elsewhere).exists()
    matched = matched_story("Dupont en meeting", watchlist)
    assert (
        client_of(veilleur).get(reverse("watch:triage_story", args=[matched.pk])).status_code == 200
    )


def test_the_story_page_is_offered_only_to_those_who_may_open_it(
    veilleur: Any, hq: Any, coordinator: Any, watchlist: Watchlist
) -> None:
    story = matched_story("Dupont en meeting", watchlist)
    link = f'href="{reverse("watch:story_detail", args=[story.pk])}"'
    for user, offered in ((veilleur, False), (hq, True), (coordinator, True)):
        page = client_of(user).get(reverse("watch:triage_story", args=[story.pk])).content.decode()
        assert (link in page) is offered
        if offered:
            assert (
                client_of(user).get(reverse("watch:story_detail", args=[story.pk])).status_code
                == 200
            )
    assert (
        client_of(veilleur).get(reverse("watch:story_detail", args=[story.pk])).status_code == 403
    )


ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
NOT_IDS = ["²", "③", "١٢٣", "", "-1", "9" * 30, "arabic-indic"]


@pytest.mark.parametrize("raw", NOT_IDS)
def test_a_watchlist_filter_not_in_ascii_digits_shows_the_whole_queue(
    veilleur: Any, watchlist: Watchlist, raw: str
) -> None:
    other = Watchlist.objects.create(name="Retraites", kind="topics", query="retraite")
    matched_story("Dupont en meeting", watchlist)
    matched_story("La réforme des retraites", other)
    if raw == "arabic-indic":
        raw = str(other.pk).translate(ARABIC_INDIC)
    response = client_of(veilleur).get(reverse("watch:triage_queue"), {"liste": raw})
    page = response.content.decode()
    assert response.status_code == 200
    assert "La réforme des retraites" in page and "Dupont en meeting" in page


def test_a_watchlist_filter_keeps_working_with_spaces_around(
    veilleur: Any, watchlist: Watchlist
) -> None:
    other = Watchlist.objects.create(name="Retraites", kind="topics", query="retraite")
    matched_story("Dupont en meeting", watchlist)
    matched_story("La réforme des retraites", other)
    page = client_of(veilleur).get(reverse("watch:triage_queue"), {"liste": f" {other.pk} "})
    assert "Dupont en meeting" not in page.content.decode()


@pytest.mark.parametrize("raw", NOT_IDS)
def test_an_assignee_not_in_ascii_digits_is_no_assignee(
    hq: Any, veilleur: Any, watchlist: Watchlist, raw: str
) -> None:
    story = matched_story("Dupont en meeting", watchlist)
    if raw == "arabic-indic":
        raw = str(veilleur.pk).translate(ARABIC_INDIC)
    response = client_of(hq).post(
        reverse("watch:triage_decide", args=[story.pk]),
        {"decision": "assigned", "assign_to": raw},
    )
    assert (response.status_code, response["Location"]) == (
        302,
        reverse("watch:triage_story", args=[story.pk]),
    )
    assert not TriageDecision.objects.exists()
