"""Search over items, French-aware, with the same answers on SQLite (FTS5 over stems) and on
PostgreSQL (full text with unaccent and French stemming)."""

from __future__ import annotations

import pytest

from essaim.watch.models import Item
from essaim.watch.services.search import index_items, search_items
from essaim.watch.tests.factories import ItemFactory

pytestmark = pytest.mark.django_db


def indexed(**fields: str) -> Item:
    item = ItemFactory.create(**{"summary": "", **fields})
    index_items([item.pk])
    return item


def found(query: str) -> list[int]:
    return list(search_items(query).values_list("id", flat=True))


def test_a_name_typed_without_accents_finds_it_with_them() -> None:
    item = indexed(title="Entretien avec Éric Lefèvre")
    indexed(title="Entretien avec Éric Lefort")
    assert found("lefevre") == [item.pk]
    assert found("LEFÈVRE") == [item.pk]


def test_a_plural_with_accents_finds_the_singular_without() -> None:
    item = indexed(title="Le calendrier de l'election")
    assert found("élections") == [item.pk]


def test_elisions_are_folded_on_both_sides() -> None:
    item = indexed(title="Vote solennel à l’Assemblée")
    assert found("assemblée") == [item.pk]
    assert found("l'Assemblée") == [item.pk]


def test_every_word_must_be_there_newest_first() -> None:
    older = indexed(title="Retraites : la manifestation", summary="")
    newer = indexed(title="Manifestation", summary="contre la réforme des retraites")
    indexed(title="Retraites seulement")
    assert found("retraite manifestations") == [newer.pk, older.pk]


def test_an_empty_search_or_stop_words_only_find_nothing() -> None:
    indexed(title="Le et la")
    assert found("") == []
    assert found("le la et") == []
    assert found("   ' ’ -- ") == []


def test_search_syntax_in_the_query_is_only_text() -> None:
    item = indexed(title="Budget : NEAR et OR")
    assert found('budget" OR * ( & | ! : NEAR') == [item.pk]


def test_a_changed_item_is_found_by_its_new_text_only() -> None:
    item = indexed(title="Ancien titre")
    Item.objects.filter(pk=item.pk).update(title="Nouveau texte")
    index_items([item.pk])
    assert found("ancien") == []
    assert found("nouveau") == [item.pk]


def test_a_deleted_item_is_no_longer_found() -> None:
    item = indexed(title="Éphémère")
    item.delete()
    assert found("éphémère") == []


def test_punctuated_tokens_are_cut_into_words_on_both_databases() -> None:
    item = indexed(title="Covid-19 : lemonde.fr écrit à jean.dupont@exemple.fr (élu_local)")
    for query in ("covid 19", "lemonde", "dupont exemple", "élu local", "19"):
        assert found(query) == [item.pk], query


def test_the_postgresql_search_uses_its_index() -> None:
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's plan")
    with connection.cursor() as cursor:
        # A small table: without both, the planner may as well walk the primary key backwards
        # (the order) and test each row, which says nothing about the expression index.
        cursor.execute("SET enable_seqscan = off")
        cursor.execute("SET enable_indexscan = off")
    plan = search_items("retraites").explain()
    assert "watch_item_search_idx" in plan
