from __future__ import annotations

import re
from email import policy
from email.parser import BytesParser
from typing import Any

import pytest
from django.core import signing
from django.test import Client
from django.urls import reverse

from essaim.mailing.message import (
    CompiledMessage,
    Recipient,
    TemplateError,
    UnmailableAddress,
    UnsubscribeSigner,
    VerpSigner,
    ascii_address,
    frame_data,
    parse_template,
)
from essaim.mailing.models import Campaign
from essaim.mailing.tests.factories import CampaignFactory
from essaim.people.models import Suppression
from essaim.people.services.unsubscribe import (
    UNSUBSCRIBE_SALT,
    read_unsubscribe_token,
    unsubscribe_token,
)
from essaim.people.tests.factories import make_contact

pytestmark = pytest.mark.django_db

LONG_LINE = "Une très longue phrase sans retour à la ligne, répétée encore et encore. " * 40


def recipient(contact: Any, delivery_id: int = 41) -> Recipient:
    return Recipient(delivery_id, contact.pk, contact.email, contact.email_hash, contact.first_name)


def parse(raw: bytes) -> Any:
    return BytesParser(policy=policy.default).parsebytes(raw)


def body(msg: Any, kind: str) -> str:
    """A part's decoded text with CRLF turned into newlines (the wire form is CRLF)."""
    return str(msg.get_body(preferencelist=(kind,)).get_content()).replace("\r\n", "\n")


def test_a_rendered_message_has_every_header_right() -> None:
    contact = make_contact("lea@exemple.fr", first_name="Léa")
    campaign = CampaignFactory.create(subject="Réunion à Lyon — samedi", from_name="Équipe Essaim")
    compiled = CompiledMessage(campaign)

    raw = compiled.render(recipient(contact))
    msg = parse(raw)

    assert msg["To"] == "lea@exemple.fr"
    assert msg["Subject"] == "Réunion à Lyon — samedi"
    assert re.search(rb"^Subject: =\?utf-8\?", raw, re.MULTILINE)
    assert msg["From"].addresses[0].display_name == "Équipe Essaim"
    assert msg["From"].addresses[0].addr_spec == "equipe@campagne.test"
    assert msg["Reply-To"] == "contact@campagne.test"
    assert msg["MIME-Version"] == "1.0"
    assert msg["Date"].datetime is not None
    assert re.fullmatch(rf"<{campaign.pk}\.41\.[0-9a-f]{{8}}@campagne\.test>", msg["Message-ID"])
    assert msg["Feedback-ID"] == f"{campaign.pk}:news:essaim:essaim"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = compiled.unsubscribe_url(recipient(contact))
    assert url == f"http://127.0.0.1:8000/desinscription/{unsubscribe_token(contact)}/"
    # Resolved in the public pages' URLconf alone: the same path as in the site's.
    token = unsubscribe_token(contact)
    assert url.endswith(reverse("public:unsubscribe", kwargs={"token": token}))
    verp_tag = VerpSigner("x").tag(41)
    assert str(msg["List-Unsubscribe"]).split(", ") == [
        f"<{url}>",
        f"<mailto:desinscription@essaim.localhost?subject=unsubscribe-41-{verp_tag}>",
    ]
    assert msg.get_content_type() == "multipart/alternative"
    text, html = body(msg, "plain"), body(msg, "html")
    assert text == "Bonjour Léa,\n\nRendez-vous samedi.\n"
    assert "<p>Bonjour Léa,</p>" in html
    assert "Quatre jours pour convaincre" in html  # the preheader


def test_every_line_ends_with_crlf_and_stays_short_even_for_long_paragraphs() -> None:
    contact = make_contact("long@exemple.fr", first_name="X" * 150)
    campaign = CampaignFactory.create(
        body_markdown=f"{{{{ first_name }}}} {LONG_LINE}\n.début de ligne\n"
    )
    raw = CompiledMessage(campaign).render(recipient(contact))

    assert b"\n" not in raw.replace(b"\r\n", b"")
    assert b"\r" not in raw.replace(b"\r\n", b"")
    head, _, rest = raw.partition(b"\r\n\r\n")
    # Headers: an unsubscribe URL cannot be folded, so only RFC 5322's hard limit holds there.
    assert max(len(line) for line in head.split(b"\r\n")) <= 998
    assert max(len(line) for line in rest.split(b"\r\n")) <= 78
    text = body(parse(raw), "plain")
    assert text == f"{'X' * 150} {LONG_LINE}\n.début de ligne\n"


def test_framing_stuffs_dots_at_line_starts_and_ends_with_the_dot_line() -> None:
    assert frame_data(b".a\r\nb\r\n.\r\n..c") == b"..a\r\nb\r\n..\r\n...c\r\n.\r\n"


@pytest.mark.parametrize("first_name", ["Léa", ".Point", "", "X" * 140 + "\n.", "=.="])
def test_the_wire_form_is_the_rendered_message_framed_for_smtp(first_name: str) -> None:
    contact = make_contact("point@exemple.fr", first_name=first_name)
    campaign = CampaignFactory.create(
        body_markdown=f".début\n{{{{ first_name }}}}\n.\n{LONG_LINE}{{{{ unsubscribe_url }}}}\n"
    )
    compiled = CompiledMessage(campaign, site_url="https://x.test/" + "a." * 40)

    for delivery_id in (41, 42):
        raw = compiled.render(recipient(contact, delivery_id))
        assert compiled.wire(recipient(contact, delivery_id)) == frame_data(raw)
    text = body(parse(raw), "plain")
    assert compiled.unsubscribe_url(recipient(contact, 42)) in text
    assert text.startswith(f".début\n{first_name}\n.\n")


