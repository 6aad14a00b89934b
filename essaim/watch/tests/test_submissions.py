"""The tracers' submissions as a service: a link is answered at once (new, or already in the
watch with its echo number), read through the guarded fetcher from a real local server, reviewed,
and counted in the tracer's record; bad inputs and floods store nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from essaim.accounts.models import AuditEvent, Notification, User
from essaim.army.models import Stage, Volunteer
from essaim.army.tests.factories import make_volunteer
from essaim.army.tests.mission_helpers import image_upload
from essaim.watch.models import Evidence, Item, ItemBand, Source, Story, Submission
from essaim.watch.services import dedup, stories
from essaim.watch.services import submissions as subs
from essaim.watch.services.evidence import read_warc
from essaim.watch.services.submissions import SubmissionRefused, parse_time_code, submit
from essaim.watch.tests.factories import ItemFactory, SourceFactory
from essaim.watch.tests.server import FeedServer

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limits")]

VIDEO_PAGE = (
    "<html><head><title>Débat : le logement en question</title>"
    '<meta name="description" '
    'content="Le candidat répond sur le logement &lt;b&gt;social&lt;/b&gt;.">'
    "</head><body><script>alert(1)</script><p>Texte de la page</p></body></html>"
).encode()


def tracer(email: str, role: str = "traceur", **kwargs: Any) -> Volunteer:
    return make_volunteer(email, roles={role: Stage.ACTIVE}, **kwargs)


@pytest.fixture
def video(feed_server: FeedServer) -> FeedServer:
    feed_server.route("/video/42", VIDEO_PAGE)
    feed_server.route("/video/42?utm_source=x", VIDEO_PAGE)
    feed_server.route("/video/42?fbclid=abc", VIDEO_PAGE)
    return feed_server


def test_time_codes_read_as_seconds() -> None:
    assert [parse_time_code(t) for t in ("", "12:34", "1:02:03", " 0:05 ", "99:59:59")] == [
        None,
        754,
        3723,
        5,
        359999,
    ]


@pytest.mark.parametrize("text", ["99:99", "60:00", "1:60:00", "12", "1:2:3:4", "ab:cd", "-1:00"])
def test_a_time_code_that_is_not_one_is_refused(text: str) -> None:
    with pytest.raises(SubmissionRefused) as refused:
        parse_time_code(text)
    assert (refused.value.code, refused.value.field) == ("bad_time_code", "time_code")


def test_a_new_link_is_new_then_read_through_the_fetcher(
    video: FeedServer, django_capture_on_commit_callbacks: Any
) -> None:
    alice = tracer("alice@exemple.fr")
    with django_capture_on_commit_callbacks(execute=True):
        submitted = submit(
            volunteer=alice,
            url=video.url("/video/42?utm_source=x#t=3"),
            time_code="12:34",
            note="À 12:34, il se contredit.",
            urgency="urgent",
        )
    assert (submitted.created, submitted.known, submitted.echo) == (True, False, 1)
    assert submitted.answer == "Nouveau : la veille n'avait pas encore ce lien. Merci !"
    row = Submission.objects.select_related("item__source", "item__evidence").get()
    assert (row.url, row.time_code, row.urgency, row.state, row.fetch_state) == (
        video.url("/video/42"),
        754,
        "urgent",
        "new",
        "done",
    )
    item = row.item
    # Sanitized: the description's markup is text, the page's script is not read.
    assert (item.title, item.summary, item.source.kind) == (
        "Débat : le logement en question",
        "Le candidat répond sur le logement social.",
        "tracer",
    )
    assert item.evidence is not None
    assert read_warc(bytes(item.evidence.warc)).body == VIDEO_PAGE
    assert [seen.path for seen in video.requests] == ["/video/42"]
    assert Source.objects.get(kind="tracer").items_count == 1


def test_a_second_tracer_is_told_the_link_is_known_and_their_echo_number(
    video: FeedServer, django_capture_on_commit_callbacks: Any
) -> None:
    alice, bruno, chloe = (tracer(f"{n}@exemple.fr") for n in ("alice", "bruno", "chloe"))
    with django_capture_on_commit_callbacks(execute=True):
        submit(volunteer=alice, url=video.url("/video/42?utm_source=x"))
    with django_capture_on_commit_callbacks(execute=True):
        second = submit(volunteer=bruno, url=video.url("/video/42?fbclid=abc"))
        third = submit(volunteer=chloe, url=video.url("/video/42/"))
    assert (second.created, second.known, second.echo) == (True, True, 2)
    assert second.answer == (
        "Déjà dans la veille : « Débat : le logement en question », vous êtes l'écho n°2."
    )
    assert third.echo == 3
    # One item for the page, read once; the others' reports wait for nothing.
    assert Item.objects.count() == 1
    assert video.hits("/video/42") == 1
    assert list(Submission.objects.order_by("id").values_list("state", "fetch_state")) == [
        ("new", "done"),
        ("merged", "known"),
        ("merged", "known"),
    ]


def test_the_same_link_twice_from_one_tracer_is_one_submission(
    video: FeedServer, django_capture_on_commit_callbacks: Any
) -> None:
    alice = tracer("alice@exemple.fr")
    with django_capture_on_commit_callbacks(execute=True):
        first = submit(volunteer=alice, url=video.url("/video/42"), note="première fois")
        again = submit(volunteer=alice, url=video.url("/video/42?utm_source=x"), note="encore")
    assert (again.created, again.submission.pk, again.echo) == (False, first.submission.pk, 1)
    assert again.answer.startswith("Vous aviez déjà signalé ce lien")
    assert list(Submission.objects.values_list("note", flat=True)) == ["première fois"]
    assert video.hits("/video/42") == 1


def test_a_page_the_feeds_brought_is_known_and_not_fetched_again(video: FeedServer) -> None:
    feed_item = ItemFactory.create(
        source=SourceFactory.create(), url=video.url("/video/42"), title="Vu par un flux"
    )
    submitted = submit(volunteer=tracer("alice@exemple.fr"), url=video.url("/video/42"))
    assert (submitted.known, submitted.echo, submitted.title) == (True, 1, "Vu par un flux")
    assert submitted.answer == "Déjà dans la veille : « Vu par un flux », vous êtes l'écho n°1."
    row = Submission.objects.get()
    assert (row.state, row.fetch_state, row.item.title, row.item.summary) == (
        "merged",
        "known",
        "Vu par un flux",
        feed_item.summary,
    )
    assert video.requests == []


def test_a_page_that_cannot_be_read_keeps_the_submission_and_says_why(
    feed_server: FeedServer, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        submitted = submit(volunteer=tracer("alice@exemple.fr"), url=feed_server.url("/disparu"))
    row = Submission.objects.get()
    assert (submitted.created, row.state, row.fetch_state, row.fetch_error) == (
        True,
        "new",
        "failed",
        "http_404",
    )
    assert row.fetch_message == "Adresse introuvable sur le site (HTTP 404)"
    assert (row.item.title, row.item.evidence) == ("", None)


def test_a_private_address_is_refused_by_the_fetcher_and_the_report_kept(
    settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.FETCH_ALLOW_ADDRESSES = []
    with django_capture_on_commit_callbacks(execute=True):
        submit(volunteer=tracer("alice@exemple.fr"), url="http://127.0.0.1/admin")
    row = Submission.objects.get()
    assert (row.fetch_state, row.fetch_error) == ("failed", "forbidden_address")
    assert Evidence.objects.count() == 0


def test_a_failed_page_is_fetched_again_when_another_tracer_reports_it(
    feed_server: FeedServer, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        submit(volunteer=tracer("alice@exemple.fr"), url=feed_server.url("/video/42"))
    feed_server.route("/video/42", VIDEO_PAGE)
    with django_capture_on_commit_callbacks(execute=True):
        second = submit(volunteer=tracer("bruno@exemple.fr"), url=feed_server.url("/video/42"))
    assert second.echo == 2
    assert list(Submission.objects.order_by("id").values_list("fetch_state", flat=True)) == [
        "failed",
        "done",
    ]
    assert Item.objects.get().title == "Débat : le logement en question"


def test_a_page_read_after_a_failed_fetch_is_placed_again_and_its_story_titled(
    feed_server: FeedServer, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        submit(volunteer=tracer("alice@exemple.fr"), url=feed_server.url("/video/42"))
    failed = Item.objects.get()
    # Unread, it was placed by its address alone: a story with no title.
    assert failed.story is not None
    assert (failed.story.title, failed.title_hash) == ("", "")
    story_id = failed.story_id
    feed_server.route("/video/42", VIDEO_PAGE)
    with django_capture_on_commit_callbacks(execute=True):
        submit(volunteer=tracer("bruno@exemple.fr"), url=feed_server.url("/video/42"))
    item = Item.objects.select_related("story").get()
    assert item.story is not None
    assert item.title == "Débat : le logement en question"
    assert item.title_hash != ""
    assert ItemBand.objects.filter(item=item).count() == dedup.BANDS
    # Still alone: the story it had (its triage, its alerts), now with its title.
    assert item.story_id == story_id
    assert (item.story.title, item.story.items_count, item.match) == (
        "Débat : le logement en question",
        1,
        "first",
    )
    assert Story.objects.count() == 1


def test_a_page_read_after_a_failed_fetch_joins_the_feeds_story_of_the_same_text(
    feed_server: FeedServer, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    settings.WATCH_MERGE_MIN_WORDS = 5
    with django_capture_on_commit_callbacks(execute=True):
        submit(volunteer=tracer("alice@exemple.fr"), url=feed_server.url("/video/42"))
    left = Item.objects.get().story_id
    # A veilleur had already decided on the untitled story: the decision must not be lost.
    from essaim.watch.models import TriageDecision

    assert left is not None
    TriageDecision.objects.create(story_id=left, decision="urgent", note="à voir")
    # Meanwhile a feed carried the same text under another address.
    feed_item = ItemFactory.create(
        url="https://journal.exemple.fr/debat-logement",
        title="Débat : le logement en question",
        summary="Le candidat répond sur le logement social.",
    )
    feed_story = stories.ingest_items([feed_item.pk])[feed_item.pk]
    assert feed_story != left
    feed_server.route("/video/42", VIDEO_PAGE)
    with django_capture_on_commit_callbacks(execute=True):
        submit(volunteer=tracer("bruno@exemple.fr"), url=feed_server.url("/video/42"))
    item = Item.objects.get(source__kind="tracer")
    assert (item.story_id, item.match, item.is_reprint) == (feed_story, "text", True)
    # The untitled story it leaves, now empty, is gone; the reports are merged into the feed's.
    assert list(Story.objects.values_list("pk", "items_count")) == [(feed_story, 2)]
    assert list(TriageDecision.objects.values_list("story_id", "note")) == [(feed_story, "à voir")]
    assert list(Submission.objects.order_by("pk").values_list("state", flat=True)) == [
        "merged",
        "merged",
    ]


def test_a_failed_fetch_again_leaves_the_placed_page_as_it_was(
    feed_server: FeedServer, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        submit(volunteer=tracer("alice@exemple.fr"), url=feed_server.url("/video/42"))
    before = Item.objects.values_list("story_id", "ingested_at", "match").get()
    with django_capture_on_commit_callbacks(execute=True):
        submit(volunteer=tracer("bruno@exemple.fr"), url=feed_server.url("/video/42"))
    assert Item.objects.values_list("story_id", "ingested_at", "match").get() == before
    assert Story.objects.count() == 1


@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [
        ({"url": "pas une adresse"}, "bad_url", "url"),
        ({"url": "javascript:alert(1)"}, "bad_url", "url"),
        ({"url": "ftp://exemple.fr/fichier"}, "bad_url", "url"),
        ({"url": "https://user:pw@exemple.fr/"}, "bad_url", "url"),
        ({"url": "https://exemple.fr/", "time_code": "99:99"}, "bad_time_code", "time_code"),
        ({"url": "https://exemple.fr/", "note": "x" * 2001}, "note_too_long", "note"),
        ({"url": "https://exemple.fr/", "urgency": "panique"}, "bad_urgency", "urgency"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_stored(
    fields: dict[str, str], code: str, field: str
) -> None:
    alice = tracer("alice@exemple.fr")
    with pytest.raises(SubmissionRefused) as refused:
        submit(volunteer=alice, **fields)  # type: ignore[arg-type]
    assert (refused.value.code, refused.value.field) == (code, field)
    assert (Submission.objects.count(), Item.objects.count()) == (0, 0)


def test_a_screenshot_is_reencoded_and_a_bad_or_huge_one_refused(settings: Any) -> None:
    alice = tracer("alice@exemple.fr")
    submit(volunteer=alice, url="https://exemple.fr/a", screenshot=image_upload(exif=True))
    kept = Submission.objects.get()
    assert str(kept.screenshot.name).startswith(f"submissions/{alice.pk}/")
    assert b"PhoneMaker" not in kept.screenshot.read()
    huge = SimpleUploadedFile("capture.png", b"\x89PNG" + b"0" * (8 * 1024 * 1024 + 1))
    for upload, words in (
        (SimpleUploadedFile("x.svg", b"<svg/>"), "Ce fichier n'est pas une image"),
        (huge, "Capture trop lourde (8 Mo au plus)."),
    ):
        with pytest.raises(SubmissionRefused) as refused:
            submit(volunteer=alice, url="https://exemple.fr/b", screenshot=upload)
        assert (refused.value.code, refused.value.field) == ("bad_screenshot", "screenshot")
        assert refused.value.message.startswith(words)
    assert Submission.objects.count() == 1


def test_a_flood_from_one_tracer_is_refused_with_the_minutes_to_wait(settings: Any) -> None:
    settings.WATCH_SUBMISSION_RATE_LIMIT = "3/h"
    alice, bruno = tracer("alice@exemple.fr"), tracer("bruno@exemple.fr")
    for n in range(3):
        submit(volunteer=alice, url=f"https://exemple.fr/{n}")
    with pytest.raises(SubmissionRefused) as refused:
        submit(volunteer=alice, url="https://exemple.fr/3")
    assert refused.value.code == "flood"
    assert refused.value.message.startswith("Trop de signalements d'un coup : réessayez dans ")
    assert 0 < refused.value.retry_after <= 3600
    # A link already submitted is still answered; another tracer is not held back.
    assert submit(volunteer=alice, url="https://exemple.fr/0").created is False
    assert submit(volunteer=bruno, url="https://exemple.fr/3").created is True
    assert Submission.objects.filter(volunteer=alice).count() == 3


def test_review_accepts_or_rejects_with_a_reason_audited_and_told(hq: User) -> None:
    alice = tracer("alice@exemple.fr")
    one = submit(volunteer=alice, url="https://exemple.fr/1").submission
    two = submit(volunteer=alice, url="https://exemple.fr/2").submission
    subs.review(submission=one, by=hq, accept=True)
    with pytest.raises(SubmissionRefused) as refused:
        subs.review(submission=two, by=hq, accept=False, reason="  ")
    assert refused.value.code == "reason_required"
    subs.review(submission=two, by=hq, accept=False, reason="Hors sujet")
    assert list(
        Submission.objects.order_by("id").values_list("state", "reason", "reviewed_by")
    ) == [("accepted", "", hq.pk), ("rejected", "Hors sujet", hq.pk)]
    assert list(
        AuditEvent.objects.filter(action__startswith="watch.")
        .order_by("id")
        .values_list("action", "object_type", "object_id", "details")
    ) == [
        ("watch.submission_accepted", "watch.submission", str(one.pk), {}),
        ("watch.submission_rejected", "watch.submission", str(two.pk), {"reason": "Hors sujet"}),
    ]
    assert sorted(
        Notification.objects.filter(recipient=alice.user).values_list("kind", "object_id")
    ) == [("submission_accepted", one.pk), ("submission_rejected", two.pk)]
    # Decided once: a second decision changes nothing.
    with pytest.raises(SubmissionRefused) as again:
        subs.review(submission=one, by=hq, accept=False, reason="Finalement non")
    assert again.value.code == "not_open"
    assert Submission.objects.get(pk=one.pk).state == "accepted"


def test_the_record_counts_the_accepted_share_and_the_minutes_ahead_of_the_feeds(
    hq: User,
) -> None:
    alice = tracer("alice@exemple.fr")
    now = timezone.now()
    urls = [f"https://exemple.fr/{n}" for n in range(4)]
    rows = [submit(volunteer=alice, url=url).submission for url in urls]
    Submission.objects.filter(pk__in=[r.pk for r in rows]).update(
        created_at=now - timedelta(hours=2)
    )
    feeds = SourceFactory.create()
    # Feeds brought the first page 30 minutes later, the second 90 minutes later; the third
    # they had an hour before the tracer; the fourth never.
    ItemFactory.create(source=feeds, url=urls[0], fetched_at=now - timedelta(minutes=90))
    ItemFactory.create(source=feeds, url=urls[1], fetched_at=now - timedelta(minutes=30))
    ItemFactory.create(source=feeds, url=urls[2], fetched_at=now - timedelta(hours=3))
    subs.review(submission=rows[0], by=hq, accept=True)
    subs.review(submission=rows[1], by=hq, accept=True)
    subs.review(submission=rows[2], by=hq, accept=False, reason="Déjà vu")
    record = subs.record(alice)
    assert (record.total, record.accepted, record.rejected, record.accepted_percent) == (
        4,
        2,
        1,
        67,
    )
    assert (record.found_first, record.ahead_minutes) == (2, 60)


def test_the_record_of_a_new_tracer_is_empty() -> None:
    record = subs.record(tracer("alice@exemple.fr"))
    assert (record.total, record.accepted_percent, record.found_first, record.ahead_minutes) == (
        0,
        None,
        0,
        None,
    )


LONG_SUMMARY = (
    "Le candidat a détaillé ce soir son plan pour le logement social : deux cent mille "
    "logements par an, un encadrement des loyers dans les grandes villes et la fin des "
    "expulsions sans relogement, devant les habitants du quartier."
)


def test_a_page_of_a_known_story_is_answered_with_the_story_and_a_copy_is_merged(
    feed_server: FeedServer, django_capture_on_commit_callbacks: Any
) -> None:
    feed_item = ItemFactory.create(
        source=SourceFactory.create(),
        url=feed_server.url("/video/42"),
        title="Logement : le plan du candidat",
        summary=LONG_SUMMARY,
    )
    stories.ingest_items([feed_item.pk])
    story = Item.objects.get(pk=feed_item.pk).story
    assert story is not None
    Story.objects.filter(pk=story.pk).update(title="Le plan logement")
    # The same page, another spelling: the story's title, the first tracer's report of it.
    first = submit(volunteer=tracer("alice@exemple.fr"), url=feed_server.url("/video/42?at_x=1"))
    assert first.answer == "Déjà dans la veille : « Le plan logement », vous êtes l'écho n°1."
    assert Submission.objects.get().item.story_id == story.pk
    # Another address with the same text: new at first, merged into the story once read.
    replay = (
        "<html><head><title>Logement : le plan du candidat</title>"
        f'<meta name="description" content="{LONG_SUMMARY}"></head><body></body></html>'
    )
    feed_server.route("/replay/42", replay.encode())
    with django_capture_on_commit_callbacks(execute=True):
        second = submit(volunteer=tracer("bruno@exemple.fr"), url=feed_server.url("/replay/42"))
    assert (second.known, second.echo) == (False, 1)
    row = Submission.objects.get(pk=second.submission.pk)
    assert (row.state, row.fetch_state, row.item.story_id) == ("merged", "done", story.pk)
    # A third report, of the replay, counts the story's reports (the ingest titled the story
    # after its first original item again).
    third = submit(volunteer=tracer("chloe@exemple.fr"), url=feed_server.url("/replay/42"))
    assert Story.objects.get(pk=story.pk).title == "Logement : le plan du candidat"
    assert third.answer == (
        "Déjà dans la veille : « Logement : le plan du candidat », vous êtes l'écho n°3."
    )


def test_a_tracer_is_ahead_of_the_feeds_when_a_feed_later_brings_the_same_story(
    feed_server: FeedServer, django_capture_on_commit_callbacks: Any
) -> None:
    page = (
        "<html><head><title>Logement : le plan du candidat</title>"
        f'<meta name="description" content="{LONG_SUMMARY}"></head><body></body></html>'
    )
    feed_server.route("/replay/42", page.encode())
    alice = tracer("alice@exemple.fr")
    with django_capture_on_commit_callbacks(execute=True):
        row = submit(volunteer=alice, url=feed_server.url("/replay/42")).submission
    Submission.objects.filter(pk=row.pk).update(created_at=timezone.now() - timedelta(hours=1))
    # Forty minutes later a feed brings the same text under another address.
    later = ItemFactory.create(
        source=SourceFactory.create(),
        url="https://journal.exemple.fr/logement",
        title="Logement : le plan du candidat",
        summary=LONG_SUMMARY,
        fetched_at=timezone.now() - timedelta(minutes=20),
    )
    stories.ingest_items([later.pk])
    assert Item.objects.get(pk=later.pk).story_id == Submission.objects.get().item.story_id
    record = subs.record(alice)
    assert (record.found_first, record.ahead_minutes) == (1, 40)
