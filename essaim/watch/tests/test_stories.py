"""Stories: items de-duplicated in layers (address, text, title within a source, near-duplicates
through the MinHash bands) and grouped, with originals and reprints counted apart."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from essaim.watch.models import Item, ItemBand, Match, MergeSuggestion, Story
from essaim.watch.services import dedup
from essaim.watch.services.stories import (
    ingest_items,
    ingest_pending,
    prune_bands,
    refresh_counts,
)
from essaim.watch.tests.factories import ItemFactory, SourceFactory

pytestmark = pytest.mark.django_db

DISPATCH = (
    "PARIS (AFP) - Le Premier ministre a annoncé mardi une réforme du financement des "
    "collectivités locales, qui devrait priver les communes rurales de près de 300 millions "
    "d'euros de dotations dès l'an prochain. Les associations d'élus ont dénoncé une décision "
    "prise sans concertation et promettent de saisir le Conseil d'État si le texte est publié "
    "en l'état au Journal officiel."
)
OTHER = (
    "Le conseil municipal de Rennes a adopté lundi soir son budget primitif pour l'année "
    "prochaine, marqué par une hausse de 4 % des dépenses de fonctionnement et un plan "
    "d'investissement de 120 millions d'euros consacré aux écoles, aux transports et à la "
    "rénovation énergétique des bâtiments publics de la ville."
)


def make(**fields: Any) -> Item:
    fields.setdefault("published_at", timezone.now() - dt.timedelta(hours=1))
    return ItemFactory.create(**fields)


def test_forty_reprints_of_one_dispatch_are_one_story_with_forty_echoes() -> None:
    sources = SourceFactory.create_batch(40)
    start = timezone.now() - dt.timedelta(hours=5)
    items = [
        make(
            source=source,
            title="Dotations : les communes rurales privées de 300 millions d'euros",
            summary=DISPATCH if n % 2 else DISPATCH.replace("PARIS (AFP) - ", "") + " (avec AFP)",
            published_at=start + dt.timedelta(minutes=n),
        )
        for n, source in enumerate(sources)
    ]
    placed = ingest_items([i.pk for i in items])

    assert len(set(placed.values())) == 1
    story = Story.objects.get()
    assert (story.items_count, story.sources_count) == (40, 40)
    assert (story.originals_count, story.reprints_count) == (0, 40)
    assert story.first_item_id == items[0].pk
    assert story.first_source_id == sources[0].pk
    assert story.first_seen == start
    assert story.last_seen == start + dt.timedelta(minutes=39)


def test_a_different_event_starts_its_own_story() -> None:
    first = make(title="Dotations en baisse", summary=DISPATCH)
    second = make(title="Rennes vote son budget", summary=OTHER)
    placed = ingest_items([first.pk, second.pk])
    assert placed[first.pk] != placed[second.pk]
    assert Story.objects.count() == 2
    assert MergeSuggestion.objects.count() == 0


def test_items_placed_in_separate_batches_find_each_other_through_the_stored_bands() -> None:
    first = make(title="Dotations en baisse pour les communes", summary=DISPATCH)
    ingest_items([first.pk])
    assert ItemBand.objects.filter(item=first).count() == dedup.BANDS
    edited = make(
        title="Les maires ruraux en colère",
        summary=DISPATCH.replace("mardi", "ce mardi").replace("près de", "environ")
        + " Le maire de Guéret s'est dit « sidéré ».",
    )
    placed = ingest_items([edited.pk])
    edited.refresh_from_db()
    first.refresh_from_db()
    assert placed[edited.pk] == first.story_id
    assert edited.match == Match.NEAR
    assert edited.similarity is not None and edited.similarity >= 0.6


def test_calling_the_ingest_twice_changes_nothing() -> None:
    item = make(summary=DISPATCH)
    ingest_items([item.pk])
    ingest_items([item.pk])
    assert Story.objects.count() == 1
    assert ItemBand.objects.count() == dedup.BANDS
    assert ingest_pending() == 0


def test_old_bands_are_pruned() -> None:
    item = make(summary=DISPATCH, published_at=timezone.now() - dt.timedelta(days=10))
    ingest_items([item.pk])
    assert prune_bands() == dedup.BANDS


COUNCIL = (
    "Le conseil municipal de {town} a adopté lundi soir son budget primitif pour l'année "
    "prochaine, marqué par une hausse de {rise} des dépenses de fonctionnement. Le plan "
    "d'investissement, de {invest} d'euros, sera consacré aux écoles et à la voirie. "
    "L'opposition a voté contre, dénonçant une hausse de la dette."
)


def test_the_same_address_from_another_source_joins_the_story_whatever_its_spelling() -> None:
    first = make(url="https://www.journal.fr/politique/article-1.html", title="Un", summary="a")
    amp = make(url="https://m.journal.fr/politique/article-1.amp.html?utm_source=x", title="Deux")
    placed = ingest_items([first.pk, amp.pk])
    amp.refresh_from_db()
    assert placed[amp.pk] == placed[first.pk]
    assert (amp.match, amp.is_reprint) == (Match.URL, True)


def test_a_youtube_video_is_known_by_its_exact_id() -> None:
    video = make(url="https://youtu.be/dQw4w9WgXcQ", title="Vidéo", summary="")
    same = make(url="https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=42", title="Autre", summary="")
    other_case = make(url="https://youtu.be/dQw4w9WgXcq", title="Autre", summary="")
    placed = ingest_items([video.pk, same.pk, other_case.pk])
    assert placed[same.pk] == placed[video.pk]
    assert placed[other_case.pk] != placed[video.pk]


def test_an_agency_credit_does_not_hide_an_identical_text() -> None:
    bare = make(title="Dotations", summary=DISPATCH.replace("PARIS (AFP) - ", ""))
    credited = make(title="Dotations", summary=DISPATCH + " (avec AFP)")
    placed = ingest_items([bare.pk, credited.pk])
    bare.refresh_from_db()
    credited.refresh_from_db()
    assert placed[bare.pk] == placed[credited.pk]
    assert credited.match == Match.TEXT
    # The uncredited copy came first: it is the story's wire-less original only by its words.
    assert (bare.is_wire, credited.is_wire) == (False, True)


def test_a_republished_item_with_the_same_title_in_the_same_source_joins_its_story() -> None:
    source = SourceFactory.create()
    title = "Budget : ce que le conseil a voté hier soir"
    first = make(source=source, title=title, summary="Le compte rendu complet.")
    again = make(source=source, title=title, summary="Le compte rendu complet, mis à jour.")
    elsewhere = make(title=title, summary="Rien à voir.")
    placed = ingest_items([first.pk, again.pk, elsewhere.pk])
    assert placed[again.pk] == placed[first.pk]
    assert placed[elsewhere.pk] != placed[first.pk]


def test_two_reported_pages_with_the_same_title_stay_apart_in_the_tracers_source() -> None:
    from essaim.watch.models import Source

    tracers = SourceFactory.create(kind=Source.Kind.TRACER)
    title = "Budget : ce que le conseil a voté hier soir"
    one = make(source=tracers, url="https://mairie-a.fr/budget", title=title, summary="")
    other = make(source=tracers, url="https://journal-b.fr/budget", title=title, summary="")
    placed = ingest_items([one.pk, other.pk])
    assert placed[one.pk] != placed[other.pk]
    assert list(Item.objects.order_by("pk").values_list("match", flat=True)) == [
        Match.FIRST,
        Match.FIRST,
    ]
    # Across batches too: the placed page is not a candidate by title either.
    third = make(source=tracers, url="https://blog-c.fr/budget", title=title, summary="")
    assert ingest_items([third.pk])[third.pk] not in (placed[one.pk], placed[other.pk])


def test_a_recurring_title_with_another_text_is_another_item() -> None:
    source = SourceFactory.create()
    monday = make(source=source, title="La revue de presse du matin", summary=DISPATCH)
    tuesday = make(source=source, title="La revue de presse du matin", summary=OTHER)
    placed = ingest_items([monday.pk, tuesday.pk])
    assert placed[monday.pk] != placed[tuesday.pk]


def test_two_councils_told_in_the_same_words_stay_apart_and_are_not_suggested() -> None:
    rennes = make(summary=COUNCIL.format(town="Rennes", rise="4 %", invest="120 millions"))
    nantes = make(summary=COUNCIL.format(town="Nantes", rise="2,5 %", invest="95 millions"))
    placed = ingest_items([rennes.pk, nantes.pk])
    assert placed[rennes.pk] != placed[nantes.pk]
    assert MergeSuggestion.objects.count() == 0


def test_a_short_text_never_merges_by_itself_but_a_person_is_asked() -> None:
    first = make(title="Grève jeudi", summary="Perturbations attendues sur tout le réseau.")
    second = make(title="Grève jeudi", summary="Perturbations attendues sur tout le réseau.")
    placed = ingest_items([first.pk, second.pk])
    assert placed[first.pk] != placed[second.pk]
    suggestion = MergeSuggestion.objects.get()
    assert (suggestion.item_id, suggestion.story_id, suggestion.similar_item_id) == (
        second.pk,
        placed[first.pk],
        first.pk,
    )
    assert suggestion.similarity == 1.0


def test_a_text_between_the_thresholds_is_suggested_not_merged(settings: Any) -> None:
    settings.WATCH_MERGE_AUTO = 0.95
    first = make(title="Dotations en baisse", summary=DISPATCH)
    edited = make(
        title="Dotations en baisse",
        # The dispatch's first sentence, then the site's own paragraph.
        summary=DISPATCH.split(". ")[0] + ". Un tout autre paragraphe écrit par le journal "
        "lui-même, avec ses propres mots, un entretien avec un maire de la Creuse qui raconte "
        "comment son village boucle chaque année un budget déjà très serré sans aide.",
    )
    placed = ingest_items([first.pk, edited.pk])
    edited.refresh_from_db()
    assert (edited.match, edited.similarity) == (Match.FIRST, None)
    assert placed[first.pk] != placed[edited.pk]
    suggestion = MergeSuggestion.objects.get()
    assert 0.3 <= suggestion.similarity < 0.95
    assert suggestion.story_id == placed[first.pk]


def test_items_further_apart_than_the_window_are_separate_stories(settings: Any) -> None:
    settings.WATCH_STORY_WINDOW_DAYS = 2
    old = make(summary=DISPATCH, published_at=timezone.now() - dt.timedelta(days=5))
    new = make(summary=DISPATCH, published_at=timezone.now())
    placed = ingest_items([old.pk, new.pk])
    assert placed[old.pk] != placed[new.pk]


def test_a_story_is_titled_by_its_first_original_item() -> None:
    start = timezone.now() - dt.timedelta(hours=3)
    wire = make(title="Dépêche", summary=DISPATCH, published_at=start)
    own = make(title="Notre enquête", summary=OTHER, published_at=start + dt.timedelta(hours=1))
    ingest_items([wire.pk, own.pk])
    wire.refresh_from_db()
    Item.objects.filter(pk=own.pk).update(story=wire.story)
    story = Story.objects.get(items=wire)
    refresh_counts([story.pk])
    story.refresh_from_db()
    assert (story.title, story.first_item_id, story.originals_count) == (
        "Notre enquête",
        wire.pk,
        1,
    )


def test_an_unbelievable_published_date_gives_way_to_the_fetch() -> None:
    future = make(summary=DISPATCH, published_at=timezone.now() + dt.timedelta(days=300))
    ingest_items([future.pk])
    future.refresh_from_db()
    assert future.seen_at == future.fetched_at


@pytest.mark.parametrize(
    "text",
    [
        "PARIS (AFP) - Le gouvernement a annoncé",
        "Lyon, 7 déc. (Reuters) – La mairie",
        "Le texte a été adopté (avec AFP)",
        "Article rédigé avec l'AFP",
        "Le ministre l'a confirmé, selon l'AFP.",
        "© AFP",
        "Source : AFP",
    ],
)
def test_wire_copy_is_recognized_by_its_credits(text: str) -> None:
    assert dedup.is_wire("", text)


@pytest.mark.parametrize(
    "text",
    ["Le safran de la région", "Un giraffe au zoo", "La CAFPI recrute", "Une décision rapide."],
)
def test_words_that_only_contain_an_agency_name_are_not_wire_copy(text: str) -> None:
    assert not dedup.is_wire("", text)


def test_a_dateline_and_credits_are_dropped_before_comparing() -> None:
    a = dedup.features("T", "PARIS (AFP) - " + DISPATCH[14:], min_words=5)
    b = dedup.features("T", DISPATCH[14:] + " (avec AFP)", min_words=5)
    assert a.text_hash == b.text_hash


def test_placing_a_batch_takes_as_many_queries_for_ten_items_as_for_a_hundred(
    django_assert_num_queries: Any,
) -> None:
    def batch(n: int) -> list[int]:
        return [
            make(url=f"https://site{k}-{n}.fr/a", title=f"Sujet {k}", summary=DISPATCH).pk
            for k in range(n)
        ]

    small, large = batch(10), batch(100)
    # The items, the layers (address, text, bands; no title long enough here), the candidates,
    # the stories made, the items' columns, the bands, the counts, the placed ids, the
    # tracers' sources among theirs, and the transaction's; PostgreSQL's advisory lock besides.
    expected = 12 + (connection.vendor == "postgresql")
    with django_assert_num_queries(expected) as small_run:
        ingest_items(small)
    with django_assert_num_queries(len(small_run.captured_queries)):
        ingest_items(large)


def test_band_hashes_stay_those_already_stored():
    # Items keep their bands in ItemBand across releases: a change of the hashes would hide
    # every stored item from the new ones' candidates.
    feats = dedup.features(
        "Le conseil municipal vote le budget",
        "Les élus ont adopté le budget primitif de la ville.",
        min_words=0,
    )
    assert feats.bands[:4] == [
        -3086182686171486325,
        -6391461986716492051,
        -6474826372550180532,
        2459116239801832683,
    ]
    assert feats.bands[-1] == 430480687319880477
    assert len(feats.bands) == dedup.BANDS
    assert dedup.band_hashes(frozenset()) != dedup.band_hashes(frozenset({"a b c"}))


@pytest.mark.parametrize(
    "summary",
    [
        "",
        "Une phrase. Une autre ! Et… la suite ? « Oui. » Fin",
        "Deux\u00a0mots.\u202fPuis\u3000d’autres.\u2028Et l’AFP.\tEncore",
        "Mot.\u00a0\u00a0Accolé",
        "ÉTÉ ﬁn ⅫI. Œuvre ½ ǅ.",
    ],
)
def test_summary_words_are_its_sentences_words(summary):
    feats = dedup.features("Titre", summary, min_words=0)
    tokens = dedup.words("Titre") + dedup.words(summary)
    assert feats.words == len(tokens)
    assert feats.text_hash == dedup.digest(tokens)
    expected = {" ".join(tokens[i : i + 3]) for i in range(max(1, len(tokens) - 2))} - {""}
    assert feats.shingles == expected
