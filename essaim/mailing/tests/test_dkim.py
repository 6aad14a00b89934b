"""DKIM signatures of campaign mail, checked by an independent verifier (dkimpy)."""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

import dkim as dkimpy
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from essaim.mailing.message import CompiledMessage, Recipient
from essaim.mailing.message.dkim import DkimSigner, relaxed_body, relaxed_header
from essaim.mailing.tests.factories import CampaignFactory
from essaim.people.tests.factories import make_contact

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def dkim_settings(settings: Any, tmp_path: Path, rsa_key: rsa.RSAPrivateKey) -> Any:
    path = tmp_path / "dkim.pem"
    path.write_bytes(
        rsa_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    settings.DKIM_PRIVATE_KEY_PATH = str(path)
    settings.DKIM_SELECTOR = "sel2026"
    settings.DKIM_DOMAIN = "campagne.test"
    return settings


def verify(raw: bytes, key: rsa.RSAPrivateKey) -> bool:
    """dkimpy's verification, with a DNS that answers our test key (no network)."""
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)

    def dns(name: bytes, timeout: int = 5) -> bytes:
        assert name == b"sel2026._domainkey.campagne.test."
        return record

    return bool(dkimpy.verify(raw, dnsfunc=dns))


def recipient(contact: Any, delivery_id: int = 7) -> Recipient:
    return Recipient(delivery_id, contact.pk, contact.email, contact.email_hash, contact.first_name)


def test_a_personalized_message_is_signed_and_verifies(
    dkim_settings: Any, rsa_key: rsa.RSAPrivateKey
) -> None:
    campaign = CampaignFactory.create(
        subject="Réunion à Lyon — samedi",
        body_markdown='Bonjour {{ first_name|default:"ami·e" }},\n\n'
        "Deux  espaces   ici, et un lien : {{ unsubscribe_url }}\n",
    )
    compiled = CompiledMessage(campaign)
    lea = make_contact("lea@exemple.fr", first_name="Léa  Marie ")
    sam = make_contact("sam@exemple.fr", first_name="")

    first = compiled.render(recipient(lea, 7))
    second = compiled.render(recipient(sam, 8))

    assert first.startswith(b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;")
    assert verify(first, rsa_key)
    assert verify(second, rsa_key)
    head = first.split(b"\r\n\r\n", 1)[0].decode()
    signed = re.search(r"h=([^;]+);", head)
    assert signed is not None
    assert re.sub(r"\s", "", signed.group(1)).split(":") == [
        "from",
        "to",
        "subject",
        "date",
        "message-id",
        "reply-to",
        "mime-version",
        "content-type",
        "list-unsubscribe",
        "list-unsubscribe-post",
        "feedback-id",
    ]
    assert "d=campagne.test; s=sel2026;" in head
    signature = head.split("\r\nDate:")[0]
    assert all(len(line) <= 78 for line in signature.split("\r\n"))
    # The body hashes differ (personalized bodies), and a change anywhere breaks the signature.
    bh = [re.search(rb"bh=([^;]+);", m).group(1) for m in (first, second)]  # type: ignore[union-attr]
    assert bh[0] != bh[1]
    assert not verify(first.replace(b"Deux", b"Tres"), rsa_key)
    assert not verify(first.replace(b"To: lea@", b"To: leo@"), rsa_key)
    unsubscribe = re.compile(rb"List-Unsubscribe: <[^>]+>")
    assert not verify(unsubscribe.sub(b"List-Unsubscribe: <https://evil.test/>", first), rsa_key)


def test_a_personalized_subject_is_signed_per_recipient_and_verifies(
    dkim_settings: Any, rsa_key: rsa.RSAPrivateKey
) -> None:
    campaign = CampaignFactory.create(subject='Bonjour {{ first_name|default:"ami·e" }} !')
    compiled = CompiledMessage(campaign)
    marie = make_contact("marie@exemple.fr", first_name="Marie")
    sam = make_contact("sam@exemple.fr", first_name="")

    first = compiled.render(recipient(marie, 7))
    second = compiled.render(recipient(sam, 8))

    assert b"\r\nSubject: Bonjour Marie !\r\n" in first
    assert b"\r\nSubject: =?utf-8?" in second
    assert verify(first, rsa_key)
    assert verify(second, rsa_key)
    # The subject is signed: another name there breaks the signature.
    assert not verify(first.replace(b"Subject: Bonjour Marie", b"Subject: Bonjour Mario"), rsa_key)


def test_a_body_without_slots_is_hashed_once_per_campaign(
    dkim_settings: Any, rsa_key: rsa.RSAPrivateKey
) -> None:
    campaign = CampaignFactory.create(
        reply_to="",
        body_markdown="Le même texte pour tout le monde.\n\n\n",
        html_template="<p>Le même texte.</p>\n",
    )
    compiled = CompiledMessage(campaign)
    assert compiled._bh is not None
    a = compiled.render(recipient(make_contact("a@exemple.fr"), 1))
    b = compiled.render(recipient(make_contact("b@exemple.fr"), 2))
    assert verify(a, rsa_key) and verify(b, rsa_key)
    assert b"reply-to" not in a.split(b"bh=")[0]


def test_no_key_no_signature(settings: Any) -> None:
    settings.DKIM_PRIVATE_KEY_PATH = ""
    raw = CompiledMessage(CampaignFactory.create()).render(
        recipient(make_contact("c@exemple.fr"), 3)
    )
    assert b"DKIM-Signature" not in raw


def test_whole_message_signing_and_canonicalization(rsa_key: rsa.RSAPrivateKey) -> None:
    pem = rsa_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    signer = DkimSigner(pem, selector="sel2026", domain="campagne.test")
    message = (
        b"From: Equipe <equipe@campagne.test>\r\nTo: x@exemple.fr\r\nSubject: a\r\n  b\r\n"
        b"\r\nline  one \t\r\n\r\n\r\n"
    )
    assert verify(signer.sign(message), rsa_key)
    assert relaxed_header("Subject", b" a\r\n  b ") == b"subject:a b\r\n"
    assert relaxed_body(b"line  one \t\r\n\r\n\r\n") == b"line one\r\n"
    assert relaxed_body(b"") == b""
