"""The keyed hashes of essaim.lib.signing agree with the standard library's and Django's, and
refuse what they should."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

import pytest
from django.core import signing as django_signing

from essaim.lib.signing import (
    DjangoSigner,
    HmacSha256,
    derive_key,
    from_urlsafe_b64,
    subkey,
    urlsafe_b64,
    verify,
)

SECRET = "pinned-secret-key-for-tests"


@pytest.mark.parametrize("key", [b"", b"k", b"x" * 64, b"y" * 65, bytes(range(200))])
@pytest.mark.parametrize("message", [b"", b"m", b"z" * 1000])
def test_the_hmac_is_rfc_2104s_for_any_key_length(key, message):
    mac = HmacSha256(key)
    assert mac.digest(message) == hmac.digest(key, message, "sha256")
    # The states are copied, never updated: the same message gives the same digest again.
    assert mac.digest(message) == hmac.digest(key, message, "sha256")


def test_a_derived_key_is_sha256_of_the_purpose_and_the_secret(settings):
    expected = hashlib.sha256(b"essaim.test" + SECRET.encode()).digest()
    assert derive_key(b"essaim.test", SECRET) == expected
    settings.SECRET_KEY = SECRET
    assert derive_key(b"essaim.test") == expected
    assert derive_key(b"essaim.other") != expected
    assert subkey(expected, b"encrypt") == hmac.digest(expected, b"encrypt", "sha256")
    assert subkey(expected, b"encrypt") != subkey(expected, b"authenticate")


def test_a_tag_is_the_start_of_the_digest_and_verifies_only_at_its_size():
    mac = HmacSha256(b"key")
    tag = mac.tag(b"message", 10)
    assert tag == hmac.digest(b"key", b"message", "sha256")[:10]
    assert mac.verify(b"message", tag, 10) is True
    assert mac.verify(b"message", tag[:9], 10) is False  # shorter: refused, not a prefix match
    assert mac.verify(b"message", tag[:9], 9) is True
    assert mac.verify(b"messagf", tag, 10) is False
    assert mac.verify(b"message", bytes(10), 10) is False
    assert mac.verify(b"message", b"", 0) is True  # a size of 0 checks nothing: callers fix it


def test_a_short_tag_is_the_first_40_bits_in_lowercase_base32():
    mac = HmacSha256(b"key")
    digest = hmac.digest(b"key", b"41", "sha256")
    assert mac.short_tag(b"41") == base64.b32encode(digest[:5]).decode().lower()
    assert len(mac.short_tag(b"")) == 8


def test_the_django_signer_makes_djangos_tokens(settings):
    settings.SECRET_KEY = SECRET
    for obj in [{"c": 7, "h": "0f" * 32}, {"c": 0, "h": ""}, {"c": 1, "h": 'é"\\'}]:
        payload = django_signing.JSONSerializer().dumps(obj)
        token = DjangoSigner("essaim.test").sign_json(payload)
        assert token.decode("ascii") == django_signing.Signer(salt="essaim.test").sign_object(obj)
        assert django_signing.Signer(salt="essaim.test").unsign_object(token.decode()) == obj
    other = DjangoSigner("essaim.test", "another-secret").sign_json(b"{}")
    with pytest.raises(django_signing.BadSignature):
        django_signing.Signer(salt="essaim.test").unsign_object(other.decode())


def test_verify_compares_codes_of_the_same_type():
    assert verify("jsizgs4c", "jsizgs4c") is True
    assert verify("jsizgs4c", "jsizgs4d") is False
    assert verify("jsizgs4c", "jsizgs4") is False
    assert verify(b"\x00\x01", b"\x00\x01") is True
    assert verify(b"\x00\x01", b"\x00\x02") is False


@pytest.mark.parametrize("data", [b"", b"\xfb\xff", bytes(range(256)), b"a" * 26])
def test_urlsafe_base64_round_trips_without_padding(data):
    encoded = urlsafe_b64(data)
    assert encoded == base64.urlsafe_b64encode(data).rstrip(b"=")
    assert b"=" not in encoded and b"+" not in encoded and b"/" not in encoded
    assert from_urlsafe_b64(encoded) == data


@pytest.mark.parametrize("bad", [b"a", b"ab!c", b"a b", b"ab\nc", b"\xff\xfe", b"abcde"])
def test_what_is_not_base64_is_refused(bad):
    with pytest.raises(binascii.Error):
        from_urlsafe_b64(bad)
