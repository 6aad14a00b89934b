"""The watchlists' query language: good queries parse into the expected tree, bad ones get a
French message that points at the right place."""

from __future__ import annotations

import pytest

from essaim.watch.services.watchlists.query import (
    And,
    Near,
    Not,
    Or,
    QueryError,
    Site,
    SourceIs,
    Term,
    parse,
)


def t(*words: str) -> Term:
    return Term(tuple(words), "")


def test_two_words_side_by_side_mean_and() -> None:
    assert parse("retraites réforme") == And((t("retraites"), t("reforme")))


def test_explicit_and_or_not_with_precedence() -> None:
    # NOT binds tighter than AND, AND tighter than OR.
    assert parse("a OR b AND NOT c") == Or((t("a"), And((t("b"), Not(t("c"))))))


def test_french_operators_are_understood() -> None:
    assert parse("a ET b OU c SAUF d") == Or((And((t("a"), t("b"))), And((t("c"), Not(t("d"))))))


def test_lower_case_et_and_ou_are_words() -> None:
    assert parse("pain et beurre") == And((t("pain"), t("et"), t("beurre")))


def test_parentheses_group() -> None:
    assert parse("(a OR b) c") == And((Or((t("a"), t("b"))), t("c")))


def test_phrases_in_every_kind_of_quotes_keep_their_words_in_order() -> None:
    expected = t("prix", "de", "energie")
    assert parse('"prix de l\'énergie"') == expected
    assert parse("« prix de l’énergie »") == expected
    assert parse("“Prix de L'Énergie”") == expected


def test_a_hyphenated_name_is_a_phrase_of_its_parts() -> None:
    assert parse("Jean-Luc") == t("jean", "luc")


def test_near_with_a_distance_and_without() -> None:
    assert parse("retraite NEAR/3 manifestation") == Near(t("retraite"), t("manifestation"), 3)
    assert parse('"Le Pen" NEAR sondage') == Near(t("le", "pen"), t("sondage"), 10)
    assert parse("a PRES/2 b") == Near(t("a"), t("b"), 2)


def test_site_filter_keeps_the_host_without_www_scheme_or_path() -> None:
    assert parse("site:lemonde.fr") == Site("lemonde.fr")
    assert parse("site:https://www.LeMonde.fr/politique/") == Site("lemonde.fr")


def test_source_filter_takes_an_id_or_a_label() -> None:
    assert parse("source:42 retraites") == And((SourceIs(42, ""), t("retraites")))
    assert parse('source:"Le Monde"') == SourceIs(None, "le monde")
    assert parse("source:Libération") == SourceIs(None, "liberation")


def test_filters_alone_are_a_query() -> None:
    assert parse("site:lemonde.fr NOT sport") == And((Site("lemonde.fr"), Not(t("sport"))))


@pytest.mark.parametrize(
    ("query", "message", "position"),
    [
        ("", "La requête est vide.", 0),
        ("   ", "La requête est vide.", 0),
        ("(a OR b", "Parenthèse ouverte mais jamais fermée.", 0),
        ("a OR b)", "Parenthèse fermante sans parenthèse ouvrante.", 6),
        ("a ()", "Parenthèses vides.", 2),
        ('a "b c', "Guillemet ouvert mais jamais fermé.", 2),
        ("a AND", "La requête s'arrête après « AND » : un mot est attendu ensuite.", 2),
        ("OR a", "« OR » est un opérateur : il lui faut un mot avant et après.", 0),
        ("a OR OR b", "« OR » est un opérateur : il lui faut un mot avant et après.", 5),
        ("NOT a", None, 0),
        ("a OR NOT b", None, 0),
        ("a NEAR/0 b", "La distance de NEAR/0 va de 1 à 100 mots.", 2),
        ("a NEAR/101 b", "La distance de NEAR/101 va de 1 à 100 mots.", 2),
        (
            "(a OR b) NEAR/2 c",
            "NEAR/2 relie deux mots ou deux « phrases », pas un groupe ni un filtre.",
            0,
        ),
        (
            "a NEAR/2 site:x.fr",
            "NEAR/2 relie deux mots ou deux « phrases », pas un groupe ni un filtre.",
            9,
        ),
        ("a NEAR/2 b NEAR/2 c", "NEAR/2 ne s'enchaîne pas : reliez les paires par AND.", 11),
        ("site: a", "« site: » attend une valeur juste après les deux-points.", 0),
        (
            "site:exa_mple.fr",
            "« exa_mple.fr » n'est pas un nom de site (exemple : site:lemonde.fr).",
            0,
        ),
        ("a &&", "« && » ne contient aucun mot.", 2),
        ('a ""', "Phrase sans aucun mot.", 2),
        ("(" * 25 + "a" + ")" * 25, "Trop de parenthèses imbriquées.", 20),
    ],
)
def test_bad_queries_say_what_is_wrong_and_where(
    query: str, message: str | None, position: int
) -> None:
    with pytest.raises(QueryError) as caught:
        parse(query)
    if message is None:
        assert caught.value.message.startswith("La requête ne fait qu'exclure")
    else:
        assert caught.value.message == message
    assert caught.value.position == position


def test_error_text_counts_positions_from_one() -> None:
    with pytest.raises(QueryError) as caught:
        parse("a OR b)")
    assert str(caught.value) == "Parenthèse fermante sans parenthèse ouvrante. (position 7)"


def test_overlong_and_overfull_queries_are_refused() -> None:
    with pytest.raises(QueryError, match="trop longue"):
        parse("a " * 1001)
    with pytest.raises(QueryError, match="Trop de termes"):
        parse(" ".join(f"m{n}" for n in range(301)))


@pytest.mark.parametrize("distance", ["١٢", "٣", "0" * 20 + "3", "9" * 30])
def test_a_near_distance_in_anything_but_a_few_ascii_digits_is_a_clear_error(distance):
    with pytest.raises(QueryError) as caught:
        parse(f"a NEAR/{distance} b")
    assert (caught.value.message, caught.value.position) == (
        f"La distance de NEAR/{distance} va de 1 à 100 mots.",
        2,
    )


def test_a_near_distance_with_leading_zeros_is_read_as_before():
    assert parse("a NEAR/007 b") == Near(t("a"), t("b"), 7)


@pytest.mark.parametrize("value", ["²", "③", "١٢٣", "-1", "9" * 30])
def test_a_source_filter_not_in_ascii_digits_is_a_source_name(value):
    node = parse(f"source:{value}")
    assert isinstance(node, SourceIs) and node.source_id is None
