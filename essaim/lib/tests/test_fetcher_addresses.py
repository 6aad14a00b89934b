"""The guarded fetcher's checks that need no network: which addresses, spellings, schemes,
ports and URLs it refuses, and the bounded decoders that stop compression bombs."""

from __future__ import annotations

import gzip
import zlib
from ipaddress import IPv4Address, ip_address

import brotli
import pytest

from essaim.lib.fetcher import FetchError, FetchPolicy, check_url, refusal_reason
from essaim.lib.fetcher.addresses import parse_ipv4_spelling
from essaim.lib.fetcher.decoding import Brotli, DecodeError, Zlib, decoder_for


@pytest.fixture(autouse=True)
def no_allow_list(settings):
    settings.FETCH_ALLOW_ADDRESSES = []
    settings.FETCH_ALLOWED_PORTS = []


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0X7F000001", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0177.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("127.0.1", "127.0.0.1"),
        ("127.0.0.1.", "127.0.0.1"),
        ("0", "0.0.0.0"),  # noqa: S104 - an address read, nothing bound
        ("0x", "0.0.0.0"),  # noqa: S104
        ("0xa9.0xfe.0xa9.0xfe", "169.254.169.254"),
        ("2852039166", "169.254.169.254"),
        ("10.0.0.1", "10.0.0.1"),
        ("0x5db8d822", "93.184.216.34"),
    ],
)
def test_every_spelling_of_an_ipv4_address_is_read_as_inet_aton_reads_it(host, address):
    assert parse_ipv4_spelling(host) == IPv4Address(address)


@pytest.mark.parametrize("host", ["example.com", "1.example", "0x7f.example", "localhost", "a1"])
def test_host_names_are_not_addresses(host):
    assert parse_ipv4_spelling(host) is None


@pytest.mark.parametrize(
    "host",
    [
        "1.2.3.4.5",
        "256.1.1.1",
        "1.2.3.256",
        "1.2.65536",
        "1.16777216",
        "4294967296",
        "08.1.1.1",
        "0x1ff.1",
    ],
)
def test_numeric_hosts_that_are_no_address_are_errors(host):
    with pytest.raises(ValueError):
        parse_ipv4_spelling(host)


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("0.0.0.0", "unspecified"),  # noqa: S104 - an address judged, nothing bound
        ("0.1.2.3", "unspecified"),
        ("10.0.0.1", "private"),
        ("10.255.255.255", "private"),
        ("100.64.0.1", "shared"),
        ("100.127.255.254", "shared"),
        ("127.0.0.1", "loopback"),
        ("127.255.0.2", "loopback"),
        ("169.254.169.254", "link_local"),
        ("172.16.0.1", "private"),
        ("172.31.255.1", "private"),
        ("192.0.0.8", "reserved"),
        ("192.0.2.10", "documentation"),
        ("192.168.1.1", "private"),
        ("198.18.0.1", "reserved"),
        ("198.51.100.7", "documentation"),
        ("203.0.113.9", "documentation"),
        ("224.0.0.251", "multicast"),
        ("239.255.255.250", "multicast"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "broadcast"),
        ("::", "unspecified"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "ipv4_embedded"),
        ("::ffff:8.8.8.8", "ipv4_embedded"),
        ("::127.0.0.1", "ipv4_embedded"),
        ("::ffff:0:7f00:1", "ipv4_embedded"),
        ("64:ff9b::7f00:1", "ipv4_embedded"),
        ("64:ff9b:1::a00:1", "ipv4_embedded"),
        ("2002:7f00:1::", "ipv4_embedded"),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "ipv4_embedded"),
        ("2001:db8::1", "documentation"),
        ("3fff::1", "documentation"),
        ("100::1", "reserved"),
        ("fc00::1", "unique_local"),
        ("fd12:3456::1", "unique_local"),
        ("fe80::1", "link_local"),
        ("fe80::1%eth0", "link_local"),
        ("fec0::1", "site_local"),
        ("ff02::1", "multicast"),
        ("4000::1", "reserved"),
    ],
)
def test_internal_and_reserved_addresses_are_refused_with_their_reason(address, reason):
    assert refusal_reason(ip_address(address)) == reason


@pytest.mark.parametrize(
    "address", ["93.184.215.14", "8.8.8.8", "1.1.1.1", "2a00:1450:4007:80b::200e", "2606:4700::1"]
)
def test_public_addresses_are_allowed(address):
    assert refusal_reason(ip_address(address)) is None


