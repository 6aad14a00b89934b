"""The contact list's bulk actions: the rows ticked, or every result of a search or segment,
tagged, untagged, added to a list segment, exported or erased; set-based (the work runs in id
ranges, whatever the size), exact counts, one audit entry per action with the criteria; HQ only."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.urls import reverse

from essaim.accounts.models import AuditEvent
from essaim.people.models import Contact, ContactTag, Segment, Suppression, Tag
from essaim.people.services import bulk
from essaim.people.services.bulk import (
    Selection,
    add_to_segment,
    chunks,
    create_list_segment,
    ensure_tags,
    list_segment_tag_id,
    selection_queryset,
    tag_selection,
    untag_selection,
)
from essaim.people.services.gdpr import erase_contacts
from essaim.people.tests.factories import SegmentFactory, make_contact
from essaim.people.views import bulk as bulk_views

pytestmark = pytest.mark.django_db
URL = reverse("people:contact_bulk")
LIST = reverse("people:contact_list")
ACTIONS = ["contacts.tag", "contacts.untag", "contacts.add_to_segment", "contacts.erase"]


@pytest.fixture
def base() -> dict[str, Contact]:
    """Seven contacts: four Duponts (one already tagged "relance") in Paris, three others."""
    people = {
        "d1": make_contact("d1@x.fr", last_name="Dupont", tags=["relance"]),
        "d2": make_contact("d2@x.fr", last_name="Dupont"),
        "d3": make_contact("d3@x.fr", last_name="Dupond"),
        "d4": make_contact("d4@x.fr", last_name="Dupuis"),
        "m": make_contact("m@x.fr", last_name="Martin"),
        "l": make_contact("l@x.fr", last_name="Leroy", postcode="69003"),
        "b": make_contact("b@x.fr", last_name="Bernard", postcode="69003"),
    }
    return people


def tagged(name: str) -> list[str]:
    return sorted(
        ContactTag.objects.filter(tag__name=name).values_list("contact__email", flat=True)
    )


def entries(action: str) -> list[tuple[str, dict[str, Any]]]:
    return list(
        AuditEvent.objects.filter(action=action)
        .order_by("id")
        .values_list("actor_email", "details")
    )


# --- The service ------------------------------------------------------------------------------


def test_chunks_cover_the_selection_in_id_ranges_without_reading_the_rows(base):
    contacts = Contact.objects.filter(last_name__startswith="Dup")
    parts = [sorted(part.values_list("email", flat=True)) for part in chunks(contacts, 3)]
    assert parts == [["d1@x.fr", "d2@x.fr", "d3@x.fr"], ["d4@x.fr"]]
    exact = [sorted(part.values_list("email", flat=True)) for part in chunks(contacts, 4)]
    assert exact == [["d1@x.fr", "d2@x.fr", "d3@x.fr", "d4@x.fr"], []]


def test_tagging_all_results_of_a_search_inserts_only_the_missing_links(base, hq, monkeypatch):
    monkeypatch.setattr(bulk, "CHUNK", 2)  # three ranges for four contacts
    selection = Selection(query="dup")
    contacts = selection_queryset(selection, user=hq)
    result = tag_selection(
        contacts, ensure_tags(["relance", "juin"]), actor=hq, criteria=selection.criteria()
    )
    assert (result.count, result.changed) == (4, 7)  # d1 had "relance" already
    assert tagged("relance") == tagged("juin") == ["d1@x.fr", "d2@x.fr", "d3@x.fr", "d4@x.fr"]
    assert entries("contacts.tag") == [
        (
            "staff@qg.test",
            {"count": 4, "added": 7, "tags": ["juin", "relance"], "scope": "all", "q": "dup"},
        )
    ]


def test_ticked_ids_are_intersected_with_the_search(base, hq):
    selection = Selection(query="dup", ids=(base["d2"].pk, base["m"].pk, 10**12))
    result = tag_selection(
        selection_queryset(selection, user=hq), ensure_tags(["x"]), criteria=selection.criteria()
    )
    assert (result.count, result.changed) == (1, 1)
    assert tagged("x") == ["d2@x.fr"]


def test_untagging_removes_exactly_the_links_of_the_selection(base, hq):
    tag_selection(Contact.objects.all(), ensure_tags(["relance"]), criteria={})
    selection = Selection(query="dup")
    result = untag_selection(
        selection_queryset(selection, user=hq),
        list(Tag.objects.filter(name="relance")),
        actor=hq,
        criteria=selection.criteria(),
    )
    assert (result.count, result.changed) == (4, 4)
    assert tagged("relance") == ["b@x.fr", "l@x.fr", "m@x.fr"]
    assert entries("contacts.untag")[0][1] == {
        "count": 4,
        "removed": 4,
        "tags": ["relance"],
        "scope": "all",
        "q": "dup",
    }


def test_a_list_segment_is_one_tag_and_adding_to_it_tags_and_recounts(base, hq):
    segment = create_list_segment(name="Relance de juin", user=hq)
    assert segment.definition == {
        "version": 1,
        "tags": {"any": [Tag.objects.get(name="Relance de juin").pk]},
    }
    assert list_segment_tag_id(SegmentFactory.create(definition={"version": 1})) is None
    ruled = SegmentFactory.create(
        definition={
            "version": 1,
            "tags": {"any": [segment.definition["tags"]["any"][0]]},
            "departements": ["75"],
        }
    )
    assert list_segment_tag_id(ruled) is None
    result = add_to_segment(
        Contact.objects.filter(postcode="69003"), segment, actor=hq, criteria={"scope": "all"}
    )
    segment.refresh_from_db()
    assert (result.count, result.changed, segment.last_count) == (2, 2, 2)
    assert entries("contacts.add_to_segment") == [
        (
            "staff@qg.test",
            {"count": 2, "added": 2, "segment_name": "Relance de juin", "scope": "all"},
        )
    ]
    with pytest.raises(ValueError):
        add_to_segment(Contact.objects.all(), ruled, criteria={})


def test_a_bulk_erasure_suppresses_deletes_and_records_one_entry(base, hq):
    selection = Selection(query="dup")
    contacts = selection_queryset(selection, user=hq)
    hashes = set(contacts.values_list("email_hash", flat=True))
    erased = erase_contacts(contacts, actor=hq, chunk_size=3, **selection.criteria())
    assert erased == 4
    assert sorted(Contact.objects.values_list("email", flat=True)) == [
        "b@x.fr",
        "l@x.fr",
        "m@x.fr",
    ]
    assert set(Suppression.objects.values_list("email_hash", "reason")) == {
        (h, "erasure") for h in hashes
    }
    assert entries("contacts.erase") == [
        ("staff@qg.test", {"count": 4, "scope": "all", "q": "dup"})
    ]
    assert ContactTag.objects.filter(contact_id=base["d1"].pk).count() == 0


def test_a_bulk_erasure_of_an_unsubscribed_address_keeps_one_row_now_for_erasure(base):
    Suppression.objects.create(email_hash=base["m"].email_hash, reason="unsubscribe")
    assert erase_contacts(Contact.objects.filter(pk=base["m"].pk)) == 1
    assert list(Suppression.objects.values_list("email_hash", "reason")) == [
        (base["m"].email_hash, "erasure")
    ]


# --- The page -----------------------------------------------------------------------------------


def test_hq_tags_the_ticked_rows(hq_client, base):
    ids = [base["m"].pk, base["l"].pk]
    response = hq_client.post(
        URL, {"action": "tag", "scope": "selected", "ids": ids, "tags": ["appel", "relance"]}
    )
    assert response.status_code == 302
    assert response["Location"] == LIST
    assert tagged("appel") == ["l@x.fr", "m@x.fr"]
    assert tagged("relance") == ["d1@x.fr", "l@x.fr", "m@x.fr"]
    assert entries("contacts.tag") == [
        (
            "staff@qg.test",
            {
                "count": 2,
                "added": 4,
                "tags": ["appel", "relance"],
                "scope": "selected",
                "ids": sorted(ids),
            },
        )
    ]


def test_hq_tags_every_result_of_a_segment_and_a_search(hq_client, base):
    segment = SegmentFactory.create(definition={"version": 1, "departements": ["75"]})
    response = hq_client.post(
        URL, {"action": "tag", "scope": "all", "q": "dup", "segment": segment.pk, "tags": ["p"]}
    )
    assert response["Location"] == f"{LIST}?q=dup&segment={segment.pk}"
    assert tagged("p") == ["d1@x.fr", "d2@x.fr", "d3@x.fr", "d4@x.fr"]
    assert entries("contacts.tag")[0][1] == {
        "count": 4,
        "added": 4,
        "tags": ["p"],
        "scope": "all",
        "q": "dup",
        "segment": segment.pk,
    }


def test_hq_untags_and_adds_to_a_new_then_an_existing_list_segment(hq_client, base):
    hq_client.post(URL, {"action": "untag", "scope": "all", "tags": ["relance"]})
    assert tagged("relance") == []
    assert entries("contacts.untag")[0][1]["removed"] == 1
    response = hq_client.post(
        URL,
        {
            "action": "add_to_segment",
            "scope": "selected",
            "ids": [base["b"].pk],
            "new_segment": "Militants",
        },
    )
    assert response.status_code == 302
    segment = Segment.objects.get(name="Militants")
    assert segment.last_count == 1
    hq_client.post(
        URL,
        {"action": "add_to_segment", "scope": "all", "q": "dup", "target_segment": segment.pk},
    )
    segment.refresh_from_db()
    assert segment.last_count == 5
    assert [d["count"] for _a, d in entries("contacts.add_to_segment")] == [1, 4]


def test_a_rule_segment_is_not_offered_as_a_target(hq_client, base):
    ruled = SegmentFactory.create(definition={"version": 1, "departements": ["75"]})
    response = hq_client.post(
        URL, {"action": "add_to_segment", "scope": "all", "target_segment": ruled.pk}, follow=True
    )
    (message,) = [str(m) for m in response.context["messages"]]
    assert message.startswith("Sélectionnez un choix valide.")
    assert ContactTag.objects.count() == 1  # d1's "relance", as before
    assert AuditEvent.objects.filter(action__in=ACTIONS).count() == 0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"action": "tag", "scope": "selected", "tags": ["x"]},
            "Cochez au moins un contact, ou choisissez tous les résultats.",
        ),
        ({"action": "tag", "scope": "all"}, "Choisissez au moins une étiquette."),
        (
            {"action": "tag", "scope": "selected", "ids": ["1²"], "tags": ["x"]},
            "Sélection invalide.",
        ),
        (
            {"action": "add_to_segment", "scope": "all"},
            "Choisissez un segment, ou nommez-en un nouveau.",
        ),
    ],
)
def test_an_incomplete_action_says_why_and_changes_nothing(hq_client, base, data, message):
    response = hq_client.post(URL, data, follow=True)
    assert [str(m) for m in response.context["messages"]] == [message]
    assert ContactTag.objects.count() == 1
    assert Tag.objects.count() == 1
    assert AuditEvent.objects.filter(action__in=ACTIONS).count() == 0


def test_the_export_of_a_search_streams_its_contacts_and_is_audited(hq_client, base):
    response = hq_client.post(URL, {"action": "export", "scope": "all", "q": "dup"})
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text), delimiter=";"))
    assert [r["email"] for r in rows] == ["d1@x.fr", "d2@x.fr", "d3@x.fr", "d4@x.fr"]
    assert entries("segment.export") == [
        (
            "staff@qg.test",
            {"count": 4, "format": "csv utf-8-sig delimiter=;", "scope": "search", "q": "dup"},
        )
    ]


def test_erasing_asks_first_with_the_count_then_erases(hq_client, base):
    data = {"action": "erase", "scope": "all", "q": "dup"}
    question = hq_client.post(URL, data)
    assert question.status_code == 200
    html = question.content.decode()
    assert "Vous allez effacer 4 personnes" in html
    assert '<input type="hidden" name="confirm" value="4">' in html
    assert "<dialog" not in html  # without the script, a page
    assert Contact.objects.count() == 7
    # Through htmx, the same question as a dialog fragment.
    fragment = hq_client.post(URL, data, headers={"HX-Request": "true"}).content.decode()
    assert fragment.lstrip().startswith("<dialog") and "Effacer 4 personnes" in fragment
    # A count that no longer matches asks again, erasing nothing.
    again = hq_client.post(URL, data | {"confirm": 3})
    assert "La sélection a changé" in again.content.decode()
    assert Contact.objects.count() == 7
    assert entries("contacts.erase") == []
    done = hq_client.post(URL, data | {"confirm": 4})
    assert done.status_code == 302
    assert sorted(Contact.objects.values_list("email", flat=True)) == [
        "b@x.fr",
        "l@x.fr",
        "m@x.fr",
    ]
    assert entries("contacts.erase") == [
        ("staff@qg.test", {"count": 4, "scope": "all", "q": "dup"})
    ]


def test_a_large_erasure_is_recorded_by_the_request_and_run_by_the_worker(
    hq_client, base, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(bulk_views, "ERASE_INLINE_MAX", 2)
    with django_capture_on_commit_callbacks(execute=True):
        response = hq_client.post(
            URL, {"action": "erase", "scope": "all", "q": "dup", "confirm": 4}
        )
    assert response.status_code == 302
    assert Contact.objects.filter(last_name__startswith="Dup").count() == 0
    assert Contact.objects.count() == 3
    assert entries("contacts.erase") == [
        ("staff@qg.test", {"count": 4, "queued": True, "scope": "all", "q": "dup"})
    ]


@pytest.mark.parametrize("action", ["tag", "untag", "add_to_segment", "export", "erase"])
def test_coordinators_and_volunteers_are_refused_and_nothing_changes(
    coordinator_client, volunteer_client, base, action
):
    before = list(Contact.objects.order_by("pk").values_list("pk", flat=True))
    data = {"action": action, "scope": "all", "tags": ["relance"], "new_segment": "S", "confirm": 7}
    for client in (coordinator_client, volunteer_client):
        assert client.post(URL, data).status_code == 403
    assert list(Contact.objects.order_by("pk").values_list("pk", flat=True)) == before
    assert tagged("relance") == ["d1@x.fr"]
    assert Segment.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_the_list_offers_the_bulk_actions_to_hq_only(hq_client, coordinator_client, base):
    hq_page = hq_client.get(LIST, {"q": "dup"}).content.decode()
    assert 'action="/base/contacts/actions/"' in hq_page
    assert f'name="ids" value="{base["d1"].pk}" form="bulk"' in hq_page
    assert "les 4 résultats de cette recherche" in hq_page
    assert "data-searchable" in hq_page
    coordinator_page = coordinator_client.get(LIST).content.decode()
    assert "/base/contacts/actions/" not in coordinator_page
    assert 'name="ids"' not in coordinator_page
