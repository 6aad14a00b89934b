"""What one poll means for a source: outcomes from responses, and the source's next state."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest

from essaim.lib.fetcher import FetchError, FetchResult
from essaim.watch.services.evidence import read_warc
from essaim.watch.services.feeds import ParsedItem
from essaim.watch.services.polling import (
    DEFERRED,
    Claimed,
    Limits,
    Outcome,
    adapt_interval,
    conditional_headers,
    interpret,
    next_state,
)
from essaim.watch.tests.server import fixture

NOW = dt.datetime(2027, 3, 10, 12, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)
LIMITS = Limits(
    max_bytes=10 * 1024 * 1024, max_items=500, min_interval=300, max_interval=86400, disable_after=5
)


def claimed(**kw: object) -> Claimed:
    values: dict[str, object] = {
        "id": 1,
        "url": "https://blog.exemple.fr/feed/",
        "kind": "feed",
        "etag": "",
        "last_modified": "",
        "body_hash": "",
        "interval": 1800,
        "failure_score": 0.0,
        "status": "ok",
    }
    values.update(kw)
    return Claimed(**values)  # type: ignore[arg-type]


def response(body: bytes, status: int = 200, **headers: str) -> FetchResult:
    return FetchResult(
        url="https://blog.exemple.fr/feed/",
        final_url="https://blog.exemple.fr/feed/",
        status=status,
        headers={k.replace("_", "-"): v for k, v in headers.items()},
        body=body,
        not_modified=status == 304,
        elapsed=0.25,
    )


def test_a_feed_gives_its_items_validators_hash_and_evidence() -> None:
    body = fixture("blog_feed.xml")
    outcome = interpret(
        claimed(),
        response(
            body,
            etag='"v1"',
            last_modified="Tue, 09 Mar 2027 18:30:00 GMT",
            content_type="application/rss+xml",
        ),
        fetched_at=NOW,
        limits=LIMITS,
    )
    assert (outcome.code, outcome.http_status, outcome.elapsed_ms) == ("ok", 200, 250)
    assert len(outcome.items) == 3
    assert (outcome.etag, outcome.last_modified) == ('"v1"', "Tue, 09 Mar 2027 18:30:00 GMT")
    assert outcome.body_hash == hashlib.sha256(body).hexdigest()
    assert outcome.title == "Le blog de Jeanne Martin"
    evidence = outcome.evidence
    assert evidence is not None
    assert (evidence.size, evidence.sha256) == (len(body), outcome.body_hash)
    archived = read_warc(evidence.warc)
    assert (archived.url, archived.status, archived.body) == (
        "https://blog.exemple.fr/feed/",
        200,
        body,
    )
    assert ("etag", '"v1"') in archived.headers
    assert archived.date == "2027-03-10T12:00:00Z"
    assert len(evidence.warc) < len(body)  # gzipped


def test_a_304_and_a_same_body_are_unchanged_and_bring_nothing() -> None:
    body = fixture("blog_feed.xml")
    source = claimed(etag='"v1"', body_hash=hashlib.sha256(body).hexdigest())
    assert conditional_headers(source) == {"If-None-Match": '"v1"'}
    assert interpret(source, response(b"", 304), fetched_at=NOW, limits=LIMITS).code == (
        "not_modified"
    )
    same = interpret(source, response(body), fetched_at=NOW, limits=LIMITS)
    assert (same.code, same.items, same.evidence) == ("unchanged", [], None)


def test_failures_carry_their_code() -> None:
    refused = FetchError("forbidden_address", "L'adresse 10.0.0.1 est interne.")
    outcome = interpret(claimed(), refused, fetched_at=NOW, limits=LIMITS)
    assert (outcome.code, outcome.message, outcome.http_status) == (
        "forbidden_address",
        "L'adresse 10.0.0.1 est interne.",
        None,
    )
    slow = interpret(
        claimed(), response(b"", 429, retry_after="120"), fetched_at=NOW, limits=LIMITS
    )
    assert (slow.code, slow.retry_after) == ("http_429", 120.0)
    page = interpret(claimed(), response(fixture("blog_home.html")), fetched_at=NOW, limits=LIMITS)
    assert page.code == "not_a_feed"
    bomb = interpret(
        claimed(), response(fixture("billion_laughs.xml")), fetched_at=NOW, limits=LIMITS
    )
    assert (bomb.code, bomb.items) == ("xml_entities", [])


def test_a_watched_page_changes_only_when_its_visible_text_does() -> None:
    source = claimed(kind="page", url="https://candidat.exemple.fr/programme/")
    first = interpret(source, response(fixture("blog_home.html")), fetched_at=NOW, limits=LIMITS)
    assert first.code == "ok"
    assert first.page is not None
    assert (first.page.key, first.page.title) == (
        "https://candidat.exemple.fr/programme",
        "Le blog de Jeanne Martin – Carnet de campagne",
    )
    # A new script or tracker is not a change; new words are.
    source.body_hash = first.body_hash or ""
    noisy = fixture("blog_home.html").replace(b'"x"', b'"y-123"')
    assert interpret(source, response(noisy), fetched_at=NOW, limits=LIMITS).code == "unchanged"
    edited = fixture("blog_home.html").replace(b"Montreuil", b"Bagnolet")
    assert interpret(source, response(edited), fetched_at=NOW, limits=LIMITS).code == "ok"


def outcome(code: str, items: int = 0, retry_after: float | None = None) -> Outcome:
    made = Outcome(code, NOW, retry_after=retry_after)
    made.items = [object()] * items  # type: ignore[list-item]
    return made


def test_a_success_halves_the_score_and_adapts_the_interval() -> None:
    source = claimed(failure_score=1.5, status="failing", last_new_at=NOW - HOUR)
    mostly_new = next_state(source, outcome("ok", items=10), new_items=8, limits=LIMITS)
    # 8 of 10 new: aim at half new, 1800 × 0.5 / 0.8.
    assert (mostly_new.status, mostly_new.failure_score, mostly_new.interval) == ("ok", 0.75, 1125)
    assert mostly_new.next_poll_at == NOW + dt.timedelta(seconds=1125)
    assert next_state(source, outcome("ok", items=10), new_items=5, limits=LIMITS).interval == 1800
    assert (
        next_state(claimed(failure_score=0.08), outcome("ok"), new_items=0, limits=LIMITS)
    ).failure_score == 0.0


@pytest.mark.parametrize(
    ("interval", "seen", "new", "quiet_for", "expected"),
    [
        # Mostly new: shorter, in proportion, halved at most.
        (1800, 10, 10, HOUR, 900),
        (1800, 10, 8, HOUR, 1125),
        (1800, 20, 20, HOUR, 900),
        # Half new: the pace we aim at, unchanged.
        (1800, 10, 5, HOUR, 1800),
        # New among repeats: longer, in proportion, doubled at most.
        (1800, 10, 4, HOUR, 2250),
        (1800, 10, 1, HOUR, 3600),
        (1800, 50, 1, HOUR, 3600),
        # Nothing new (repeats, unchanged, 304): Media Cloud's rule, as long as the source has
        # been quiet plus the minimum, never shorter than now.
        (1800, 10, 0, HOUR, 3900),
        (1800, 0, 0, 3 * HOUR, 3 * 3600 + 300),
        (1800, 10, 0, dt.timedelta(minutes=10), 1800),
        (7200, 0, 0, dt.timedelta(days=2), 86400),
        # A source that never brought anything new waits twice as long; a first poll (all new,
        # nothing before) keeps its interval.
        (1800, 0, 0, None, 3600),
        (1800, 12, 12, None, 1800),
        # Within WATCH_MIN_INTERVAL and WATCH_MAX_INTERVAL.
        (400, 10, 10, HOUR, 300),
        (60_000, 10, 1, HOUR, 86400),
    ],
)
def test_the_interval_follows_how_much_of_each_poll_is_new(
    interval: int, seen: int, new: int, quiet_for: dt.timedelta | None, expected: int
) -> None:
    quiet_since = None if quiet_for is None else NOW - quiet_for
    assert (
        adapt_interval(
            interval, seen=seen, new=new, quiet_since=quiet_since, now=NOW, limits=LIMITS
        )
        == expected
    )


def test_a_changed_page_counts_as_news_for_its_interval() -> None:
    page = outcome("ok")
    page.page = ParsedItem(
        key="k",
        url="",
        guid="",
        title="",
        summary="",
        author="",
        published_at=None,
        language="",
        content_hash="h",
    )
    source = claimed(kind="page", last_new_at=NOW - HOUR)
    # Its item was updated, not created (0 stored as new), and still the page moved: shorter.
    assert next_state(source, page, new_items=0, limits=LIMITS).interval == 900


@pytest.mark.parametrize(
    ("code", "score"),
    [
        ("dns_error", 1.0),
        ("http_404", 1.0),
        ("not_a_feed", 1.0),
        ("timeout", 0.5),
        ("http_500", 0.5),
        ("http_429", 0.25),
    ],
)
def test_failures_count_fractionally(code: str, score: float) -> None:
    state = next_state(claimed(), outcome(code), new_items=0, limits=LIMITS)
    assert (state.status, state.failure_score) == ("failing", score)
    assert state.next_poll_at == NOW + dt.timedelta(seconds=1800 * 2**score)


def test_retry_after_is_honoured_up_to_a_day_and_counts_a_quarter() -> None:
    state = next_state(
        claimed(), outcome("http_503", retry_after=120.0), new_items=0, limits=LIMITS
    )
    assert (state.failure_score, state.next_poll_at) == (0.25, NOW + dt.timedelta(seconds=120))
    far = next_state(claimed(), outcome("http_429", retry_after=1e9), new_items=0, limits=LIMITS)
    assert far.next_poll_at == NOW + dt.timedelta(days=1)


def test_a_source_is_disabled_when_its_score_reaches_the_limit() -> None:
    state = next_state(claimed(failure_score=4.0), outcome("dns_error"), new_items=0, limits=LIMITS)
    assert (state.status, state.failure_score) == ("disabled", 5.0)
    # Failing every other poll still gets there: a success only halves the score.
    score = 0.0
    for _ in range(20):
        score = next_state(
            claimed(failure_score=score), outcome("http_404"), new_items=0, limits=LIMITS
        ).failure_score
        if score >= 5:
            break
        score = next_state(
            claimed(failure_score=score), outcome("ok"), new_items=0, limits=LIMITS
        ).failure_score
    assert score < 5  # one in two: 1 → 0.5 → 1.5 → 0.75 → 1.75…: it settles below two


def test_a_deferred_poll_changes_nothing_but_the_next_poll() -> None:
    source = claimed(failure_score=1.0, status="failing")
    state = next_state(source, outcome(DEFERRED, retry_after=60.0), new_items=0, limits=LIMITS)
    assert (state.status, state.failure_score, state.interval) == ("failing", 1.0, 1800)
    assert state.next_poll_at == NOW + dt.timedelta(seconds=60)