def test_the_allow_list_opens_only_what_it_names(settings):
    settings.FETCH_ALLOW_ADDRESSES = ["127.0.0.1", "127.0.1.0/24"]
    assert refusal_reason(ip_address("127.0.0.1")) is None
    assert refusal_reason(ip_address("127.0.1.77")) is None
    assert refusal_reason(ip_address("127.0.0.2")) == "loopback"
    # The same address inside IPv6 is another address, and stays refused.
    assert refusal_reason(ip_address("::ffff:127.0.0.1")) == "ipv4_embedded"


POLICY = FetchPolicy()


def refused(url: str, policy: FetchPolicy = POLICY) -> FetchError:
    with pytest.raises(FetchError) as caught:
        check_url(url, policy)
    return caught.value


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://127.0.0.2/latest",
        "https://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:7f00:1]/",
        "http://169.254.169.254/latest/meta-data/",
        "http://0xa9fea9fe/latest/meta-data/",
        "http://10.0.0.1/",
        "http://10.1/",
        "http://192.168.0.1/",
        "http://172.16.5.4/",
        "http://100.64.0.1/",
        "http://2130706433/",
        "http://0x7f000001/",
        "http://0177.0.0.1/",
        "http://0x7f.1/",
        "http://127.1/",
        "http://0/",
        "http://0.0.0.0/",
        "http://[::]/",
        "http://[fd00::1]/",
        "http://[fe80::1%25eth0]/",
        "http://[fec0::1]/",
        "http://[64:ff9b::7f00:1]/",
        "http://[2002:7f00:1::]/",
        "http://224.0.0.1/",
        "http://255.255.255.255/",
        "http://192.0.2.1/",
    ],
)
def test_every_internal_literal_address_is_refused_before_any_connection(url):
    error = refused(url)
    assert error.code == "forbidden_address"
    assert error.url == url
    assert "est interne ou réservée : Essaim ne s'y connecte pas." in error.message


def test_the_refusal_names_the_address_and_why():
    assert refused("http://0177.0.0.1/").message == (
        "L'adresse 127.0.0.1 (boucle locale) est interne ou réservée : Essaim ne s'y connecte pas."
    )
    assert refused("http://169.254.169.254/").message == (
        "L'adresse 169.254.169.254 (lien local) est interne ou réservée : "
        "Essaim ne s'y connecte pas."
    )


@pytest.mark.parametrize(
    ("url", "scheme"),
    [
        ("ftp://example.com/feed.xml", "ftp"),
        ("file:///etc/passwd", "file"),
        ("gopher://example.com/", "gopher"),
        ("javascript:alert(1)", "javascript"),
        ("data:text/html,<b>x</b>", "data"),
        ("HTTPX://example.com/", "httpx"),
    ],
)
def test_schemes_other_than_http_and_https_are_refused(url, scheme):
    error = refused(url)
    assert (error.code, error.message) == (
        "bad_scheme",
        f"Seules les adresses http et https sont acceptées (reçu : « {scheme} »).",
    )


@pytest.mark.parametrize(
    "url",
    [
        "http://user@example.com/",
        "http://user:secret@example.com/",
        "https://:secret@example.com/",
        "http://example.com@127.0.0.1/",
    ],
)
def test_urls_with_credentials_are_refused(url):
    error = refused(url)
    assert (error.code, error.message) == (
        "bad_url",
        "Les adresses qui contiennent un identifiant (utilisateur@hôte) sont refusées.",
    )


@pytest.mark.parametrize(
    "url", ["", "   ", "not a url", "/relative/path", "//example.com/", "http:///path", "http://"]
)
def test_what_is_not_an_absolute_url_is_refused(url):
    error = refused(url)
    assert (error.code, error.message) == ("bad_url", "Cette adresse n'est pas une URL valide.")


@pytest.mark.parametrize(
    "url", ["http://1.2.3.4.5/", "http://999.1.1.1/", "http://08.0.0.1/", "http://[::1::2]/"]
)
def test_hosts_that_look_like_addresses_but_are_none_are_refused(url):
    assert refused(url).code == "bad_url"


@pytest.mark.parametrize(
    "url", ["http://%31%32%37.0.0.1/", "http://exa%6dple.com/", "http://a..b/", "http://a b/"]
)
def test_host_names_with_escapes_or_odd_characters_are_refused(url):
    assert refused(url).code == "bad_url"


def test_internationalized_names_are_requested_in_their_ascii_form():
    assert str(check_url("https://bücher.example/", POLICY)) == "https://xn--bcher-kva.example/"


def test_only_default_ports_unless_the_policy_allows_more():
    error = refused("http://example.com:8080/feed")
    assert (error.code, error.message) == (
        "forbidden_port",
        "Le port 8080 n'est pas autorisé : seuls les ports 80 (http) et 443 (https) le sont, "
        "sauf autorisation du QG.",
    )
    assert refused("http://example.com:443/").code == "forbidden_port"
    assert refused("https://example.com:80/").code == "forbidden_port"
    assert str(check_url("http://example.com:80/a", POLICY)) == "http://example.com/a"
    allowed = FetchPolicy(allowed_ports=frozenset({8080}))
    assert str(check_url("http://example.com:8080/feed", allowed)) == "http://example.com:8080/feed"


