"""Ids in the base's query strings and forms are ASCII digits or nothing: "²" is no 500,
"١٢٣" (Arabic-Indic) is not read as 123."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from essaim.people.models import Segment
from essaim.people.tests.factories import make_contact

pytestmark = pytest.mark.django_db

ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
NOT_IDS = ["²", "③", "١٢٣", " 12", "-1", "9" * 30, "arabic-indic"]


def paris() -> Segment:
    return Segment.objects.create(name="Paris", definition={"departements": ["75"]})


def named(raw: str, segment: Segment) -> str:
    return str(segment.pk).translate(ARABIC_INDIC) if raw == "arabic-indic" else raw


@pytest.mark.parametrize("raw", NOT_IDS)
def test_a_list_segment_not_in_ascii_digits_is_not_found(hq_client: Client, raw: str) -> None:
    raw = named(raw, paris())
    assert hq_client.get(reverse("people:contact_list"), {"segment": raw}).status_code == 404


@pytest.mark.parametrize("raw", NOT_IDS)
def test_a_list_cursor_not_in_ascii_digits_is_the_first_page(hq_client: Client, raw: str) -> None:
    make_contact("marie@exemple.fr")
    for cursor in ("after", "before"):
        response = hq_client.get(reverse("people:contact_list"), {cursor: raw})
        assert response.status_code == 200
        assert "marie@exemple.fr" in response.content.decode()


@pytest.mark.parametrize("raw", NOT_IDS)
def test_an_export_segment_not_in_ascii_digits_is_not_found(hq_client: Client, raw: str) -> None:
    raw = named(raw, paris())
    assert hq_client.post(reverse("people:export"), {"segment": raw}).status_code == 404


@pytest.mark.parametrize("raw", NOT_IDS)
def test_a_live_count_for_a_segment_not_in_ascii_digits_counts_the_form(
    hq_client: Client, raw: str
) -> None:
    raw = named(raw, paris())
    response = hq_client.post(reverse("people:segment_count"), {"segment_id": raw})
    assert response.status_code == 200


@pytest.mark.parametrize("raw", NOT_IDS)
def test_a_refused_bulk_action_with_a_segment_not_in_ascii_digits_goes_back_to_the_list(
    hq_client: Client, raw: str
) -> None:
    raw = named(raw, paris())
    response = hq_client.post(reverse("people:contact_bulk"), {"action": "", "segment": raw})
    assert response.status_code == 302
    assert "segment=" not in response["Location"]
