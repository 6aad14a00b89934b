"""Invitations: address books in every shape, and hostile or careless input — floods, huge
vCards, binary files, wrong encodings, markup, invalid, international and plus addresses,
duplicates. Parsing answers syntax only; nothing is lost silently."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from essaim.army.models import Invitation, InvitationRequest
from essaim.army.services.addressbook import (
    AddressBookError,
    parse_csv,
    parse_file,
    parse_text,
    parse_vcard,
    read_upload,
)
from essaim.army.tests.factories import InviterFactory
from essaim.people.models import Contact

PAGE = reverse("army:invitations")


@pytest.fixture(autouse=True)
def fresh_rate_limits(db: Any) -> None:
    cache.clear()


@pytest.fixture
def volunteer_client(db: Any) -> tuple[Any, Client]:
    volunteer = InviterFactory.create(email="camille@exemple.fr", first_name="Camille")
    client = Client()
    client.force_login(volunteer.user)
    return volunteer, client


VCARD_30 = (
    "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ana Lopez\r\n"
    "item1.EMAIL;TYPE=INTERNET;TYPE=pref:ana@exemple.fr\r\n"
    "EMAIL;TYPE=INTERNET,WORK:ana.lopez@travail.exemple\r\n"
    "NOTE:pas une adresse\\, vraiment: x@y\r\nEND:VCARD\r\n"
    "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ben\r\n"
    "EMAIL;TYPE=INTERNET:ben.tres.long.pour.etre.plie@exem\r\n ple.fr\r\nEND:VCARD\r\n"
)
VCARD_40 = (
    "BEGIN:VCARD\nVERSION:4.0\nFN:Chloé\n"
    'EMAIL;PREF=1;PID="1.1:x":chloe@exemple.fr\n'
    "EMAIL;TYPE=home:mailto:chloe+campagne@exemple.fr\nEND:VCARD\n"
)


def test_a_vcard_3_gives_every_address_of_every_card_folded_lines_included():
    found = parse_vcard(VCARD_30)
    assert found.valid == [
        "ana@exemple.fr",
        "ana.lopez@travail.exemple",
        "ben.tres.long.pour.etre.plie@exemple.fr",
    ]
    assert found.invalid == []


def test_a_vcard_4_with_quoted_parameters_and_mailto():
    assert parse_vcard(VCARD_40).valid == ["chloe@exemple.fr", "chloe+campagne@exemple.fr"]


def test_a_csv_export_gives_the_addresses_of_any_column_and_several_per_cell():
    google = (
        "Name,Given Name,E-mail 1 - Type,E-mail 1 - Value,E-mail 2 - Value\n"
        'Ana,Ana,* Home,ana@exemple.fr ::: ana2@exemple.fr,"ana3@exemple.fr"\n'
        "Ben,Ben,,ben@exemple.fr,\n"
    )
    assert parse_csv(google).valid == [
        "ana@exemple.fr",
        "ana2@exemple.fr",
        "ana3@exemple.fr",
        "ben@exemple.fr",
    ]
    outlook = "Prénom;Nom;Adresse de messagerie\nÉlise;Reclus;elise@exemple.fr\n"
    assert parse_csv(outlook).valid == ["elise@exemple.fr"]


def test_a_vcard_with_100000_entries_is_refused_clearly_and_read_no_further(settings):
    card = "BEGIN:VCARD\r\nVERSION:3.0\r\nEMAIL:p{n}@exemple.fr\r\nEND:VCARD\r\n"
    data = "".join(card.format(n=n) for n in range(100_000)).encode()
    assert len(data) > settings.INVITATIONS_MAX_UPLOAD_BYTES
    stream = io.BytesIO(data)
    with pytest.raises(AddressBookError, match="Fichier trop lourd"):
        read_upload(stream)
    assert stream.tell() == settings.INVITATIONS_MAX_UPLOAD_BYTES + 1  # bounded read
    with pytest.raises(AddressBookError, match="Fichier trop lourd"):
        read_upload(io.BytesIO(b""), size=len(data))  # refused on its declared size alone
    # Under the byte limit, the entry limit stops it, with the limit named.
    settings.INVITATIONS_MAX_UPLOAD_BYTES = len(data) + 1
    with pytest.raises(AddressBookError, match="Plus de 5000 adresses"):
        parse_file(read_upload(io.BytesIO(data)))


def test_a_file_under_the_entry_limit_keeps_every_address(settings):
    settings.INVITATIONS_MAX_ENTRIES = 300
    card = "BEGIN:VCARD\nEMAIL:p{n}@exemple.fr\nEND:VCARD\n"
    found = parse_file("".join(card.format(n=n) for n in range(300)).encode())
    assert len(found.valid) == 300


@pytest.mark.parametrize(
    "data",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        b"PK\x03\x04 a zip or an xlsx",
        b"%PDF-1.7",
        b"BEGIN:VCARD\x00\x00EMAIL:a@b.fr",
    ],
)
def test_a_binary_file_is_refused(data):
    with pytest.raises(AddressBookError, match="pas un carnet d'adresses"):
        parse_file(data)


def test_encodings_utf16_windows_1252_and_utf8_bom_are_read():
    text = "BEGIN:VCARD\r\nFN:Élodie\r\nEMAIL:elodie@exemple.fr\r\nEND:VCARD\r\n"
    for data in (
        text.encode("utf-16"),
        text.encode("cp1252"),
        b"\xef\xbb\xbf" + text.encode(),
    ):
        assert parse_file(data).valid == ["elodie@exemple.fr"]


def test_an_undecodable_file_is_refused_with_a_clear_error():
    with pytest.raises(AddressBookError, match="Encodage non reconnu"):
        parse_file(b"EMAIL:a@b.fr\x81\x8d\x8f\x90\x9d")  # not UTF-8, not Windows-1252


def test_a_vcard_without_cards_is_refused():
    with pytest.raises(AddressBookError, match="aucune fiche"):
        parse_vcard("EMAIL:a@b.fr\nBEGIN:VCARD-ish")


def test_pasted_text_keeps_idn_and_plus_addresses_and_drops_duplicates():
    found = parse_text(
        "jean@élysée.fr\nJEAN@ÉLYSÉE.FR\nana+campagne@exemple.fr\nana@exemple.fr;"
        " Ana@Exemple.FR, <ben@exemple.fr> mailto:chloe@exemple.fr"
    )
    assert found.valid == [
        "jean@xn--lyse-9oad.fr",
        "ana+campagne@exemple.fr",
        "ana@exemple.fr",
        "ben@exemple.fr",
        "chloe@exemple.fr",
    ]


def test_invalid_entries_are_reported_as_syntax_only_and_cut_short():
    found = parse_text(
        "<script>alert(1)</script>@x.fr\njean.dupont\na@@b.fr\nc@localhost\n" + "x" * 500 + "@y.fr"
    )
    assert found.valid == []
    assert found.invalid_count == 5
    assert found.invalid[:4] == [
        "script>alert(1)</script>@x.fr",
        "jean.dupont",
        "a@@b.fr",
        "c@localhost",
    ]
    assert len(found.invalid[4]) == 80


def test_a_huge_paste_is_refused():
    with pytest.raises(AddressBookError, match="Texte trop long"):
        parse_text("a@b.fr " * 20_000)


# --- Through the page ---------------------------------------------------------------------------


def test_uploading_a_vcard_fills_the_list_and_sends_nothing(volunteer_client, smtp_recorder):
    _, client = volunteer_client
    book = SimpleUploadedFile("contacts.vcf", VCARD_30.encode(), content_type="text/vcard")
    response = client.post(PAGE, {"action": "read", "book": book, "addresses": ""})
    assert response.status_code == 200
    assert response.context["form"]["addresses"].value().splitlines() == [
        "ana@exemple.fr",
        "ana.lopez@travail.exemple",
        "ben.tres.long.pour.etre.plie@exemple.fr",
    ]
    assert "3 adresses lues." in response.text
    assert (InvitationRequest.objects.count(), len(smtp_recorder.messages)) == (0, 0)


def test_uploading_a_binary_file_shows_the_error_and_records_nothing(volunteer_client):
    _, client = volunteer_client
    book = SimpleUploadedFile("photo.vcf", b"\x89PNG\r\n\x1a\n\x00\x00")
    response = client.post(PAGE, {"action": "read", "book": book})
    assert response.status_code == 200
    assert "pas un carnet d&#x27;adresses" in response.text
    assert InvitationRequest.objects.count() == 0


def test_markup_in_addresses_is_shown_escaped_and_never_invited(volunteer_client, smtp_recorder):
    _, client = volunteer_client
    response = client.post(
        PAGE,
        {"action": "send", "addresses": '"><img src=x onerror=alert(1)>@x.fr\nok@exemple.fr'},
        follow=True,
    )
    assert "<img src=x" not in response.text
    assert "onerror=alert(1)&gt;@x.fr" in response.text
    assert "1 adresse mal écrite, non invitée" in response.text
    assert "1 invitation envoyée." in response.text
    assert Contact.objects.filter(email__contains="img").count() == 0


def test_only_invalid_addresses_sends_nothing_and_says_why(volunteer_client):
    _, client = volunteer_client
    response = client.post(PAGE, {"action": "send", "addresses": "pas-une-adresse"})
    assert response.status_code == 200
    assert "Aucune adresse valide" in response.text
    assert "1 adresse mal écrite" in response.text
    assert InvitationRequest.objects.count() == 0


def test_the_daily_limit_refuses_the_whole_paste_and_says_how_many_are_left(
    volunteer_client, settings, django_capture_on_commit_callbacks, smtp_recorder
):
    volunteer, client = volunteer_client
    settings.INVITATIONS_DAILY_LIMIT = 3
    with django_capture_on_commit_callbacks(execute=True):
        client.post(PAGE, {"action": "send", "addresses": "a@exemple.fr, b@exemple.fr"})
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(PAGE, {"action": "send", "addresses": "c@exemple.fr, d@exemple.fr"})
    assert response.status_code == 200
    assert "Vous pouvez encore inviter 1 personne aujourd&#x27;hui (3 par jour)" in response.text
    assert InvitationRequest.objects.filter(volunteer=volunteer).count() == 2
    assert len(smtp_recorder.messages) == 2
    # Re-sending addresses already given costs nothing; one more new one fits.
    with django_capture_on_commit_callbacks(execute=True):
        client.post(PAGE, {"action": "send", "addresses": "a@exemple.fr, c@exemple.fr"})
    assert InvitationRequest.objects.filter(volunteer=volunteer).count() == 3
    assert len(smtp_recorder.messages) == 3


def test_a_flood_of_requests_is_rate_limited(volunteer_client, settings, smtp_recorder):
    volunteer, client = volunteer_client
    settings.INVITATIONS_RATE_LIMIT = "2/h"
    for n in range(2):
        assert client.post(PAGE, {"action": "send", "addresses": f"a{n}@x.fr"}).status_code == 302
    response = client.post(PAGE, {"action": "send", "addresses": "a9@x.fr"})
    assert response.status_code == 429
    assert InvitationRequest.objects.filter(volunteer=volunteer).count() == 2


def test_a_volunteer_cannot_invite_in_someone_elses_name(
    volunteer_client, smtp_recorder, django_capture_on_commit_callbacks
):
    volunteer, client = volunteer_client
    other = InviterFactory.create(email="olympe@exemple.fr", first_name="Olympe")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            PAGE,
            {"action": "send", "addresses": "a@exemple.fr", "volunteer": str(other.pk)},
        )
    assert Invitation.objects.get().inviter == volunteer