def test_the_allowed_ports_of_the_settings_are_the_default_policys(settings):
    settings.FETCH_ALLOWED_PORTS = [8443]
    assert FetchPolicy.from_settings().allowed_ports == frozenset({8443})
    assert str(check_url("https://example.com:8443/", FetchPolicy.from_settings())) == (
        "https://example.com:8443/"
    )


def test_a_public_address_in_another_spelling_is_rewritten_to_the_address_checked():
    assert str(check_url("http://0x5db8d822/feed?x=1", POLICY)) == "http://93.184.216.34/feed?x=1"
    assert str(check_url("http://1572395042/", POLICY)) == "http://93.184.216.34/"


def test_host_names_pass_to_the_resolver_unchanged():
    # A name is checked when it is resolved (test_fetcher.py), never trusted from its looks.
    assert str(check_url("https://Exemple.FR/flux", POLICY)) == "https://exemple.fr/flux"
    assert check_url("http://localhost/", POLICY).host == "localhost"


def test_the_allow_list_lets_a_test_server_through_and_nothing_beside(settings):
    settings.FETCH_ALLOW_ADDRESSES = ["127.0.0.1"]
    assert str(check_url("http://127.0.0.1/", POLICY)) == "http://127.0.0.1/"
    assert str(check_url("http://2130706433/", POLICY)) == "http://127.0.0.1/"
    assert refused("http://127.0.0.2/").code == "forbidden_address"
    assert refused("http://[::ffff:127.0.0.1]/").code == "forbidden_address"
    assert refused("http://[::1]/").code == "forbidden_address"


# --- Decoding under the cap --------------------------------------------------------------------

MIB = 1024 * 1024
ZEROS = b"\0" * (32 * MIB)


@pytest.fixture(scope="module")
def bombs() -> dict[str, bytes]:
    deflater = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    return {
        "gzip": gzip.compress(ZEROS, compresslevel=9),
        "deflate": zlib.compress(ZEROS, 9),
        "raw-deflate": deflater.compress(ZEROS) + deflater.flush(),
        "br": brotli.compress(ZEROS, quality=5),
    }


@pytest.mark.parametrize("kind", ["gzip", "deflate", "raw-deflate", "br"])
def test_a_bomb_fed_whole_yields_no_more_than_the_room_left_plus_one_byte(bombs, kind):
    bomb = bombs[kind]
    assert len(bomb) < 64 * 1024 < len(ZEROS)
    decoder = Brotli() if kind == "br" else Zlib(gzip=kind == "gzip")
    out = decoder.feed(bomb, MIB)
    assert len(out) == MIB + 1


@pytest.mark.parametrize(
    ("coding", "kind"), [("gzip", "gzip"), ("deflate", "deflate"), ("br", "br")]
)
def test_a_body_under_the_cap_decodes_whole_in_small_chunks(coding, kind):
    text = ("Un communiqué de presse, " * 2000).encode()
    packed = {
        "gzip": gzip.compress(text),
        "deflate": zlib.compress(text),
        "br": brotli.compress(text),
    }[kind]
    decoder = decoder_for(coding)
    out = b"".join(decoder.feed(packed[i : i + 7], MIB) for i in range(0, len(packed), 7))
    decoder.finish()
    assert out == text


def test_several_gzip_members_follow_each_other():
    decoder = decoder_for("x-gzip")
    assert decoder.feed(gzip.compress(b"un ") + gzip.compress(b"deux"), MIB) == b"un deux"
    decoder.finish()


@pytest.mark.parametrize("coding", ["zstd", "compress", "gzip, br", "exotic"])
def test_unknown_or_chained_codings_are_refused(coding):
    with pytest.raises(DecodeError):
        decoder_for(coding)


def test_identity_is_no_coding():
    assert decoder_for("identity").feed(b"abc", 1) == b"abc"


def test_a_truncated_or_corrupt_stream_is_an_error():
    packed = gzip.compress(b"x" * 1000)
    truncated = decoder_for("gzip")
    truncated.feed(packed[:20], MIB)
    with pytest.raises(DecodeError):
        truncated.finish()
    with pytest.raises(DecodeError):
        decoder_for("gzip").feed(b"not gzip at all", MIB)
    with pytest.raises(DecodeError):
        decoder_for("br").feed(b"\xff\xff\xff\xff not brotli", MIB)
