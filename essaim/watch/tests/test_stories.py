"""Stories: items de-duplicated in layers (address, text, title within a source, near-duplicates
through the MinHash bands) and grouped, with originals and reprints counted apart."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from essaim.watch.models import Item, ItemBand, Match, MergeSuggestion, Story
from essaim.watch.services import dedup
from essaim.watch.services.stories import ingest_items, ingest_pending, prune_bands
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
