"""Ids and counts that come from outside (query strings, the API's JSON, the command line) are
ASCII digits or nothing: "²" is no 500, "١٢٣" (Arabic-Indic) is not read as 123."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.test import Client

from essaim.api.testing import api_for
from essaim.mailing.models import Campaign, CampaignTemplate, Delivery
from essaim.mailing.services import campaigns as svc
from essaim.people.models import Segment
from essaim.people.tests.factories import make_contact

pytestmark = pytest.mark.django_db

ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
NOT_IDS = ["²", "③", "١٢٣", "", " 12", "-1", "9" * 30]


def in_arabic_indic(number: int) -> str:
    return str(number).translate(ARABIC_INDIC)


def draft(user: Any) -> Campaign:
    return svc.save_draft(
        user=user,
        name="Appel",
        from_address="equipe@essaim.localhost",
        subject="Votez",
        body_markdown='Bonjour {{ first_name|default:"ami·e" }}',
        audience_all=True,
    )


@pytest.mark.parametrize("raw", [*NOT_IDS, "arabic-indic"])
def test_the_preview_of_a_contact_not_named_by_ascii_digits_is_the_anonymous_one(
    hq_client: Client, hq: Any, raw: str
) -> None:
    contact = make_contact("x@exemple.fr", first_name="Zéphyrine")
    campaign = draft(hq)
    if raw == "arabic-indic":
        raw = in_arabic_indic(contact.pk)

    response = hq_client.get(f"/campagnes/{campaign.pk}/apercu/message/", {"contact": raw})

    assert response.status_code == 200
    page = response.content.decode()
    assert "Bonjour ami·e" in page and "Zéphyrine" not in page


def test_the_preview_of_a_contact_named_by_ascii_digits_is_theirs(
    hq_client: Client, hq: Any
) -> None:
    contact = make_contact("x@exemple.fr", first_name="Zéphyrine")
    campaign = draft(hq)
    response = hq_client.get(f"/campagnes/{campaign.pk}/apercu/message/?contact={contact.pk}")
    assert "Bonjour Zéphyrine" in response.content.decode()


@pytest.mark.parametrize("raw", [*NOT_IDS, "arabic-indic"])
def test_a_template_not_named_by_ascii_digits_is_not_found(hq_client: Client, raw: str) -> None:
    template = CampaignTemplate.objects.create(name="Appel du samedi", subject="x")
    if raw == "arabic-indic":
        raw = in_arabic_indic(template.pk)
    assert hq_client.get("/campagnes/nouvelle/", {"modele": raw}).status_code == 404


@pytest.mark.parametrize("settled", ["²", "٠", "", " 0", "-1", "9" * 30, "9" * 5000])
def test_a_previous_reading_not_in_ascii_digits_is_no_reading(
    hq_client: Client, hq: Any, settled: str
) -> None:
    make_contact("a@gmail.com")
    make_contact("b@orange.fr")
    campaign = draft(hq)
    svc.launch_campaign(campaign, user=hq)
    Delivery.objects.filter(email="a@gmail.com").update(status=Delivery.Status.ACCEPTED)

    response = hq_client.get(
        f"/campagnes/{campaign.pk}/",
        {"settled": settled, "at": "1"},
        headers={"HX-Request": "true"},
    )

    assert response.status_code == 200
    fragment = response.content.decode()
    assert "1 envois réglés sur 2" in fragment
    assert 'id="campaign-rate">—' in fragment  # no rate: there was no previous reading


# --- The API ---------------------------------------------------------------------------------

API_BODY = {"subject": "Votez", "body_markdown": "Bonjour {{ first_name }}"}


@pytest.mark.parametrize("segment", [*NOT_IDS, 10**30, -1, "arabic-indic"])
def test_an_api_segment_not_in_ascii_digits_is_a_field_error(hq: Any, segment: Any) -> None:
    cache.clear()
    paris = Segment.objects.create(name="Paris", definition={"departements": ["75"]})
    if segment == "arabic-indic":
        segment = in_arabic_indic(paris.pk)

    response = api_for(hq).post("/api/v1/campaigns", API_BODY | {"segment": segment})

    assert (response.status_code, response.json()["error"]["details"]) == (
        422,
        [{"field": "segment", "message": "A segment id or 'all'."}],
    )
    assert Campaign.objects.count() == 0


def test_an_api_segment_in_ascii_digits_as_text_or_number_is_that_segment(hq: Any) -> None:
    cache.clear()
    paris = Segment.objects.create(name="Paris", definition={"departements": ["75"]})
    api = api_for(hq)
    by_text = api.post("/api/v1/campaigns", API_BODY | {"segment": str(paris.pk)})
    by_number = api.post("/api/v1/campaigns", API_BODY | {"segment": paris.pk})
    assert (by_text.status_code, by_number.status_code) == (201, 201)
    assert [c.segment for c in Campaign.objects.all()] == [paris, paris]


# --- The command line ------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["²", "③", "", " 12", "-1", "9" * 30, "arabic-indic"])
def test_a_command_line_segment_not_in_ascii_digits_nor_a_name_is_an_error(
    tmp_path: Any, value: str
) -> None:
    paris = Segment.objects.create(name="Paris", definition={"departements": ["75"]})
    if value == "arabic-indic":
        value = in_arabic_indic(paris.pk)
    body = tmp_path / "appel.md"
    body.write_text("Bonjour", encoding="utf-8")

    with pytest.raises(CommandError, match="No single segment named or numbered"):
        call_command(
            "campaign", "create", "--segment", value, "--subject", "x", "--body-file", str(body),
            stdout=StringIO(),
        )  # fmt: skip
    assert Campaign.objects.count() == 0


def test_a_command_line_segment_by_its_id_in_ascii_digits(tmp_path: Any) -> None:
    paris = Segment.objects.create(name="Paris", definition={"departements": ["75"]})
    body = tmp_path / "appel.md"
    body.write_text("Bonjour", encoding="utf-8")
    call_command(
        "campaign", "create", "--segment", str(paris.pk), "--subject", "x",
        "--body-file", str(body), stdout=StringIO(),
    )  # fmt: skip
    assert Campaign.objects.get().segment == paris


@pytest.mark.parametrize("ids", ["²", "③", "١٢٣", "1,١٢٣", " ", "-1", "9" * 30, "1,,²"])
def test_requeue_ids_not_in_ascii_digits_are_an_error(hq: Any, ids: str) -> None:
    campaign = draft(hq)
    with pytest.raises(CommandError, match="--ids takes delivery ids separated by commas"):
        call_command(
            "campaign", "requeue-unknown", str(campaign.pk), "--as", hq.email, "--ids", ids,
            "--yes", stdout=StringIO(), stderr=StringIO(),
        )  # fmt: skip