def test_personalization_uses_the_default_and_escapes_html() -> None:
    nameless = make_contact("anonyme@exemple.fr", first_name="")
    tricky = make_contact("tricky@exemple.fr", first_name="<b>Zoé</b>")
    compiled = CompiledMessage(CampaignFactory.create())

    first = parse(compiled.render(recipient(nameless)))
    second = parse(compiled.render(recipient(tricky, 42)))

    assert body(first, "plain").startswith("Bonjour ami·e,")
    assert "<p>Bonjour ami·e,</p>" in body(first, "html")
    html = body(second, "html")
    assert "Bonjour &lt;b&gt;Zoé&lt;/b&gt;," in html
    assert "<b>Zoé" not in html


@pytest.mark.parametrize(
    "text",
    [
        "{{ email }}",
        "{{ first_name.__class__ }}",
        "{% load x %}",
        "{{ first_name|upper }}",
        '{{ unsubscribe_url|default:"x" }}',
    ],
)
def test_personalization_refuses_anything_outside_the_whitelist(text: str) -> None:
    with pytest.raises(TemplateError):
        parse_template(text, html=False, allow=frozenset({"first_name", "unsubscribe_url"}))


def test_the_fast_unsubscribe_token_is_djangos_and_the_page_accepts_it() -> None:
    contact = make_contact("quitter@exemple.fr")
    token = UnsubscribeSigner().token(contact.pk, contact.email_hash)

    assert token == unsubscribe_token(contact)
    assert read_unsubscribe_token(token).contact == contact
    response = Client().post(f"/desinscription/{token}/", {"choice": "all"})
    assert response.status_code in (200, 302)
    assert Suppression.objects.filter(email_hash=contact.email_hash).count() == 1


@pytest.mark.parametrize("email_hash", ["ABCdef0123", "", 'a"b', "é1", "a b", "a\\b"])
def test_the_fast_token_is_djangos_whatever_the_hash(email_hash: str) -> None:
    # The letters-and-digits path writes the JSON itself; anything else goes through json.dumps.
    expected = signing.Signer(salt=UNSUBSCRIBE_SALT).sign_object({"c": 7, "h": email_hash})

    assert UnsubscribeSigner().token(7, email_hash) == expected
    assert UnsubscribeSigner().token_bytes(7, email_hash) == expected.encode("ascii")


def test_verp_addresses_carry_a_checked_delivery_id() -> None:
    verp = VerpSigner("bounces.test")
    address = verp.address(12345)
    local = address.split("@")[0]

    assert address.endswith("@bounces.test")
    assert verp.read(local) == 12345
    assert verp.read(local.replace("12345", "12346")) is None
    assert VerpSigner("bounces.test", secret="other").read(local) is None


def test_an_idn_domain_goes_out_in_punycode_and_a_utf8_local_part_is_refused() -> None:
    assert ascii_address("marie@exemple.fr") == "marie@exemple.fr"
    assert ascii_address("marie@élysée.fr") == "marie@xn--lyse-9oad.fr"
    assert ascii_address("Marie@Élysée.FR") == "Marie@xn--lyse-9oad.fr"
    with pytest.raises(UnmailableAddress, match="non-ASCII local part"):
        ascii_address("josé@exemple.fr")
    with pytest.raises(UnmailableAddress, match="invalid international domain"):
        ascii_address("marie@ex\u00e9mple..fr")
    with pytest.raises(UnmailableAddress, match="invalid address"):
        ascii_address("é")


def test_idn_hosts_in_the_settings_give_ascii_unsubscribe_headers() -> None:
    contact = make_contact("lea@exemple.fr")
    campaign = CampaignFactory.create()
    compiled = CompiledMessage(
        campaign, site_url="https://élection.fr", unsubscribe_mailto="désabo@élection.fr"
    )
    # A row written around normalize_email, with its domain not yet encoded.
    who = Recipient(41, contact.pk, "lea@exemple.fr", contact.email_hash, "")
    raw = compiled.render(who)
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert head.isascii()
    msg = parse(raw)
    assert str(msg["List-Unsubscribe"]).split(", ") == [
        f"<https://xn--lection-9xa.fr/desinscription/{unsubscribe_token(contact)}/>",
        f"<mailto:d%C3%A9sabo@xn--lection-9xa.fr?subject=unsubscribe-41-{VerpSigner('x').tag(41)}>",
    ]
    assert frame_data(raw) == compiled.wire(who)


def test_a_preview_to_a_non_ascii_address_does_not_crash() -> None:
    contact = make_contact("lea@exemple.fr")
    compiled = CompiledMessage(CampaignFactory.create())

    idn = parse(compiled.render(Recipient(1, contact.pk, "lea@élysée.fr", contact.email_hash)))
    utf8 = compiled.render(Recipient(2, contact.pk, "josé@exemple.fr", contact.email_hash))

    assert idn["To"] == "lea@xn--lyse-9oad.fr"
    assert b"\r\nTo: jos\xc3\xa9@exemple.fr\r\n" in utf8


def test_an_unsaved_campaign_is_refused_with_a_clear_error() -> None:
    # The same error from the mypyc build as from the Python source (see essaim.lib.compiled).
    with pytest.raises(ValueError, match="once it is saved"):
        CompiledMessage(Campaign(subject="Sans id", from_email="equipe@campagne.test"))
