"""CSV export: HQ only, logged with its count, streamed from one query, safe in a spreadsheet."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.urls import reverse
from django.utils import timezone

from essaim.accounts.models import AuditEvent
from essaim.lib.csvsafe import neutralize
from essaim.people.services import export
from essaim.people.services.export import COLUMNS
from essaim.people.tests.factories import SegmentFactory, TagFactory, make_contact

pytestmark = pytest.mark.django_db
URL = reverse("people:export")


def body(response) -> bytes:
    assert response.streaming
    return b"".join(response.streaming_content)


def rows(response) -> list[list[str]]:
    text = body(response).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))


def test_cells_that_a_spreadsheet_would_evaluate_get_a_quote():
    for raw in ("=1+1", "+33612345678", "-2", "@SUM(A1)", "\tx", "\rx"):
        assert neutralize(raw) == "'" + raw
    for raw in ("Marie", "1+1", "", "a=b", " =1"):
        assert neutralize(raw) == raw


def test_hq_exports_the_whole_base_as_excel_ready_csv(hq_client, hq):
    paris = timezone.get_current_timezone()
    make_contact(
        "marie@gmail.com",
        first_name="Marie",
        last_name="Dupont; fille",
        phone="+33612345678",
        postcode="75011",
        source="salon",
        created_at=dt.datetime(2026, 3, 1, 9, 30, tzinfo=paris),
        consents={"news": "granted", "volunteering": "withdrawn"},
        tags=["retraités", "adhérent"],
    )
    make_contact("jean@orange.fr", postcode="69003", consents={})
    response = hq_client.post(URL)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="essaim-base-')
    assert response["Cache-Control"] == "no-store"
    raw = body(response)
    assert raw.startswith(b"\xef\xbb\xbfemail;first_name;last_name;phone;")
    assert raw.count(b"\r\n") == 3
    parsed = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline=""), delimiter=";"))
    assert parsed == [
        list(COLUMNS),
        [
            "marie@gmail.com",
            "Marie",
            "Dupont; fille",
            "'+33612345678",
            "75011",
            "75",
            "11",
            "adhérent, retraités",
            "salon",
            "2026-03-01T09:30:00+01:00",
            "granted",
            "",
            "withdrawn",
        ],
        [
            "jean@orange.fr",
            "Camille",
            parsed[2][2],  # the factory's generated last name
            "",
            "69003",
            "69",
            "84",
            "",
            "test",
            parsed[2][9],  # created now
            "",
            "",
            "",
        ],
    ]
    event = AuditEvent.objects.get()
    assert (event.action, event.actor, event.object_type, event.object_id) == (
        "segment.export",
        hq,
        "people.segment",
        "",
    )
    assert (event.details["count"], event.details["scope"]) == (2, "base")


def test_hq_exports_one_segment(hq_client):
    make_contact("paris@x.fr", postcode="75011")
    make_contact("lyon@x.fr", postcode="69003")
    segment = SegmentFactory.create(name="Lyon & co", definition={"departements": ["69"]})
    response = hq_client.post(URL, {"segment": segment.pk})
    assert [row[0] for row in rows(response)] == ["email", "lyon@x.fr"]
    assert 'filename="essaim-lyon-co-' in response["Content-Disposition"]
    event = AuditEvent.objects.get()
    assert (event.object_id, event.details["count"], event.details["segment"]) == (
        str(segment.pk),
        1,
        "Lyon & co",
    )


def test_formula_cells_are_neutralized_in_the_file(hq_client):
    TagFactory.create(name="=cmd|' /C calc'!A0")
    make_contact(
        "=x@exemple.fr",
        first_name='=HYPERLINK("http://evil.example","clic")',
        last_name="@SUM(1)",
        source="-10",
        tags=["=cmd|' /C calc'!A0"],
    )
    (_header, row) = rows(hq_client.post(URL))
    assert row[0] == "'=x@exemple.fr"
    assert row[1] == '\'=HYPERLINK("http://evil.example","clic")'
    assert row[2] == "'@SUM(1)"
    assert row[7] == "'=cmd|' /C calc'!A0"
    assert row[8] == "'-10"
    for cell in row:
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))


def test_rows_stream_from_one_query_in_chunks(hq_client, monkeypatch, django_assert_num_queries):
    monkeypatch.setattr(export, "CHUNK_SIZE", 2)
    monkeypatch.setattr(export, "ROWS_PER_WRITE", 2)
    for i in range(5):
        make_contact(f"c{i}@x.fr", tags=["a", "b"])
    response = hq_client.post(URL)
    with django_assert_num_queries(1):
        chunks = list(response.streaming_content)
    assert len(chunks) == 4  # header, then 2 + 2 + 1 rows
    lines = b"".join(chunks).decode("utf-8-sig").splitlines()
    assert [line.split(";")[0] for line in lines[1:]] == [f"c{i}@x.fr" for i in range(5)]


@pytest.mark.parametrize("who", ["coordinator_client", "volunteer_client"])
def test_only_hq_exports_and_a_refusal_leaves_no_trace(request, who):
    make_contact("marie@gmail.com", postcode="75011")
    segment = SegmentFactory.create(definition={})
    client = request.getfixturevalue(who)
    for data in ({}, {"segment": segment.pk}):
        response = client.post(URL, data)
        assert response.status_code == 403
        assert b"marie@gmail.com" not in response.content
    assert AuditEvent.objects.count() == 0


def test_anonymous_visitor_is_sent_to_login_and_nothing_is_exported(client):
    make_contact("marie@gmail.com")
    response = client.post(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
    assert AuditEvent.objects.count() == 0


def test_export_is_never_a_get(hq_client):
    assert hq_client.get(URL).status_code == 405
    assert AuditEvent.objects.count() == 0


def test_unknown_segment_is_404_and_not_logged(hq_client):
    assert hq_client.post(URL, {"segment": 999999}).status_code == 404
    assert hq_client.post(URL, {"segment": "x"}).status_code == 404
    assert hq_client.post(URL, {"segment": "²"}).status_code == 404
    assert AuditEvent.objects.count() == 0
