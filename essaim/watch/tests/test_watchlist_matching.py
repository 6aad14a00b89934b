"""Matching items against watchlists: French folding, names exact and topics stemmed, NEAR
within n words in either order, site: and source: filters, and the set-based service."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from essaim.lib.french import fast_fold, word_spans, words
from essaim.lib.text import fold
from essaim.watch.models import Source, Watchlist, WatchlistMatch
from essaim.watch.services.watchlists import backfill, match_items, preview, save_watchlist
from essaim.watch.services.watchlists.matcher import ItemText, Matcher
from essaim.watch.services.watchlists.query import parse
from essaim.watch.tests.factories import ItemFactory, SourceFactory


def matches(kind: str, query: str, text: str, host: str = "blog.exemple.fr") -> bool:
    item = ItemText(1, text, 7, host, frozenset({"le monde", "news"}))
    return bool(Matcher([(1, kind, parse(query))]).match([item]))


# --- Folding ---


def test_words_fold_case_accents_ligatures_and_both_apostrophes() -> None:
    assert words("L'Assemblée, l’Élysée ET qu’ŒUVRE d'Orsay jusqu'à") == [
        "assemblee",
        "elysee",
        "et",
        "oeuvre",
        "orsay",
        "a",
    ]


def test_an_apostrophe_inside_a_word_is_not_an_elision() -> None:
    assert words("aujourd'hui O'Neill") == ["aujourd", "hui", "o", "neill"]


def test_fast_fold_agrees_with_the_reference_fold() -> None:
    sample = "Éric Lefèvre, À L'ÎLE-DE-FRANCE : façade, naïve, Ærø, straße, ÇA"
    assert fast_fold(sample) == fold(sample).replace("æ", "ae")


def test_decomposed_accents_fold_like_composed_ones() -> None:
    assert words("Lefe\u0300vre") == words("Lefèvre") == ["lefevre"]


def test_word_spans_give_the_same_words_as_the_fast_path_with_offsets() -> None:
    text = "« L’Élysée » répond : qu'en dit Jean-Luc ?"
    spans = word_spans(text)
    assert [word for _s, _e, word in spans] == words(text)
    assert [text[start:end] for start, end, _w in spans] == [
        "Élysée",
        "répond",
        "en",
        "dit",
        "Jean",
        "Luc",
    ]


# --- Names and topics ---


def test_names_match_whatever_the_case_accents_or_elision() -> None:
    assert matches("names", "Lefèvre", "Selon LEFEVRE, rien ne change")
    assert matches("names", "lefevre", "l’équipe de Lefèvre")
    assert matches("names", "Élysée", "communiqué de l'Elysée")


def test_names_are_never_stemmed_nor_matched_inside_a_word() -> None:
    assert not matches("names", "Macron", "la macronie s'inquiète")
    assert not matches("names", "Pen", "les stylos penchés")
    assert not matches("names", "Bayrou", "les bayrouistes")


def test_a_multi_word_name_is_matched_as_a_phrase() -> None:
    assert matches("names", '"Le Pen"', "Marine Le Pen en meeting")
    assert not matches("names", '"Le Pen"', "le stylo, un pen anglais")
    # Unquoted, two words are two terms (AND), as anywhere in the language.
    assert matches("names", "Le Pen", "le stylo, un pen anglais")
    assert matches("names", "Jean-Luc Mélenchon", "jean luc melenchon")


def test_topics_are_matched_on_stems() -> None:
    assert matches("topics", "élections", "une election anticipée")
    assert matches("topics", "retraite", "les retraites à 64 ans")
    assert matches("topics", "l'Assemblée", "à l’assemblée nationale")
    assert not matches("topics", "retraite", "un retrait des troupes")


def test_topic_phrases_are_stemmed_word_by_word_and_kept_in_order() -> None:
    assert matches("topics", '"prix de l\'énergie"', "Les prix de l’énergie flambent")
    assert not matches("topics", '"prix de l\'énergie"', "l'énergie de prix")


# --- Operators ---


def test_and_or_not() -> None:
    assert matches("topics", "retraites manifestation", "manifestation contre les retraites")
    assert not matches("topics", "retraites manifestation", "les retraites")
    assert matches("topics", "retraites OR chômage", "le chômage baisse")
    assert not matches("topics", "retraites NOT sondage", "sondage sur les retraites")
    assert matches("topics", "(retraites OR chômage) NOT sondage", "les retraites")


def test_near_counts_the_words_between_in_either_order() -> None:
    query = "retraites NEAR/2 manifestation"
    assert matches("topics", query, "retraites : grande manifestation")  # 1 word between
    assert matches("topics", query, "manifestation pour les retraites")  # 2, reversed
    assert matches("topics", query, "retraites et une grosse manifestation") is False  # 3
    # Fewer words than n also count (PostgreSQL's <N> would want exactly N).
    assert matches("topics", query, "retraites manifestation")


def test_near_with_phrases_measures_from_the_phrase_ends() -> None:
    query = '"Le Pen" NEAR/1 sondage'
    assert matches("names", query, "Le Pen, nouveau sondage")
    assert matches("names", query, "sondage : Le Pen")
    assert not matches("names", query, "Le Pen et un nouveau sondage")


def test_near_looks_at_every_occurrence() -> None:
    text = "retraite " + "x " * 30 + "manifestation " + "y " * 30 + "retraite"
    assert not matches("topics", "retraite NEAR/5 manifestation", text)
    assert matches("topics", "retraite NEAR/30 manifestation", text)


def test_site_includes_subdomains_but_not_lookalikes() -> None:
    assert matches("topics", "site:exemple.fr", "x", host="exemple.fr")
    assert matches("topics", "site:exemple.fr", "x", host="blog.exemple.fr")
    assert not matches("topics", "site:exemple.fr", "x", host="monexemple.fr")
    assert not matches("topics", "site:exemple.fr", "x", host="exemple.fr.evil.com")


def test_source_by_id_or_label() -> None:
    assert matches("topics", "source:7 x", "x")
    assert not matches("topics", "source:8 x", "x")
    assert matches("topics", 'source:"Le Monde" x', "x")
    assert matches("topics", "source:news x", "x")
    assert not matches("topics", "source:blog x", "x")


def test_many_watchlists_share_one_automaton_and_report_their_own_terms() -> None:
    matcher = Matcher(
        [
            (1, "names", parse("Lefèvre OR Dupont")),
            (2, "topics", parse("retraites NOT sondage")),
            (3, "names", parse("Martin")),
        ]
    )
    item = ItemText(5, "Dupont et Lefèvre parlent des retraites", 1, "a.fr", frozenset())
    found = {(m.watchlist_id, tuple(m.terms)) for m in matcher.match([item])}
    assert found == {(1, ("Lefèvre", "Dupont")), (2, ("retraites",))}


# --- The services ---


@pytest.mark.django_db
def test_match_items_records_matches_set_based(django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    Watchlist.objects.create(name="Retraites", kind="topics", query="retraites")
    names = Watchlist.objects.create(name="Lefèvre", kind="names", query="Lefèvre")
    Watchlist.objects.create(name="Off", kind="names", query="Lefèvre", active=False)
    source = SourceFactory.create()
    items = [
        ItemFactory.create(source=source, title=f"Lefevre n°{n}", summary="") for n in range(20)
    ]
    other = ItemFactory.create(source=source, title="Sans rapport", summary="")
    match_items([item.pk for item in items] + [other.pk])  # builds the cache
    WatchlistMatch.objects.all().delete()
    # The cache check, the items, their sources, the insert: however many items.
    with django_assert_num_queries(4):
        count = match_items([item.pk for item in items] + [other.pk])
    assert count == 20
    assert set(WatchlistMatch.objects.values_list("watchlist_id", flat=True)) == {names.pk}
    assert WatchlistMatch.objects.filter(item=items[0]).get().terms == ["Lefèvre"]


@pytest.mark.django_db
def test_the_automaton_is_rebuilt_when_a_watchlist_changes() -> None:
    watchlist = Watchlist.objects.create(name="A", kind="names", query="Dupont")
    item = ItemFactory.create(title="Martin répond", summary="")
    assert match_items([item.pk]) == 0
    save_watchlist(watchlist=watchlist, name="A", kind="names", query="Martin")
    assert match_items([item.pk]) == 1


@pytest.mark.django_db
def test_backfill_replaces_recent_matches_and_keeps_older_ones() -> None:
    watchlist = Watchlist.objects.create(name="A", kind="topics", query="retraites")
    recent = ItemFactory.create(title="Les retraites", summary="")
    old = ItemFactory.create(
        title="Les retraites", summary="", fetched_at=timezone.now() - dt.timedelta(days=60)
    )
    stale = ItemFactory.create(title="Le chômage", summary="")
    WatchlistMatch.objects.create(watchlist=watchlist, item=old, terms=["x"])
    WatchlistMatch.objects.create(watchlist=watchlist, item=stale, terms=["x"])
    assert backfill(watchlist.pk, days=30) == 1
    assert set(WatchlistMatch.objects.values_list("item_id", flat=True)) == {recent.pk, old.pk}
    watchlist.refresh_from_db()
    assert watchlist.backfilled_at is not None


@pytest.mark.django_db
def test_preview_highlights_the_terms_found_in_the_last_seven_days() -> None:
    site = SourceFactory.create(url="https://www.lemonde.fr/rss.xml", site_url="")
    hit = ItemFactory.create(
        source=site,
        url="https://www.lemonde.fr/a/",
        title="Réforme des retraites : l’Assemblée vote",
        summary="<b>Retraite</b> et assemblée",
    )
    ItemFactory.create(title="Les retraites ailleurs", url="https://autre.fr/b/")
    ItemFactory.create(title="Les retraites", fetched_at=timezone.now() - dt.timedelta(days=8))
    result = preview(kind="topics", query="retraites site:lemonde.fr")
    previews = result.previews
    assert (result.total, result.scanned, result.capped) == (1, 2, False)
    assert [p.item.pk for p in previews] == [hit.pk]
    assert previews[0].title == [
        ("Réforme des ", False),
        ("retraites", True),
        (" : l’Assemblée vote", False),
    ]
    assert previews[0].summary == [("<b>", False), ("Retraite", True), ("</b> et assemblée", False)]


@pytest.mark.django_db(transaction=True)
def test_items_a_watcher_stores_are_matched_and_searchable_at_once() -> None:
    from essaim.watch.services.feeds import ParsedItem
    from essaim.watch.services.polling import Limits, Outcome
    from essaim.watch.services.search import search_items
    from essaim.watch.watcher.claims import claim, record

    def parsed(n: int, title: str) -> ParsedItem:
        return ParsedItem(
            key=f"https://blog.exemple.fr/{n}",
            url=f"https://blog.exemple.fr/{n}/",
            guid="",
            title=title,
            summary="",
            author="",
            published_at=None,
            language="fr",
            content_hash=str(n),
        )

    limits = Limits(
        max_bytes=1_000_000, max_items=500, min_interval=300, max_interval=86400, disable_after=5
    )
    watchlist = Watchlist.objects.create(name="A", kind="topics", query="retraites")
    SourceFactory.create(next_poll_at=timezone.now())
    [held] = claim(watcher_id="w1", limit=10, lease_seconds=300)
    outcome = Outcome(
        "ok",
        timezone.now(),
        items=[parsed(1, "Réforme des retraites"), parsed(2, "Météo du jour")],
    )
    assert record(held, outcome, watcher_id="w1", limits=limits) == 2
    [matched] = WatchlistMatch.objects.filter(watchlist=watchlist)
    assert (matched.item.title, matched.terms) == ("Réforme des retraites", ["retraites"])
    assert [i.title for i in search_items("météo")] == ["Météo du jour"]
    # A failed poll stores and matches nothing more.
    Source.objects.update(next_poll_at=timezone.now())
    [held] = claim(watcher_id="w1", limit=10, lease_seconds=300)
    record(held, Outcome("timeout", timezone.now()), watcher_id="w1", limits=limits)
    assert WatchlistMatch.objects.count() == 1


@pytest.mark.django_db
def test_preview_reads_the_newest_items_only_up_to_its_cap_and_says_so() -> None:
    items = [ItemFactory.create(title=f"Retraites {n}", summary="") for n in range(5)]
    result = preview(kind="topics", query="retraites", scan=3)
    assert (result.total, result.scanned, result.capped) == (3, 3, True)
    assert [p.item.pk for p in result.previews] == [i.pk for i in reversed(items[2:])]
    result = preview(kind="topics", query="retraites", scan=5)
    assert (result.total, result.scanned, result.capped) == (5, 5, False)


def test_word_spans_keep_decomposed_accents_with_their_word() -> None:
    text = "M. Lefe\u0300vre parle"
    assert [(text[s:e], w) for s, e, w in word_spans(text)] == [
        ("M", "m"),
        ("Lefe\u0300vre", "lefevre"),
        ("parle", "parle"),
    ]
    assert [w for _s, _e, w in word_spans(text)] == words(text)


def test_an_international_site_is_kept_in_its_ascii_form() -> None:
    assert parse("site:Élysée.fr") == parse("site:xn--lyse-9oad.fr")


@pytest.mark.django_db
def test_a_pause_keeps_the_matches_and_a_return_reviews_again(
    django_capture_on_commit_callbacks: Any,
) -> None:
    watchlist = Watchlist.objects.create(name="A", kind="names", query="Dupont")
    item = ItemFactory.create(title="Dupont répond", summary="")
    WatchlistMatch.objects.create(watchlist=watchlist, item=item, terms=["Dupont"])
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        save_watchlist(watchlist=watchlist, name="A", kind="names", query="Dupont", active=False)
    assert callbacks == []
    assert backfill(watchlist.pk) == 0  # paused: nothing matched, nothing removed
    assert WatchlistMatch.objects.filter(watchlist=watchlist).count() == 1
    later = ItemFactory.create(title="Dupont encore", summary="")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        save_watchlist(watchlist=watchlist, name="A", kind="names", query="Dupont", active=True)
    assert len(callbacks) == 1
    assert set(WatchlistMatch.objects.values_list("item_id", flat=True)) == {item.pk, later.pk}
