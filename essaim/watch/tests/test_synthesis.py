"""The daily synthesis: yesterday's draft from the stories (top by distinct sources, new and
growing, sentences from the earliest original, never from a reprint, volume per watchlist),
edited and published by writers only, archived, and mailed once to each person who asked."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from essaim.accounts.models import AuditEvent
from essaim.army.models import Stage
from essaim.army.tests.factories import VolunteerFactory
from essaim.watch.models import (
    Story,
    Synthesis,
    SynthesisDelivery,
    SynthesisSubscription,
    Watchlist,
    WatchlistMatch,
)
from essaim.watch.services import synthesis as svc
from essaim.watch.tests.factories import ItemFactory, SourceFactory

pytestmark = pytest.mark.django_db

YESTERDAY = timezone.localdate() - dt.timedelta(days=1)


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def at(day: dt.date, hour: int) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def make_story(title: str, *, sources: int, first_day: dt.date, texts: list[str]) -> Story:
    items = []
    for n, text in enumerate(texts):
        items.append(
            ItemFactory.create(
                source=SourceFactory.create(title=f"{title} source {n}"),
                summary=text,
                is_reprint=n == 0 and "AFP" in text,
                seen_at=at(first_day, 8 + n),
            )
        )
    story = Story.objects.create(
        title=title,
        first_item=items[0],
        first_source=items[0].source,
        first_seen=at(first_day, 8),
        items_count=len(items),
        sources_count=sources,
    )
    for item in items:
        item.story = story
        item.save(update_fields=["story"])
    return story


@pytest.fixture
def day() -> dict[str, Story]:
    big = make_story(
        "La réforme",
        sources=5,
        first_day=YESTERDAY,
        texts=[
            "(AFP) Une dépêche reprise. Elle ne doit pas être citée.",
            "<p>Le ministre a <b>annoncé</b> la réforme. Elle entre en vigueur en mai! "
            "Les syndicats protestent. Une quatrième phrase.</p><script>alert(1)</script>",
        ],
    )
    small = make_story(
        "Un petit sujet", sources=1, first_day=YESTERDAY - dt.timedelta(days=3), texts=["Hier."]
    )
    ItemFactory.create(story=small, seen_at=at(YESTERDAY, 12), summary="Suite.")
    make_story("Trop vieux", sources=9, first_day=YESTERDAY - dt.timedelta(days=5), texts=["x."])
    watchlist = Watchlist.objects.create(name="Réforme", query="réforme")
    for item in big.items.all():  # type: ignore[attr-defined]
        WatchlistMatch.objects.create(watchlist=watchlist, item=item, terms=["réforme"])
    return {"big": big, "small": small}


def test_sentences_are_split_plain_and_capped():
    assert svc.sentences("<p>Un. <b>Deux</b> ! Trois ? Quatre.</p>") == ["Un.", "Deux !", "Trois ?"]
    assert svc.sentences("") == []
    assert svc.sentences("&lt;script&gt; A.") == ["<script> A."]


def test_the_draft_ranks_yesterdays_stories_and_quotes_the_earliest_original(day):
    synthesis = svc.make_draft()
    body = synthesis.body
    assert (synthesis.date, synthesis.state) == (YESTERDAY, "draft")
    assert [s["title"] for s in body["stories"]] == ["La réforme", "Un petit sujet"]
    top = body["stories"][0]
    assert top["excerpt"] == [
        "Le ministre a annoncé la réforme.",
        "Elle entre en vigueur en mai!",
        "Les syndicats protestent.",
    ]
    assert top["excerpt_source"] == "La réforme source 1"
    assert body["new"] == [day["big"].pk]
    assert body["growing"] == [day["small"].pk]
    assert body["watchlists"] == [{"name": "Réforme", "items": 2, "stories": 1}]
    assert body["tracers_first"] == []


def test_remaking_a_draft_keeps_its_intro_and_a_published_one_is_left_alone(day, hq):
    synthesis = svc.make_draft()
    svc.edit(synthesis_id=synthesis.pk, by=hq, intro="Mon intro", notes="")
    again = svc.make_draft()
    assert (again.pk, again.intro) == (synthesis.pk, "Mon intro")
    svc.publish(synthesis_id=synthesis.pk, by=hq)
    body = Synthesis.objects.get().body
    ItemFactory.create(story=day["small"], seen_at=at(YESTERDAY, 13))
    svc.make_draft()
    assert Synthesis.objects.get().body == body
    with pytest.raises(svc.AlreadyPublished):
        svc.edit(synthesis_id=synthesis.pk, by=hq, intro="Changé", notes="")
    assert Synthesis.objects.get().intro == "Mon intro"


def test_a_writer_volunteer_edits_and_publishes_and_the_page_escapes_the_web(day, hq):
    writer = VolunteerFactory.create(roles={"redacteur": Stage.ACTIVE}).user
    synthesis = svc.make_draft()
    client = client_for(writer)
    page = client.get(reverse("watch:synthesis_detail", args=[synthesis.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "Le ministre a annoncé la réforme." in html
    assert 'id="chart-synthesis-volume"' in html
    response = client.post(
        reverse("watch:synthesis_edit", args=[synthesis.pk]),
        {"intro": "<b>Journée chargée</b>", "notes": ""},
    )
    assert response.status_code == 302
    page = client.get(reverse("watch:synthesis_detail", args=[synthesis.pk]))
    assert "&lt;b&gt;Journée chargée&lt;/b&gt;" in page.content.decode()
    publish = reverse("watch:synthesis_publish", args=[synthesis.pk])
    # A bare POST (no confirmation) is asked again and publishes nothing.
    assert client.post(publish).status_code == 200
    assert Synthesis.objects.get().state == "draft"
    assert client.post(publish, {"confirm": "1"}).status_code == 302
    synthesis.refresh_from_db()
    assert (synthesis.state, synthesis.edited_by) == ("published", writer)
    assert synthesis.published_at is not None
    assert list(
        AuditEvent.objects.filter(object_type="watch.synthesis")
        .order_by("pk")
        .values_list("action", flat=True)
    ) == ["watch.synthesis_edited", "watch.synthesis_published"]


def test_readers_who_do_not_write_cannot_edit_or_publish_and_nothing_changes(day, coordinator):
    from essaim.army.tests.factories import TeamFactory

    TeamFactory.create(coordinators=[coordinator])
    synthesis = svc.make_draft()
    client = client_for(coordinator)
    assert client.get(reverse("watch:synthesis_detail", args=[synthesis.pk])).status_code == 404
    edit = reverse("watch:synthesis_edit", args=[synthesis.pk])
    assert client.post(edit, {"intro": "x", "notes": ""}).status_code == 403
    publish = reverse("watch:synthesis_publish", args=[synthesis.pk])
    assert client.post(publish, {"confirm": "1"}).status_code == 403
    synthesis.refresh_from_db()
    assert (synthesis.state, synthesis.intro, synthesis.edited_by) == ("draft", "", None)
    assert client.get(reverse("watch:synthesis_list")).context["syntheses"] == []


def test_a_volunteer_without_the_role_sees_no_synthesis(day, volunteer):
    synthesis = svc.make_draft()
    client = client_for(volunteer)
    assert client.get(reverse("watch:synthesis_list")).status_code == 403
    publish = reverse("watch:synthesis_publish", args=[synthesis.pk])
    assert client.post(publish, {"confirm": "1"}).status_code == 403
    assert client.post(reverse("watch:synthesis_subscribe"), {"abonne": "1"}).status_code == 403
    assert SynthesisSubscription.objects.count() == 0
    assert Synthesis.objects.get().state == "draft"


def test_a_published_synthesis_is_mailed_once_to_each_subscriber(
    day, hq, coordinator, django_capture_on_commit_callbacks
):
    from essaim.army.tests.factories import TeamFactory

    TeamFactory.create(coordinators=[coordinator])
    assert (
        client_for(coordinator)
        .post(reverse("watch:synthesis_subscribe"), {"abonne": "1"})
        .status_code
        == 302
    )
    synthesis = svc.make_draft()
    with django_capture_on_commit_callbacks(execute=True):
        svc.publish(synthesis_id=synthesis.pk, by=hq)
    with django_capture_on_commit_callbacks(execute=True):
        assert svc.mail_synthesis(synthesis_id=synthesis.pk) == 0  # the task already sent it
    assert [m.to for m in mail.outbox] == [[coordinator.email]]
    assert "La réforme" in mail.outbox[0].body
    assert SynthesisDelivery.objects.filter(user=coordinator).count() == 1


def test_a_subscriber_who_lost_the_role_that_lets_them_read_syntheses_gets_no_mail(
    day, hq, coordinator, django_capture_on_commit_callbacks
):
    from essaim.accounts.models import Role, User
    from essaim.army.models import RoleAssignment

    writer = VolunteerFactory.create(roles={"redacteur": Stage.ACTIVE}).user
    former = VolunteerFactory.create(roles={"redacteur": Stage.ACTIVE}).user
    for user in (hq, coordinator, writer, former):
        SynthesisSubscription.objects.create(user=user)
    # One writer's role lapsed; the coordinator is a coordinator no longer.
    RoleAssignment.objects.filter(volunteer_id=former.pk).update(stage=Stage.LAPSED)
    User.objects.filter(pk=coordinator.pk).update(role=Role.VOLUNTEER)
    synthesis = svc.make_draft()
    with django_capture_on_commit_callbacks(execute=True):
        svc.publish(synthesis_id=synthesis.pk, by=hq)
    assert sorted(m.to[0] for m in mail.outbox) == sorted([hq.email, writer.email])
    assert set(SynthesisDelivery.objects.values_list("user_id", flat=True)) == {hq.pk, writer.pk}


def test_a_bad_address_fails_its_own_synthesis_mail_only(
    day, hq, coordinator, smtp_recorder, django_capture_on_commit_callbacks
):
    from essaim.accounts.models import User

    # The bad address comes first (subscribers are mailed in the order of their ids).
    bad, good = sorted([hq, coordinator], key=lambda u: u.pk)
    for user in (bad, good):
        SynthesisSubscription.objects.create(user=user)
    User.objects.filter(pk=bad.pk).update(email="pas une adresse")
    synthesis = svc.make_draft()
    with django_capture_on_commit_callbacks(execute=True):
        svc.publish(synthesis_id=synthesis.pk, by=hq)
    assert [m.rcpt_to for m in smtp_recorder.messages] == [[good.email]]


def test_a_draft_is_never_mailed(day, hq):
    SynthesisSubscription.objects.create(user=hq)
    synthesis = svc.make_draft()
    assert svc.mail_synthesis(synthesis_id=synthesis.pk) == 0
    assert mail.outbox == []


def test_the_api_shows_readers_the_published_syntheses_and_writers_the_drafts_too(
    day, hq, hq_api, coordinator, coordinator_api
):
    from essaim.army.tests.factories import TeamFactory

    TeamFactory.create(coordinators=[coordinator])
    draft = Synthesis.objects.create(date=YESTERDAY - dt.timedelta(days=1))
    published = svc.make_draft()
    svc.publish(synthesis_id=published.pk, by=hq)
    listed = coordinator_api.get("/api/v1/watch/syntheses").json()
    assert [s["id"] for s in listed["items"]] == [published.pk]
    assert coordinator_api.get(f"/api/v1/watch/syntheses/{draft.pk}").status_code == 404
    detail = coordinator_api.get(f"/api/v1/watch/syntheses/{published.pk}").json()
    assert detail["body"]["stories"][0]["title"] == "La réforme"
    writer_list = hq_api.get("/api/v1/watch/syntheses").json()
    assert [s["id"] for s in writer_list["items"]] == [published.pk, draft.pk]


@pytest.mark.parametrize("n", [1, 6])
def test_the_archive_runs_a_fixed_number_of_queries(hq, django_assert_num_queries, n):
    for k in range(n):
        Synthesis.objects.create(date=YESTERDAY - dt.timedelta(days=k), state="published")
    client = client_for(hq)
    # session, user, the syntheses, the subscription, the menu badges
    with django_assert_num_queries(5):
        assert client.get(reverse("watch:synthesis_list")).status_code == 200


def test_a_writer_prepares_yesterdays_draft_and_a_reader_cannot(day, hq, coordinator):
    from essaim.army.tests.factories import TeamFactory

    TeamFactory.create(coordinators=[coordinator])
    prepare = reverse("watch:synthesis_prepare")
    assert client_for(coordinator).post(prepare).status_code == 403
    assert Synthesis.objects.count() == 0
    response = client_for(hq).post(prepare)
    synthesis = Synthesis.objects.get()
    assert response["Location"] == reverse("watch:synthesis_detail", args=[synthesis.pk])
    assert (synthesis.date, synthesis.state) == (YESTERDAY, "draft")


def test_the_draft_lists_the_missions_opened_from_stories_that_day(day, hq):
    from essaim.army.models import VolunteerRole
    from essaim.army.services.missions import Targeting
    from essaim.watch.models import StoryMission
    from essaim.watch.services import respond

    mission = respond.open_mission(
        story=day["big"],
        by=hq,
        team=None,
        targeting=Targeting(),
        kind="relay",
        title="Répondre sur la réforme",
        brief="Avec vos mots.",
        role=VolunteerRole.objects.get(slug="tchatcheur"),
        quota=2,
        deadline=timezone.now() + dt.timedelta(days=2),
    )
    StoryMission.objects.update(created_at=at(YESTERDAY, 15))
    assert svc.make_draft().body["missions"] == [
        {
            "id": mission.pk,
            "title": "Répondre sur la réforme",
            "status": "draft",
            "story": day["big"].pk,
            "story_title": "La réforme",
            "accepted": 0,
        }
    ]
    # The day before saw none of them.
    assert svc.build_body(YESTERDAY - dt.timedelta(days=1))["missions"] == []


def test_the_draft_gives_the_days_spikes_with_their_counts_and_stories_on_the_page_and_mail(
    day, hq, django_capture_on_commit_callbacks
):
    from essaim.watch.models import Alert

    explanation = {
        "stories": [{"id": day["big"].pk, "title": "La réforme"}],
        "counts": {"sources": 7, "stories": 2, "baseline_weeks": 1.25, "baseline_hours": 0.5},
    }
    Alert.objects.create(
        kind="spike", title="Réforme", explanation=explanation, created_at=at(YESTERDAY, 9)
    )
    # The day before and an urgent story: not the day's spikes.
    Alert.objects.create(
        kind="spike", title="Hier", explanation={}, created_at=at(YESTERDAY - dt.timedelta(1), 9)
    )
    Alert.objects.create(
        kind="urgent", story=day["small"], title="Urgent", created_at=at(YESTERDAY, 10)
    )
    synthesis = svc.make_draft()
    assert synthesis.body["spikes"] == [
        {
            "watchlist": "Réforme",
            "at": at(YESTERDAY, 9).astimezone(dt.UTC).isoformat(),
            "sources": 7,
            "baseline": 1.25,
            "stories": [{"id": day["big"].pk, "title": "La réforme"}],
        }
    ]
    page = client_for(hq).get(reverse("watch:synthesis_detail", args=[synthesis.pk]))
    section = page.content.decode().split('id="synthesis-spikes"')[1].split("</section>")[0]
    assert "Réforme" in section
    assert "7 sources distinctes en une heure (d'habitude 1,3)" in section
    SynthesisSubscription.objects.create(user=hq)
    with django_capture_on_commit_callbacks(execute=True):
        svc.publish(synthesis_id=synthesis.pk, by=hq)
    assert "Pics des listes de veille\n- Réforme (7 sources distinctes" in mail.outbox[0].body


def test_a_tracer_counts_as_first_when_no_feed_had_fetched_the_story_yet(hq):
    """Ahead of the feeds means before any feed fetched the story, whatever date a feed item
    claims: a feed's item dated 9:00 but fetched at 10:40 came after a report at 10:00."""
    from essaim.army.tests.factories import make_volunteer
    from essaim.watch.models import Submission

    volunteer = make_volunteer("trace@exemple.fr")
    tracers = SourceFactory.create(kind="tracer", url="https://tracers.invalid/")
    outcomes = {}
    for title, fetched_hour in (("Devancé par le traceur", 10), ("Déjà dans les flux", 8)):
        story = Story.objects.create(title=title, first_seen=at(YESTERDAY, 9))
        page = ItemFactory.create(source=tracers, story=story, fetched_at=at(YESTERDAY, 10))
        ItemFactory.create(
            story=story,
            published_at=at(YESTERDAY, 9),
            fetched_at=at(YESTERDAY, fetched_hour) + dt.timedelta(minutes=40),
        )
        Submission.objects.create(
            volunteer=volunteer,
            url=page.url,
            url_key=page.url_key,
            item=page,
            created_at=at(YESTERDAY, 10),
        )
        outcomes[title] = story
    body = svc.make_draft().body
    first = outcomes["Devancé par le traceur"]
    assert body["tracers_first"] == [{"id": first.pk, "title": first.title, "ahead_minutes": 40}]
    shown = client_for(hq).get(reverse("watch:synthesis_detail", args=[Synthesis.objects.get().pk]))
    assert "40 minutes avant les flux" in shown.content.decode()
