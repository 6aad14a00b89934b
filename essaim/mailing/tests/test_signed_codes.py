"""The signed codes campaign mail carries, pinned for a fixed SECRET_KEY.

Mail already sent holds these codes: a VERP address or a List-Unsubscribe mailto: comes back in
a bounce or a complaint months later, an unsubscribe link is clicked years later. A change of
key derivation or of format would turn every one of them into a forgery, so the exact values
are written here, not recomputed.
"""

from __future__ import annotations

import pytest

from essaim.mailing.message import CompiledMessage, Recipient, UnsubscribeSigner, VerpSigner
from essaim.mailing.services.bounces import verp_signer
from essaim.mailing.tests.factories import CampaignFactory
from essaim.people.services.unsubscribe import read_unsubscribe_token

SECRET = "pinned-secret-key-for-tests"
DOMAIN = "bounces.example.org"
HASH = "0f" * 32
TOKEN = (
    "eyJjIjo3LCJoIjoiMGYwZjBmMGYwZjBmMGYwZjBmMGYwZjBmMGYwZjBmMGYwZjBmMGYwZjBmMGYwZjBmMGYwZjBm"
    "MGYwZjBmMGYwZiJ9:WyAx4Tw6gcV00NsFuJFsBot65Thfmfdc5avS9fGKjZ0"
)


def test_a_verp_tag_and_address_are_pinned() -> None:
    verp = VerpSigner(DOMAIN, SECRET)

    assert verp.tag(41) == "jsizgs4c"
    assert verp.tag(123456789012) == "bdgltg7t"
    assert verp.address(41) == "bounces+41-jsizgs4c@bounces.example.org"
    assert verp.read("bounces+41-jsizgs4c") == 41
    assert verp.read("bounces+41-jsizgs4d") is None


def test_an_unsubscribe_token_is_pinned() -> None:
    signer = UnsubscribeSigner(SECRET)

    assert signer.token(7, HASH) == TOKEN
    assert signer.token_bytes(7, HASH) == TOKEN.encode("ascii")
    # A hash that is not letters and digits goes through json.dumps.
    other = "eyJjIjo3LCJoIjoiXHUwMGU5In0:-KeZUePoam4JdL2bkeuTCOJVI-WasEbRgAbBs86j6UQ"
    assert signer.token(7, "é") == other


@pytest.mark.django_db
def test_the_settings_key_gives_the_pinned_codes(settings) -> None:
    settings.SECRET_KEY = SECRET
    settings.MAILING_VERP_DOMAIN = DOMAIN
    message = CompiledMessage(CampaignFactory.create(), sign=False)
    who = Recipient(41, 7, "lea@exemple.fr", HASH, "Léa")

    assert message.envelope_sender(who) == "bounces+41-jsizgs4c@bounces.example.org"
    assert message.unsubscribe_url(who).endswith(f"/desinscription/{TOKEN}/")
    assert b"subject=unsubscribe-41-jsizgs4c>" in message.render(who)
    assert verp_signer().tag(41) == "jsizgs4c"
    # The page reads the token with Django's signing and the same key.
    target = read_unsubscribe_token(TOKEN)
    assert (target.contact_id, target.email_hash) == (7, HASH)
