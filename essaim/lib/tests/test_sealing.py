"""Sealed tokens: what opens them, what does not, and that they show nothing of their data."""

from __future__ import annotations

import base64
import time

import pytest
from django.test import override_settings

from essaim.lib import sealing

DATA = {"email": "marie.curie@exemple.fr", "first_name": "Marie", "postcode": "75005"}
OTHER_KEY = "another-secret-key-long-enough-to-be-real-0123456789abcdef"


def test_a_sealed_value_opens_with_its_purpose():
    token = sealing.seal_object(DATA, purpose="test.a")
    assert sealing.unseal_object(token, purpose="test.a", max_age=60) == DATA


def test_a_token_is_url_safe_and_two_seals_of_the_same_value_differ():
    a = sealing.seal_object(DATA, purpose="test.a")
    b = sealing.seal_object(DATA, purpose="test.a")
    assert a != b  # a fresh nonce each time: equal requests cannot be told equal
    assert set(a) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_a_token_shows_none_of_its_data_once_base64_decoded():
    token = sealing.seal_object(DATA, purpose="test.a")
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    for value in DATA.values():
        assert value.encode() not in raw
        assert value.encode() not in raw.lower()


def test_another_purpose_does_not_open_it():
    token = sealing.seal_object(DATA, purpose="test.a")
    with pytest.raises(sealing.BadSeal) as refused:
        sealing.unseal_object(token, purpose="test.b", max_age=60)
    assert type(refused.value) is sealing.BadSeal


def test_another_key_does_not_open_it_but_a_fallback_key_still_does():
    with override_settings(SECRET_KEY=OTHER_KEY):
        token = sealing.seal_object(DATA, purpose="test.a")
    with pytest.raises(sealing.BadSeal):
        sealing.unseal_object(token, purpose="test.a", max_age=60)
    with override_settings(SECRET_KEY_FALLBACKS=[OTHER_KEY]):
        assert sealing.unseal_object(token, purpose="test.a", max_age=60) == DATA


def test_an_old_token_is_expired_and_a_forged_old_one_is_only_invalid():
    old = time.time() - 3600
    token = sealing.seal_object(DATA, purpose="test.a", now=old)
    assert sealing.unseal_object(token, purpose="test.a", max_age=3601) == DATA
    with pytest.raises(sealing.SealExpired):
        sealing.unseal_object(token, purpose="test.a", max_age=3599)
    with override_settings(SECRET_KEY=OTHER_KEY):
        forged = sealing.seal_object(DATA, purpose="test.a", now=old)
    with pytest.raises(sealing.BadSeal) as refused:
        sealing.unseal_object(forged, purpose="test.a", max_age=60)
    assert type(refused.value) is sealing.BadSeal


def _flip(token: str, index: int) -> str:
    return token[:index] + ("B" if token[index] != "B" else "C") + token[index + 1 :]


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: _flip(t, 2),  # the issue time (authenticated, readable)
        lambda t: _flip(t, len(t) // 2),  # the ciphertext
        lambda t: _flip(t, len(t) - 3),  # the tag
        lambda t: t[:-4],
        lambda t: t[:20],
        lambda t: "",
        lambda t: "Ag" + t[2:],  # version 2
        lambda t: t + "A" * sealing.MAX_TOKEN_LENGTH,
        lambda t: t[:10] + "é" + t[11:],
        lambda t: t[:10] + "!" + t[11:],
    ],
)
def test_an_altered_token_is_refused(mangle):
    token = sealing.seal_object(DATA, purpose="test.a")
    with pytest.raises(sealing.BadSeal):
        sealing.unseal_object(mangle(token), purpose="test.a", max_age=60)


def test_sealed_bytes_that_are_not_compressed_json_are_refused():
    token = sealing.seal(b"not zlib at all", purpose="test.a")
    assert sealing.unseal(token, purpose="test.a", max_age=60) == b"not zlib at all"
    with pytest.raises(sealing.BadSeal):
        sealing.unseal_object(token, purpose="test.a", max_age=60)
