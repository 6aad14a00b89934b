"""The tracers' pages: a tracer submits a link and reads the answer at once, sees what became of
their submissions and their record; reviewers accept or reject; who sent a link is shown to HQ
and the tracer's coordinator only; each refused role changes nothing. Also the menu, the
notifications, the GDPR report and a `trace` mission proved by a submission."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from essaim.accounts.models import AuditEvent, Notification, User
from essaim.army.models import Claim, Proof, Stage, Volunteer
from essaim.army.services.missions import claim_mission
from essaim.army.tests.factories import make_team, make_volunteer
from essaim.army.tests.mission_helpers import image_upload, make_mission
from essaim.people.services.gdpr import access_report
from essaim.people.tests.factories import make_contact
from essaim.watch.models import Item, Submission
from essaim.watch.services.stories import ingest_items
from essaim.watch.services.submissions import review, submit
from essaim.watch.tests.factories import ItemFactory, SourceFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limits")]

TRACER_URL = reverse("watch:tracer")
QUEUE_URL = reverse("watch:review_queue")


def client_of(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def paris(coordinator: User) -> Any:
    return make_team("Paris 11e", departement="75", coordinators=[coordinator])


@pytest.fixture
def alice(paris: Any) -> Volunteer:
    return make_volunteer(
        "alice@exemple.fr", roles={"traceur": Stage.ACTIVE}, teams=[paris], first_name="Alice"
    )


def state() -> list[tuple[Any, ...]]:
    submissions = Submission.objects.order_by("id").values_list(
        "state", "reason", "reviewed_by", "note"
    )
    counts = (Item.objects.count(), AuditEvent.objects.count(), Notification.objects.count())
    return [*submissions, counts]


def test_a_tracer_submits_and_reads_the_answer_then_their_submission(alice: Volunteer) -> None:
    client = client_of(alice.user)
    page = client.get(TRACER_URL)
    assert page.status_code == 200
    assert page.context["record"].total == 0
    response = client.post(
        TRACER_URL,
        {"url": "https://tv.exemple.fr/emission/12", "time_code": "1:02:03", "urgency": "urgent"},
        follow=True,
    )
    assert [str(m) for m in response.context["messages"]] == [
        "Nouveau : la veille n'avait pas encore ce lien. Merci !"
    ]
    row = Submission.objects.get()
    assert (row.time_code, row.urgency, row.state) == (3723, "urgent", "new")
    body = response.content.decode()
    assert f'id="signalement-{row.pk}"' in body
    assert "à 1:02:03" in body
    assert response.context["record"].total == 1


def test_a_known_link_is_answered_with_its_echo_without_naming_the_other_tracer(
    alice: Volunteer,
) -> None:
    submit(volunteer=alice, url="https://tv.exemple.fr/emission/12")
    Item.objects.update(title="Le journal de 20 h")
    bruno = make_volunteer("bruno@exemple.fr", roles={"veilleur": Stage.ACTIVE})
    response = client_of(bruno.user).post(
        TRACER_URL, {"url": "http://www.tv.exemple.fr/emission/12/?utm_medium=sms"}, follow=True
    )
    assert [str(m) for m in response.context["messages"]] == [
        "Déjà dans la veille : « Le journal de 20 h », vous êtes l'écho n°2."
    ]
    body = response.content.decode()
    assert "alice@exemple.fr" not in body and "Alice" not in body


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"url": "ftp://exemple.fr/x"}, "url"),
        ({"url": "https://exemple.fr/", "time_code": "99:99"}, "time_code"),
        ({"url": ""}, "url"),
    ],
)
def test_a_bad_submission_is_shown_again_with_its_error_and_stores_nothing(
    alice: Volunteer, fields: dict[str, str], error: str
) -> None:
    response = client_of(alice.user).post(TRACER_URL, {"urgency": "normal", **fields})
    assert response.status_code == 400
    assert list(response.context["form"].errors) == [error]
    assert Submission.objects.count() == 0


def test_a_flood_is_refused_with_a_clear_message(alice: Volunteer, settings: Any) -> None:
    settings.WATCH_SUBMISSION_RATE_LIMIT = "2/h"
    client = client_of(alice.user)
    for n in range(2):
        client.post(TRACER_URL, {"url": f"https://exemple.fr/{n}", "urgency": "normal"})
    response = client.post(TRACER_URL, {"url": "https://exemple.fr/9", "urgency": "normal"})
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert (
        response.context["form"]
        .non_field_errors()[0]
        .startswith("Trop de signalements d'un coup : réessayez dans ")
    )
    assert Submission.objects.count() == 2


@pytest.mark.parametrize(
    ("who", "page"),
    [
        ("volunteer", 200),
        ("applied_tracer", 200),
        ("lapsed_veilleur", 200),
        ("coordinator", 403),
        ("hq", 403),
    ],
)
def test_only_active_tracers_and_veilleurs_may_submit(
    who: str, page: int, coordinator: User, hq: User
) -> None:
    users = {
        "volunteer": lambda: make_volunteer("v@ex.fr", roles={"tchatcheur": "active"}).user,
        "applied_tracer": lambda: make_volunteer("a@ex.fr", roles={"traceur": "applied"}).user,
        "lapsed_veilleur": lambda: make_volunteer("l@ex.fr", roles={"veilleur": "lapsed"}).user,
        "coordinator": lambda: coordinator,
        "hq": lambda: hq,
    }
    client = client_of(users[who]())
    response = client.get(TRACER_URL)
    assert response.status_code == page
    if page == 200:
        # A volunteer without the role reads what the roles are and how to get one.
        assert [r.slug for r, _stage, _label in response.context["roles"]] == [
            "traceur",
            "veilleur",
        ]
        assert "form" not in response.context
    before = state()
    response = client.post(TRACER_URL, {"url": "https://exemple.fr/", "urgency": "normal"})
    assert response.status_code == 403
    assert state() == before


def test_a_volunteer_whose_tracer_role_awaits_reads_so() -> None:
    applied = make_volunteer("a@ex.fr", roles={"traceur": "applied"})
    body = client_of(applied.user).get(TRACER_URL).content.decode()
    assert "Candidat" in body
    assert "Un coordinateur de votre équipe activera ce rôle." in body


def test_hq_reviews_and_sees_who_sent_it_the_tracer_is_told(alice: Volunteer, hq: User) -> None:
    row = submit(volunteer=alice, url="https://tv.exemple.fr/emission/12").submission
    client = client_of(hq)
    queue = client.get(QUEUE_URL)
    assert "par Alice" in queue.content.decode()
    response = client.post(
        reverse("watch:submission_review", args=[row.pk]),
        {"decision": "reject", "reason": "Hors de notre sujet"},
        follow=True,
    )
    assert [str(m) for m in response.context["messages"]] == [
        "Signalement écarté : le traceur en connaît la raison."
    ]
    row.refresh_from_db()
    assert (row.state, row.reason, row.reviewed_by) == ("rejected", "Hors de notre sujet", hq)
    notice = Notification.objects.get(recipient=alice.user)
    assert (notice.kind, notice.object_id, notice.read_at) == ("submission_rejected", row.pk, None)
    # The tracer reads why on their page, which reads the notification.
    page = client_of(alice.user).get(TRACER_URL)
    assert "Écarté : Hors de notre sujet" in page.content.decode()
    notice.refresh_from_db()
    assert notice.read_at is not None


def test_the_tracers_coordinator_sees_them_a_veilleur_reviews_without_knowing_who(
    alice: Volunteer, coordinator: User
) -> None:
    row = submit(volunteer=alice, url="https://tv.exemple.fr/emission/12").submission
    assert "par Alice" in client_of(coordinator).get(QUEUE_URL).content.decode()
    veilleur = make_volunteer("vera@exemple.fr", roles={"veilleur": Stage.ACTIVE})
    client = client_of(veilleur.user)
    queue = client.get(QUEUE_URL)
    assert [r.pk for r in queue.context["page"].items] == [row.pk]
    assert "Alice" not in queue.content.decode()
    client.post(reverse("watch:submission_review", args=[row.pk]), {"decision": "accept"})
    row.refresh_from_db()
    assert (row.state, row.reviewed_by) == ("accepted", veilleur.user)


def test_roles_that_may_not_review_change_nothing(
    alice: Volunteer, other_coordinator: User
) -> None:
    make_team("Lyon 3e", departement="69", coordinators=[other_coordinator])
    row = submit(volunteer=alice, url="https://tv.exemple.fr/emission/12").submission
    tracer = make_volunteer("t@exemple.fr", roles={"traceur": Stage.ACTIVE})
    url = reverse("watch:submission_review", args=[row.pk])
    before = state()
    # Another team's coordinator, a tracer, the submission's own tracer: as if it did not exist.
    assert [
        client_of(user).post(url, {"decision": "accept"}).status_code
        for user in (other_coordinator, tracer.user, alice.user)
    ] == [404, 404, 404]
    assert client_of(other_coordinator).get(QUEUE_URL).context["page"].items == []
    assert client_of(tracer.user).get(QUEUE_URL).status_code == 403
    assert state() == before


def test_a_veilleur_may_not_review_their_own_submission() -> None:
    vera = make_volunteer("vera@exemple.fr", roles={"veilleur": Stage.ACTIVE})
    row = submit(volunteer=vera, url="https://tv.exemple.fr/emission/12").submission
    client = client_of(vera.user)
    assert client.get(QUEUE_URL).context["page"].items == []
    before = state()
    response = client.post(
        reverse("watch:submission_review", args=[row.pk]), {"decision": "accept"}
    )
    assert response.status_code == 404
    assert state() == before


def test_the_screenshot_is_for_the_tracer_and_reviewers_only(
    alice: Volunteer, hq: User, other_coordinator: User
) -> None:
    row = submit(
        volunteer=alice, url="https://tv.exemple.fr/emission/12", screenshot=image_upload()
    ).submission
    url = reverse("watch:submission_screenshot", args=[row.pk])
    stranger = make_volunteer("t@exemple.fr", roles={"traceur": Stage.ACTIVE})
    assert [
        client_of(u).get(url).status_code
        for u in (alice.user, hq, other_coordinator, stranger.user)
    ] == [200, 200, 404, 404]


def test_the_menu_offers_signaler_to_tracers_and_signalements_to_reviewers(
    alice: Volunteer, hq: User, volunteer: User
) -> None:
    def entries(user: Any) -> list[str]:
        response = client_of(user).get("/")
        return [entry[0] for entry in response.context["nav_items"]]

    assert ("Signaler" in entries(alice.user), "Signalements" in entries(alice.user)) == (
        True,
        False,
    )
    assert ("Signaler" in entries(hq), "Signalements" in entries(hq)) == (False, True)
    # A veilleur finds the review queue on their page.
    vera = make_volunteer("vera@exemple.fr", roles={"veilleur": Stage.ACTIVE})
    assert QUEUE_URL in client_of(vera.user).get(TRACER_URL).content.decode()
    assert QUEUE_URL not in client_of(alice.user).get(TRACER_URL).content.decode()


def test_the_access_report_lists_the_persons_submissions(alice: Volunteer) -> None:
    contact = make_contact("alice@exemple.fr")
    Volunteer.objects.filter(pk=alice.pk).update(contact=contact)
    submit(volunteer=alice, url="https://tv.exemple.fr/emission/12", time_code="2:03", note="vu")
    report = access_report(contact)
    assert [
        (s["url"], s["time_code"], s["note"], s["state"]) for s in report["watch_submissions"]
    ] == [("https://tv.exemple.fr/emission/12", 123, "vu", "new")]


def test_a_trace_mission_is_proved_by_one_of_the_volunteers_submissions(
    alice: Volunteer, coordinator: User, paris: Any
) -> None:
    mine = submit(volunteer=alice, url="https://tv.exemple.fr/emission/12").submission
    other = make_volunteer("t@exemple.fr", roles={"traceur": Stage.ACTIVE})
    theirs = submit(volunteer=other, url="https://tv.exemple.fr/emission/13").submission
    mission = make_mission(by=coordinator, team=paris, kind="trace", role_slug="traceur")
    claim = claim_mission(volunteer=alice, mission_id=mission.pk)
    client = client_of(alice.user)
    page = client.get(reverse("army:mission_detail", args=[mission.pk]))
    assert [key for key, _label in page.context["form"].fields["pick"].choices] == [
        "",
        str(mine.pk),
    ]
    # Someone else's submission is not a proof of this volunteer's work.
    refused = client.post(reverse("army:mission_prove", args=[mission.pk]), {"pick": theirs.pk})
    assert refused.status_code == 400
    assert Proof.objects.count() == 0
    client.post(reverse("army:mission_prove", args=[mission.pk]), {"pick": mine.pk})
    proof = Proof.objects.get()
    assert [link.url for link in proof.links.all()] == ["https://tv.exemple.fr/emission/12"]
    assert Claim.objects.get(pk=claim.pk).status == "submitted"
    mine.refresh_from_db()
    assert mine.proof == proof


def test_the_tracers_page_costs_the_same_queries_for_few_or_many_submissions(
    alice: Volunteer, hq: User
) -> None:
    client = client_of(alice.user)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(TRACER_URL).status_code == 200
        return len(queries)

    for n in range(2):
        review(
            submission=submit(volunteer=alice, url=f"https://exemple.fr/{n}").submission,
            by=hq,
            accept=True,
        )
    few = count()
    for n in range(2, 7):
        review(
            submission=submit(volunteer=alice, url=f"https://exemple.fr/{n}").submission,
            by=hq,
            accept=False,
            reason="non",
        )
    assert count() == few


def test_a_submission_in_a_story_links_to_it_for_those_who_see_the_stream(
    alice: Volunteer, hq: User
) -> None:
    feed_item = ItemFactory.create(
        source=SourceFactory.create(), url="https://tv.exemple.fr/emission/12", title="Le 20 h"
    )
    ingest_items([feed_item.pk])
    row = submit(volunteer=alice, url="https://tv.exemple.fr/emission/12").submission
    story_id = Item.objects.get(pk=feed_item.pk).story_id
    assert Submission.objects.get(pk=row.pk).item.story_id == story_id
    story_url = reverse("watch:story_detail", args=[story_id])
    hq_queue = client_of(hq).get(QUEUE_URL).content.decode()
    assert "Dans le sujet « Le 20 h » (2 échos)" in hq_queue
    assert story_url in hq_queue
    vera = make_volunteer("vera@exemple.fr", roles={"veilleur": Stage.ACTIVE})
    vera_queue = client_of(vera.user).get(QUEUE_URL).content.decode()
    assert "Dans le sujet « Le 20 h » (2 échos)" in vera_queue
    assert story_url not in vera_queue
    # The tracer reads which story their report joined.
    mine = client_of(alice.user).get(TRACER_URL).content.decode()
    assert "Dans le sujet « Le 20 h » (2 échos)" in mine
