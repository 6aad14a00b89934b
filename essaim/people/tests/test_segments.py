"""Segments: the definition document, its compilation to one query, and the builder pages."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from essaim.people.models import Segment, Suppression, email_hash
from essaim.people.services.segments import (
    MAX_DEPTH,
    SegmentDefinition,
    SegmentDefinitionError,
    SegmentInUse,
    count_mailable,
    count_segment,
    delete_segment,
    parse_definition,
    save_segment,
    saved_segment_queryset,
    segment_queryset,
    validate_definition,
)
from essaim.people.tests.factories import SegmentFactory, TagFactory, make_contact

pytestmark = pytest.mark.django_db


def emails(queryset: Any) -> set[str]:
    return set(queryset.values_list("email", flat=True))


def issues_of(data: Any, **kwargs: Any) -> list[tuple[str, str]]:
    with pytest.raises(SegmentDefinitionError) as caught:
        validate_definition(data, **kwargs)
    return [(issue.path, issue.message) for issue in caught.value.issues]


def paths_of(data: Any, **kwargs: Any) -> list[str]:
    return [path for path, _ in issues_of(data, **kwargs)]


# --- The document ---------------------------------------------------------------------------


def test_empty_document_is_the_whole_base():
    make_contact("a@exemple.fr")
    make_contact("b@exemple.fr", consents={})
    assert parse_definition({}).is_empty
    assert emails(segment_queryset({})) == {"a@exemple.fr", "b@exemple.fr"}


def test_definition_round_trips_through_its_canonical_json():
    tag = TagFactory.create(name="jeunes")
    doc = {
        "version": 1,
        "tags": {"any": [tag.pk]},
        "departements": ["75", "2A"],
        "regions": ["11"],
        "postcode_prefixes": ["75"],
        "consents": {"news": ["granted", "none"]},
        "sources": ["pétition"],
        "created_from": "2026-01-01",
        "created_to": "2026-06-30",
    }
    definition = validate_definition(doc)
    assert definition.to_json() == doc
    assert parse_definition(definition.to_json()) == definition


def test_consent_statuses_are_stored_in_a_canonical_order():
    definition = parse_definition({"consents": {"news": ["none", "granted"]}})
    assert definition.to_json()["consents"] == {"news": ["granted", "none"]}


def test_unknown_keys_are_rejected_at_every_level():
    assert paths_of({"tagz": [], "tags": {"some": [1]}, "consents": {"sms": ["granted"]}}) == [
        "tagz",
        "tags.some",
        "consents.sms",
    ]


def test_unknown_key_error_reads_clearly():
    assert issues_of({"colour": "red"}) == [("colour", "clé inconnue")]


def test_document_must_be_an_object():
    assert issues_of(["tags"]) == [("", "la définition doit être un objet JSON")]


def test_wrong_types_and_values_are_each_reported():
    paths = paths_of(
        {
            "version": 2,
            "tags": {"any": [True, "3", 0], "all": "7"},
            "departements": ["750", 75],
            "regions": ["1"],
            "postcode_prefixes": ["75A", "123456"],
            "consents": {"news": ["accepted"], "mobilization": []},
            "sources": ["", "x" * 101],
            "created_from": "01/02/2026",
            "created_to": "2026-02-30",
            "include_segments": [-1],
        }
    )
    assert paths == [
        "version",
        "tags.any[0]",
        "tags.any[1]",
        "tags.any[2]",
        "tags.all",
        "departements[0]",
        "departements[1]",
        "regions[0]",
        "postcode_prefixes[0]",
        "postcode_prefixes[1]",
        "consents.news[0]",
        "consents.mobilization",
        "sources[0]",
        "sources[1]",
        "created_from",
        "created_to",
        "include_segments[0]",
    ]


def test_duplicates_and_contradictions_are_rejected():
    tag = TagFactory.create()
    assert issues_of(
        {
            "tags": {"any": [tag.pk, tag.pk], "none": [tag.pk]},
            "created_from": "2026-03-01",
            "created_to": "2026-02-01",
            "include_segments": [5],
            "exclude_segments": [5],
        }
    ) == [
        ("tags.any[1]", f"valeur en double : {tag.pk}"),
        ("tags.none", f"étiquettes à la fois exigées (any) et exclues : {tag.pk}"),
        ("created_to", "la date de fin précède la date de début"),
        ("exclude_segments", "segments à la fois inclus et exclus : 5"),
    ]


def test_references_to_missing_tags_and_unknown_zones_are_rejected():
    assert issues_of({"tags": {"all": [987654]}, "departements": ["00"], "regions": ["99"]}) == [
        ("departements[0]", "département inconnu : 00"),
        ("regions[0]", "région inconnue : 99"),
        ("tags.all[0]", "étiquette inconnue : 987654"),
    ]


def test_reference_to_a_missing_segment_is_rejected():
    assert issues_of({"include_segments": [987654]}) == [
        ("include_segments", "segment inconnu : 987654")
    ]


def test_segment_cannot_include_itself():
    segment = SegmentFactory.create()
    assert issues_of({"include_segments": [segment.pk]}, segment_id=segment.pk) == [
        ("include_segments[0]", "un segment ne peut s'inclure lui-même")
    ]


def test_include_cycle_through_another_segment_is_rejected():
    a = SegmentFactory.create(name="A")
    b = SegmentFactory.create(name="B", definition={"include_segments": [a.pk]})
    assert issues_of({"exclude_segments": [b.pk]}, segment_id=a.pk) == [
        ("include_segments", f"inclusion circulaire de segments : {a.pk} → {b.pk} → {a.pk}")
    ]


def test_a_cycle_stored_in_the_database_fails_loudly_instead_of_recursing():
    a = SegmentFactory.create(name="A")
    b = SegmentFactory.create(name="B", definition={"include_segments": [a.pk]})
    Segment.objects.filter(pk=a.pk).update(definition={"exclude_segments": [b.pk]})
    a.refresh_from_db()
    with pytest.raises(SegmentDefinitionError, match="inclusion circulaire"):
        saved_segment_queryset(a)
    with pytest.raises(SegmentDefinitionError, match="inclusion circulaire"):
        segment_queryset({"include_segments": [a.pk]})


def test_nesting_deeper_than_the_limit_is_rejected():
    previous = SegmentFactory.create(name="niveau 0")
    for level in range(1, MAX_DEPTH):
        previous = SegmentFactory.create(
            name=f"niveau {level}", definition={"include_segments": [previous.pk]}
        )
    validate_definition({"include_segments": [previous.pk]})  # exactly MAX_DEPTH levels
    deeper = SegmentFactory.create(name="trop", definition={"include_segments": [previous.pk]})
    assert paths_of({"include_segments": [deeper.pk]}) == ["include_segments"]
    assert "plus de 4 niveaux" in issues_of({"include_segments": [deeper.pk]})[0][1]


# --- Compilation ------------------------------------------------------------------------------


def test_tags_any_all_and_none():
    jeunes, retraites, adherent = (
        TagFactory.create(name=n) for n in ("jeunes", "retraités", "adh")
    )
    make_contact("j@x.fr", tags=[jeunes])
    make_contact("r@x.fr", tags=[retraites])
    make_contact("ja@x.fr", tags=[jeunes, adherent])
    make_contact("rien@x.fr")
    any_ = {"tags": {"any": [jeunes.pk, retraites.pk]}}
    assert emails(segment_queryset(any_)) == {"j@x.fr", "r@x.fr", "ja@x.fr"}
    all_ = {"tags": {"all": [jeunes.pk, adherent.pk]}}
    assert emails(segment_queryset(all_)) == {"ja@x.fr"}
    none = {"tags": {"none": [jeunes.pk]}}
    assert emails(segment_queryset(none)) == {"r@x.fr", "rien@x.fr"}


def test_tag_and_consent_filters_agree_whichever_filter_drives_the_query():
    # On SQLite a tag filter drives the query unless a zone filter does (segments.py compiles
    # the two differently); both shapes must select the same contacts.
    jeunes, retraites, adherent = (TagFactory.create(name=n) for n in ("jeunes", "retr", "adh"))
    make_contact("j@x.fr", tags=[jeunes], postcode="75011")
    make_contact("r@x.fr", tags=[retraites], postcode="93100", consents={"news": "pending"})
    make_contact("ja@x.fr", tags=[jeunes, adherent], postcode="75011")
    make_contact("lyon@x.fr", tags=[jeunes, retraites], postcode="69003")
    make_contact("rien@x.fr", postcode="75011")
    cases: list[tuple[dict[str, Any], set[str]]] = [
        (
            {"tags": {"any": [jeunes.pk, retraites.pk]}},
            {"j@x.fr", "r@x.fr", "ja@x.fr", "lyon@x.fr"},
        ),
        ({"tags": {"all": [jeunes.pk, adherent.pk]}}, {"ja@x.fr"}),
        (
            {"tags": {"any": [retraites.pk, adherent.pk], "all": [jeunes.pk]}},
            {"ja@x.fr", "lyon@x.fr"},
        ),
        (
            {"tags": {"any": [jeunes.pk, retraites.pk]}, "consents": {"news": ["pending"]}},
            {"r@x.fr"},
        ),
        (
            {"tags": {"none": [adherent.pk]}, "consents": {"news": ["granted", "withdrawn"]}},
            {"j@x.fr", "lyon@x.fr", "rien@x.fr"},
        ),
    ]
    for definition, expected in cases:
        assert emails(segment_queryset(definition)) == expected, definition
        in_idf = {**definition, "regions": ["11"]}
        assert emails(segment_queryset(in_idf)) == expected - {"lyon@x.fr"}, in_idf


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's own query shapes")
def test_sqlite_counts_tags_and_consent_from_covering_indexes():
    tags = [TagFactory.create(name=n).pk for n in ("a", "b")]
    definition = {"tags": {"any": tags}, "regions": ["11"], "consents": {"news": ["granted"]}}
    sql, params = segment_queryset(definition).query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        plan = " | ".join(str(row[-1]) for row in cursor.fetchall())
    # One read of the contact's tags in the unique (contact, tag) index, and the consent's status
    # from (purpose, status, contact): no probe per tag, no read of the consent row.
    assert "COVERING INDEX sqlite_autoindex_people_contacttag_1 (contact_id=?)" in plan, plan
    assert "COVERING INDEX people_cons_purpose" in plan, plan
    assert "autoindex_people_consent" not in plan, plan


def test_zone_filters():
    make_contact("paris@x.fr", postcode="75011")
    make_contact("bobigny@x.fr", postcode="93100")
    make_contact("lyon@x.fr", postcode="69003")
    make_contact("villeurbanne@x.fr", postcode="69100")
    assert emails(segment_queryset({"departements": ["75", "69"]})) == {
        "paris@x.fr",
        "lyon@x.fr",
        "villeurbanne@x.fr",
    }
    assert emails(segment_queryset({"regions": ["11"]})) == {"paris@x.fr", "bobigny@x.fr"}
    assert emails(segment_queryset({"postcode_prefixes": ["690", "931"]})) == {
        "lyon@x.fr",
        "bobigny@x.fr",
    }


def test_consent_statuses_per_purpose_including_no_record():
    make_contact("g@x.fr", consents={"news": "granted"})
    make_contact("p@x.fr", consents={"news": "pending"})
    make_contact("w@x.fr", consents={"news": "withdrawn"})
    make_contact("n@x.fr", consents={"mobilization": "granted"})

    def who(*statuses: str) -> set[str]:
        return emails(segment_queryset({"consents": {"news": list(statuses)}}))

    assert who("granted") == {"g@x.fr"}
    assert who("pending", "withdrawn") == {"p@x.fr", "w@x.fr"}
    assert who("none") == {"n@x.fr"}
    assert who("granted", "none") == {"g@x.fr", "n@x.fr"}
    assert who("granted", "pending", "withdrawn", "none") == {
        "g@x.fr",
        "p@x.fr",
        "w@x.fr",
        "n@x.fr",
    }
    both = {"consents": {"news": ["none"], "mobilization": ["granted"]}}
    assert emails(segment_queryset(both)) == {"n@x.fr"}


def test_source_and_creation_dates_in_local_days():
    paris = timezone.get_current_timezone()
    # Days are the site's (Paris) days: 23:30 on 31 January is January, 00:30 on 1 February is
    # February, although both are 31 January in UTC.
    make_contact(
        "jan@x.fr", source="salon", created_at=dt.datetime(2026, 1, 31, 23, 30, tzinfo=paris)
    )
    make_contact(
        "feb@x.fr", source="salon", created_at=dt.datetime(2026, 2, 1, 0, 30, tzinfo=paris)
    )
    make_contact("mar@x.fr", source="pétition", created_at=dt.datetime(2026, 3, 1, tzinfo=paris))
    assert emails(segment_queryset({"sources": ["salon"]})) == {"jan@x.fr", "feb@x.fr"}
    january = {"created_from": "2026-01-01", "created_to": "2026-01-31"}
    assert emails(segment_queryset(january)) == {"jan@x.fr"}
    assert emails(segment_queryset({"created_from": "2026-02-01"})) == {"feb@x.fr", "mar@x.fr"}


def test_include_is_a_union_and_exclude_a_difference():
    make_contact("paris@x.fr", postcode="75011")
    make_contact("lyon@x.fr", postcode="69003")
    make_contact("marseille@x.fr", postcode="13001")
    paris = SegmentFactory.create(name="Paris", definition={"departements": ["75"]})
    lyon = SegmentFactory.create(name="Lyon", definition={"departements": ["69"]})
    both = {"include_segments": [paris.pk, lyon.pk]}
    assert emails(segment_queryset(both)) == {"paris@x.fr", "lyon@x.fr"}
    not_paris = {"exclude_segments": [paris.pk]}
    assert emails(segment_queryset(not_paris)) == {"lyon@x.fr", "marseille@x.fr"}
    nested = SegmentFactory.create(name="Paris ou Lyon", definition=both)
    assert emails(segment_queryset({"include_segments": [nested.pk], "regions": ["84"]})) == {
        "lyon@x.fr"
    }


def test_including_an_empty_segment_keeps_everyone_and_excluding_it_keeps_no_one():
    make_contact("a@x.fr")
    everyone = SegmentFactory.create(name="Tous", definition={})
    assert emails(segment_queryset({"include_segments": [everyone.pk]})) == {"a@x.fr"}
    assert emails(segment_queryset({"exclude_segments": [everyone.pk]})) == set()


def test_a_segment_count_is_one_query(django_assert_num_queries):
    tag = TagFactory.create()
    make_contact("a@x.fr", tags=[tag], postcode="75011")
    definition = {
        "tags": {"any": [tag.pk], "all": [tag.pk]},
        "regions": ["11"],
        "consents": {"news": ["granted"], "mobilization": ["none"]},
        "postcode_prefixes": ["75"],
    }
    with django_assert_num_queries(1) as captured:
        assert segment_queryset(definition).count() == 1
    assert captured.captured_queries[0]["sql"].upper().count("EXISTS") == 4


def test_nested_segments_are_inlined_into_the_same_query(django_assert_num_queries):
    make_contact("paris@x.fr", postcode="75011")
    inner = SegmentFactory.create(name="Paris", definition={"departements": ["75"]})
    outer = SegmentFactory.create(name="Pas Paris", definition={"exclude_segments": [inner.pk]})
    # One query per nesting level to read the definitions, one to count.
    # Read the included definition, count, save the count.
    with django_assert_num_queries(3):
        assert count_segment(outer) == 0
    # Read the two nested definitions (one query per level), count.
    with django_assert_num_queries(3):
        assert segment_queryset({"exclude_segments": [outer.pk]}).count() == 1


def test_count_segment_records_the_count_and_when():
    make_contact("a@x.fr", postcode="75011")
    make_contact("b@x.fr", postcode="69003")
    segment = SegmentFactory.create(definition={"departements": ["75"]})
    before = timezone.now()
    assert count_segment(segment) == 1
    segment.refresh_from_db()
    assert segment.last_count == 1
    assert segment.last_counted_at is not None and segment.last_counted_at >= before


def test_mailable_count_needs_granted_consent_and_no_suppression():
    make_contact("ok@x.fr", consents={"news": "granted"})
    make_contact("pending@x.fr", consents={"news": "pending"})
    suppressed = make_contact("gone@x.fr", consents={"news": "granted"})
    Suppression.objects.create(email_hash=email_hash(suppressed.email_key), reason="unsubscribe")
    segment = SegmentFactory.create(definition={})
    assert count_mailable(segment, "news") == 1
    assert count_mailable(segment, "mobilization") == 0


def test_save_segment_stores_the_canonical_document_and_counts(hq):
    make_contact("a@x.fr", postcode="75011")
    segment = save_segment(
        name="Parisiens",
        description="",
        definition={"departements": ["75"], "consents": {"news": ["granted"]}},
        user=hq,
    )
    assert (segment.definition, segment.last_count, segment.created_by) == (
        {"version": 1, "departements": ["75"], "consents": {"news": ["granted"]}},
        1,
        hq,
    )


def test_a_segment_used_by_another_cannot_be_deleted():
    inner = SegmentFactory.create(name="Paris")
    SegmentFactory.create(name="Hors Paris", definition={"exclude_segments": [inner.pk]})
    with pytest.raises(SegmentInUse) as caught:
        delete_segment(inner)
    assert [s.name for s in caught.value.segments] == ["Hors Paris"]
    assert Segment.objects.filter(pk=inner.pk).exists()


def test_a_definition_object_is_accepted_as_is():
    definition = SegmentDefinition(regions=("11",))
    assert parse_definition(definition) is definition


# --- Pages ------------------------------------------------------------------------------------


def _builder_data(**fields: Any) -> dict[str, Any]:
    return {"name": "Jeunes parisiens", "description": "", **fields}


def test_hq_sees_the_segments_link_and_list(hq_client):
    SegmentFactory.create(name="Tous les Lyonnais", definition={"departements": ["69"]})
    html = hq_client.get(reverse("home")).content.decode()
    assert reverse("people:segment_list") in html
    response = hq_client.get(reverse("people:segment_list"))
    assert response.status_code == 200
    assert "Tous les Lyonnais" in response.content.decode()


def test_coordinator_and_volunteer_have_no_segments(coordinator_client, volunteer_client):
    segment = SegmentFactory.create(name="Existant")
    for client in (coordinator_client, volunteer_client):
        assert reverse("people:segment_list") not in client.get(reverse("home")).content.decode()
        assert client.get(reverse("people:segment_list")).status_code == 403
        assert client.get(reverse("people:segment_create")).status_code == 403
        post = client.post(reverse("people:segment_create"), _builder_data(regions=["11"]))
        assert post.status_code == 403
        assert client.post(reverse("people:segment_count"), {}).status_code == 403
        assert (
            client.post(
                reverse("people:segment_delete", args=[segment.pk]), {"confirm": "1"}
            ).status_code
            == 403
        )
    assert list(Segment.objects.values_list("name", flat=True)) == ["Existant"]


def test_anonymous_visitor_is_sent_to_login_from_segments(client):
    response = client.get(reverse("people:segment_list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_hq_creates_a_segment_from_the_builder(hq_client, hq):
    tag = TagFactory.create(name="jeunes")
    make_contact("a@x.fr", postcode="75011", tags=[tag])
    make_contact("b@x.fr", postcode="75011")
    response = hq_client.post(
        reverse("people:segment_create"),
        _builder_data(
            tags_any=[str(tag.pk)],
            departements=["75"],
            consent_news=["granted"],
            created_from="2020-01-01",
        ),
    )
    assert response.status_code == 302
    segment = Segment.objects.get()
    assert segment.name == "Jeunes parisiens"
    assert segment.definition == {
        "version": 1,
        "tags": {"any": [tag.pk]},
        "departements": ["75"],
        "consents": {"news": ["granted"]},
        "created_from": "2020-01-01",
    }
    assert (segment.last_count, segment.created_by) == (1, hq)


def test_builder_shows_validation_errors_and_saves_nothing(hq_client):
    response = hq_client.post(
        reverse("people:segment_create"),
        _builder_data(created_from="2026-03-01", created_to="2026-02-01", postcode_prefixes="7A"),
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "la date de fin précède la date de début" in html
    assert "début de code postal invalide : &#x27;7A&#x27;" in html
    assert Segment.objects.count() == 0


def test_editing_a_segment_into_a_cycle_is_refused(hq_client):
    a = SegmentFactory.create(name="A", definition={"regions": ["11"]})
    b = SegmentFactory.create(name="B", definition={"include_segments": [a.pk]})
    response = hq_client.post(
        reverse("people:segment_edit", args=[a.pk]),
        {"name": "A", "exclude_segments": [str(b.pk)]},
    )
    assert response.status_code == 200
    assert "inclusion circulaire de segments" in response.content.decode()
    a.refresh_from_db()
    assert a.definition == {"regions": ["11"]}


def test_edit_form_is_filled_from_the_saved_definition(hq_client):
    tag = TagFactory.create(name="retraités")
    segment = SegmentFactory.create(
        name="Seniors",
        definition={"tags": {"all": [tag.pk]}, "postcode_prefixes": ["75", "92"]},
    )
    html = hq_client.get(reverse("people:segment_edit", args=[segment.pk])).content.decode()
    assert f'<option value="{tag.pk}" selected>retraités</option>' in html
    assert 'value="75 92"' in html


def test_live_count_answers_with_a_fragment(hq_client):
    make_contact("a@x.fr", postcode="75011")
    make_contact("b@x.fr", postcode="69003")
    response = hq_client.post(
        reverse("people:segment_count"), {"departements": ["75"]}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    assert '<span class="figure">1</span>' in html


def test_live_count_reports_invalid_filters(hq_client):
    response = hq_client.post(reverse("people:segment_count"), {"postcode_prefixes": "abc"})
    html = response.content.decode()
    assert "Filtres invalides" in html
    assert "début de code postal invalide" in html


def test_recount_updates_the_saved_figure(hq_client):
    make_contact("a@x.fr")
    segment = SegmentFactory.create(definition={})
    response = hq_client.post(
        reverse("people:segment_recount", args=[segment.pk]), headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert f'id="segment-count-{segment.pk}"' in response.content.decode()
    segment.refresh_from_db()
    assert segment.last_count == 1


def test_hq_deletes_a_segment_unless_another_uses_it(hq_client):
    inner = SegmentFactory.create(name="Paris")
    outer = SegmentFactory.create(name="Hors Paris", definition={"exclude_segments": [inner.pk]})
    hq_client.post(reverse("people:segment_delete", args=[inner.pk]), {"confirm": "1"})
    assert Segment.objects.filter(pk=inner.pk).exists()
    hq_client.post(reverse("people:segment_delete", args=[outer.pk]), {"confirm": "1"})
    hq_client.post(reverse("people:segment_delete", args=[inner.pk]), {"confirm": "1"})
    assert Segment.objects.count() == 0


def test_segment_names_are_escaped(hq_client):
    SegmentFactory.create(name="<script>alert(1)</script>", description="<b>gras</b>")
    html = hq_client.get(reverse("people:segment_list")).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;gras&lt;/b&gt;" in html


def test_builder_page_asks_for_the_live_count_as_filters_change(hq_client):
    html = hq_client.get(reverse("people:segment_create")).content.decode()
    assert f'hx-post="{reverse("people:segment_count")}"' in html
    assert (
        'hx-trigger="load, change from:closest form, input delay:600ms from:closest form"' in html
    )


def test_live_count_of_an_edited_segment_refuses_a_cycle(hq_client):
    a = SegmentFactory.create(name="A")
    b = SegmentFactory.create(name="B", definition={"include_segments": [a.pk]})
    response = hq_client.post(
        reverse("people:segment_count"), {"segment_id": a.pk, "include_segments": [b.pk]}
    )
    assert "inclusion circulaire de segments" in response.content.decode()
