"""The guarded fetcher against real local HTTP servers (aiohttp, in a thread, on 127.x.y.z):
what it refuses, what it cuts, and what it reports.

Every test runs under a tripwire: a connection attempt to anything but loopback fails the test
before a packet leaves, and the attempts are listed so a test can assert that a refusal came
before any connection.
"""

from __future__ import annotations

import asyncio
import gzip
import socket
import socketserver
import ssl
import threading
import time
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from ipaddress import ip_address
from typing import Any
from urllib.parse import urlencode

import brotli
import pytest
import trustme
from aiohttp import web
from yarl import URL

from essaim.lib.fetcher import (
    FetchError,
    FetchPolicy,
    FetchResult,
    GuardedClient,
    Redirect,
    default_user_agent,
    fetch,
    fetch_sync,
)
from essaim.lib.testing import LocalHttpServer, StaticResolver, free_port, run_async, serve_http

MIB = 1024 * 1024
GIB = 1024 * MIB
BOMBS = web.AppKey("bombs", dict[str, bytes])


class Sent:
    """Bytes a streaming handler managed to write before the client hung up."""

    count = 0


SENT = web.AppKey("sent", Sent)
TEXT = "Le candidat a tenu meeting à Lille devant trois mille personnes. " * 50


# --- The server -------------------------------------------------------------------------------


def _bombs() -> dict[str, bytes]:
    zeros = b"\0" * (32 * MIB)
    return {
        "gzip": gzip.compress(zeros, compresslevel=9),
        "deflate": zlib.compress(zeros, 9),
        "br": brotli.compress(zeros, quality=5),
    }


async def hello(request: web.Request) -> web.Response:
    return web.Response(text="Bonjour", headers={"X-Essai": "un"}, charset="utf-8")


async def packed(request: web.Request) -> web.Response:
    coding = request.match_info["coding"]
    body = TEXT.encode()
    packed_body = {"gzip": gzip.compress, "deflate": zlib.compress, "br": brotli.compress}[coding](
        body
    )
    return web.Response(
        body=packed_body,
        headers={"Content-Encoding": coding, "Content-Type": "text/html; charset=UTF-8"},
    )


async def bomb(request: web.Request) -> web.Response:
    coding = request.match_info["coding"]
    return web.Response(body=request.app[BOMBS][coding], headers={"Content-Encoding": coding})


async def stream(request: web.Request, declared: int | None) -> web.StreamResponse:
    response = web.StreamResponse()
    if declared is not None:
        response.content_length = declared
    await response.prepare(request)
    chunk = b"a" * 65536
    try:
        for _ in range(GIB // len(chunk)):
            await response.write(chunk)
            request.app[SENT].count += len(chunk)
    except (ConnectionError, RuntimeError):
        pass  # the client hung up, as it should
    return response


async def huge(request: web.Request) -> web.StreamResponse:
    return await stream(request, None)


async def huge_declared(request: web.Request) -> web.StreamResponse:
    return await stream(request, GIB)


async def trickle(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse()
    response.content_length = 30
    await response.prepare(request)
    try:
        for _ in range(30):
            await response.write(b"x")
            await asyncio.sleep(1)
    except (ConnectionError, RuntimeError):
        pass
    return response


async def stall(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse()
    response.content_length = 10
    await response.prepare(request)
    await asyncio.sleep(30)
    return response


async def chain(request: web.Request) -> web.Response:
    left = int(request.match_info["n"])
    if left:
        return web.Response(status=302, headers={"Location": f"/chain/{left - 1}"})
    return web.Response(text="arrivé")


async def endless(request: web.Request) -> web.Response:
    n = int(request.match_info["n"])
    return web.Response(status=301, headers={"Location": f"/endless/{n + 1}"})


async def redirect_to(request: web.Request) -> web.Response:
    return web.Response(status=302, headers={"Location": request.query["url"]})


async def echo(request: web.Request) -> web.Response:
    body = await request.read()
    return web.Response(
        status=202, body=body, headers={"X-Type": request.headers.get("Content-Type", "")}
    )


async def moved(request: web.Request) -> web.Response:
    return web.Response(status=307, headers={"Location": "/echo"})


async def limited(request: web.Request) -> web.Response:
    return web.Response(status=429, text="Trop de requêtes", headers={"Retry-After": "120"})


async def unavailable(request: web.Request) -> web.Response:
    when = format_datetime(datetime.now(UTC) + timedelta(hours=1), usegmt=True)
    return web.Response(status=503, text="Maintenance", headers={"Retry-After": when})


async def limited_by(request: web.Request) -> web.Response:
    """A 429 whose Retry-After is the query's `value`, sent as is (UTF-8 on the wire)."""
    return web.Response(status=429, headers={"Retry-After": request.query["value"]})


FEED_ETAG = '"v1"'
FEED_DATE = "Wed, 01 Jan 2025 08:00:00 GMT"


async def feed(request: web.Request) -> web.Response:
    validators = {"ETag": FEED_ETAG, "Last-Modified": FEED_DATE}
    if request.headers.get("If-None-Match") == FEED_ETAG or (
        request.headers.get("If-Modified-Since") == FEED_DATE
    ):
        return web.Response(status=304, headers=validators)
    return web.Response(text="<rss/>", content_type="application/rss+xml", headers=validators)


async def cookie(request: web.Request) -> web.Response:
    response = web.Response(text="un biscuit")
    response.set_cookie("suivi", "abc")
    return response


async def bad_gzip(request: web.Request) -> web.Response:
    return web.Response(body=b"this is no gzip", headers={"Content-Encoding": "gzip"})


async def zstd(request: web.Request) -> web.Response:
    return web.Response(body=b"(\xb5/\xfd", headers={"Content-Encoding": "zstd"})


async def missing(request: web.Request) -> web.Response:
    return web.Response(status=404, text="Introuvable")


def site(bombs: dict[str, bytes] | None = None) -> web.Application:
    app = web.Application()
    app[SENT] = Sent()
    app[BOMBS] = bombs or {}
    app.router.add_get("/", hello)
    app.router.add_get("/packed/{coding}", packed)
    app.router.add_get("/bomb/{coding}", bomb)
    app.router.add_get("/huge", huge)
    app.router.add_get("/huge-declared", huge_declared)
    app.router.add_get("/trickle", trickle)
    app.router.add_get("/stall", stall)
    app.router.add_get("/chain/{n}", chain)
    app.router.add_get("/endless/{n}", endless)
    app.router.add_get("/to", redirect_to)
    app.router.add_get("/limited", limited)
    app.router.add_get("/limited-by", limited_by)
    app.router.add_get("/unavailable", unavailable)
    app.router.add_get("/feed", feed)
    app.router.add_get("/cookie", cookie)
    app.router.add_get("/bad-gzip", bad_gzip)
    app.router.add_get("/zstd", zstd)
    app.router.add_get("/missing", missing)
    app.router.add_post("/echo", echo)
    app.router.add_post("/moved", moved)
    return app


@pytest.fixture(scope="module")
def shared_server() -> Iterator[LocalHttpServer]:
    with serve_http(site(_bombs()), "127.0.0.1") as server:
        yield server


@pytest.fixture
def server(shared_server: LocalHttpServer, settings: Any) -> LocalHttpServer:
    """The site on 127.0.0.1, with FETCH_ALLOW_ADDRESSES opening 127.0.0.1 alone."""
    shared_server.requests.clear()
    settings.FETCH_ALLOW_ADDRESSES = ["127.0.0.1"]
    return shared_server


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch, settings: Any) -> list[Any]:
    """The tripwire; also starts every test with the production allow-list (empty)."""
    settings.FETCH_ALLOW_ADDRESSES = []
    settings.FETCH_ALLOWED_PORTS = []
    attempts: list[Any] = []
    loop_class = asyncio.selector_events.BaseSelectorEventLoop
    original = loop_class.sock_connect

    async def sock_connect(self: Any, sock: socket.socket, address: Any) -> Any:
        attempts.append(address)
        host = ip_address(str(address[0]).split("%")[0])
        if not (host.is_loopback or host.is_unspecified):
            raise AssertionError(f"a test tried to connect to {address}")
        return await original(self, sock, address)

    monkeypatch.setattr(loop_class, "sock_connect", sock_connect)
    return attempts


def policy_for(*servers: LocalHttpServer, **limits: Any) -> FetchPolicy:
    values: dict[str, Any] = {
        "connect_timeout": 2.0,
        "read_timeout": 2.0,
        "total_timeout": 5.0,
        "allowed_ports": frozenset(s.port for s in servers),
    }
    return FetchPolicy(**(values | limits))


def refused(url: str, policy: FetchPolicy, **kwargs: Any) -> FetchError:
    with pytest.raises(FetchError) as caught:
        fetch_sync(url, policy=policy, **kwargs)
    return caught.value


def with_client(url: str, policy: FetchPolicy, **client_options: Any) -> FetchResult:
    async def run() -> FetchResult:
        async with GuardedClient(policy, **client_options) as client:
            return await client.fetch(url)

    return run_async(run())


def refused_with_client(url: str, policy: FetchPolicy, **client_options: Any) -> FetchError:
    with pytest.raises(FetchError) as caught:
        with_client(url, policy, **client_options)
    return caught.value


# --- What a fetch brings back -------------------------------------------------------------------


def test_a_page_is_fetched_with_its_status_headers_and_body(server, settings):
    settings.FETCH_CONTACT_URL = "https://essaim.example.org/robot"
    result = fetch_sync(server.url("/"), policy=policy_for(server))
    assert (result.url, result.final_url, result.status) == (server.url("/"), server.url("/"), 200)
    assert result.body == b"Bonjour"
    assert result.headers["x-essai"] == "un"
    assert result.content_type == "text/plain"
    assert result.charset == "utf-8"
    assert result.redirects == ()
    assert result.not_modified is False
    assert 0 < result.elapsed < 5
    [seen] = server.requests
    assert seen.headers["user-agent"] == default_user_agent()
    assert seen.headers["user-agent"].startswith("Essaim/")
    assert seen.headers["user-agent"].endswith(" (+https://essaim.example.org/robot)")
    assert seen.headers["host"] == f"127.0.0.1:{server.port}"
    assert seen.headers["accept-encoding"] == "gzip, deflate, br"


def test_the_caller_adds_headers_but_cannot_change_host_agent_or_coding(server):
    fetch_sync(
        server.url("/"),
        policy=policy_for(server),
        headers={
            "Accept": "application/rss+xml",
            "Host": "ailleurs.example",
            "User-Agent": "Autre",
            "Accept-Encoding": "zstd",
        },
    )
    [seen] = server.requests
    assert seen.headers["accept"] == "application/rss+xml"
    assert seen.headers["host"] == f"127.0.0.1:{server.port}"
    assert seen.headers["user-agent"] == default_user_agent()
    assert seen.headers["accept-encoding"] == "gzip, deflate, br"


@pytest.mark.parametrize("coding", ["gzip", "deflate", "br"])
def test_compressed_pages_are_decompressed(server, coding):
    result = fetch_sync(server.url(f"/packed/{coding}"), policy=policy_for(server))
    assert result.body == TEXT.encode()
    assert result.headers["content-encoding"] == coding


def test_an_http_error_status_is_a_result_not_an_exception(server):
    result = fetch_sync(server.url("/missing"), policy=policy_for(server))
    assert (result.status, result.ok, result.body) == (404, False, b"Introuvable")


def test_429_comes_back_with_retry_after(server):
    result = fetch_sync(server.url("/limited"), policy=policy_for(server))
    assert (result.status, result.headers["retry-after"], result.retry_after) == (429, "120", 120.0)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("0", 0.0),
        ("7", 7.0),
        ("²", None),
        ("③", None),
        ("١٢٣", None),
        ("-1", None),
        ("+5", None),
        ("1_000", None),
        ("9" * 30, None),
        ("", None),
    ],
)
def test_a_retry_after_in_anything_but_ascii_digits_is_unreadable(server, value, seconds):
    result = fetch_sync(
        server.url("/limited-by?" + urlencode({"value": value})), policy=policy_for(server)
    )
    assert (result.status, result.headers.get("retry-after", ""), result.retry_after) == (
        429,
        value,
        seconds,
    )


def test_503_with_a_retry_date_gives_the_seconds_to_wait(server):
    result = fetch_sync(server.url("/unavailable"), policy=policy_for(server))
    assert result.status == 503
    assert result.retry_after is not None and 3500 < result.retry_after <= 3600


def test_a_conditional_get_reports_not_modified(server):
    policy = policy_for(server)
    first = fetch_sync(server.url("/feed"), policy=policy)
    assert (first.status, first.not_modified, first.body) == (200, False, b"<rss/>")
    assert (first.headers["etag"], first.headers["last-modified"]) == (FEED_ETAG, FEED_DATE)
    by_etag = fetch_sync(
        server.url("/feed"), policy=policy, headers={"If-None-Match": first.headers["etag"]}
    )
    assert (by_etag.status, by_etag.not_modified, by_etag.body) == (304, True, b"")
    by_date = fetch_sync(
        server.url("/feed"),
        policy=policy,
        headers={"If-Modified-Since": first.headers["last-modified"]},
    )
    assert (by_date.status, by_date.not_modified) == (304, True)
    assert server.requests[1].headers["if-none-match"] == FEED_ETAG


def test_a_shared_client_reuses_its_connection_and_keeps_no_cookie(server, loopback_only):
    async def run() -> list[FetchResult]:
        async with GuardedClient(policy_for(server)) as client:
            return [await fetch(server.url(p), client=client) for p in ("/cookie", "/", "/feed")]

    results = run_async(run())
    assert [r.status for r in results] == [200, 200, 200]
    assert "set-cookie" in results[0].headers
    assert all("cookie" not in seen.headers for seen in server.requests)
    assert len(loopback_only) == 1  # one connection for the three requests


def test_fetch_sync_works_from_code_that_runs_an_event_loop(server):
    async def view() -> FetchResult:
        return fetch_sync(server.url("/"), policy=policy_for(server))

    assert run_async(view()).body == b"Bonjour"


def test_no_proxy_and_no_netrc_are_taken_from_the_environment(server, monkeypatch, tmp_path):
    with serve_http(site(), "127.0.0.1") as proxy:
        netrc = tmp_path / "netrc"
        netrc.write_text("machine 127.0.0.1 login moi password secret\n")
        netrc.chmod(0o600)
        for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "ALL_PROXY"):
            monkeypatch.setenv(name, proxy.url("/"))
        monkeypatch.setenv("NO_PROXY", "")
        monkeypatch.setenv("NETRC", str(netrc))
        result = fetch_sync(server.url("/"), policy=policy_for(server, proxy))
    assert result.body == b"Bonjour"
    assert proxy.requests == []
    assert "authorization" not in server.requests[0].headers


# --- Redirects ----------------------------------------------------------------------------------


def test_five_redirects_are_followed_and_reported(server):
    result = fetch_sync(server.url("/chain/5"), policy=policy_for(server))
    assert (result.status, result.body, result.final_url) == (
        200,
        "arrivé".encode(),
        server.url("/chain/0"),
    )
    assert result.redirects == tuple(
        Redirect(302, server.url(f"/chain/{n}"), server.url(f"/chain/{n - 1}"))
        for n in range(5, 0, -1)
    )


def test_an_endless_redirect_chain_stops_after_five_hops(server):
    error = refused(server.url("/endless/0"), policy_for(server))
    assert (error.code, error.message) == (
        "too_many_redirects",
        "Trop de redirections : plus de 5 redirections suivies.",
    )
    assert error.url == server.url("/endless/5")
    assert [seen.path for seen in server.requests] == [f"/endless/{n}" for n in range(6)]


def test_the_redirect_limit_is_the_policys(server):
    error = refused(server.url("/chain/2"), policy_for(server, max_redirects=1))
    assert (error.code, error.message) == (
        "too_many_redirects",
        "Trop de redirections : plus de 1 redirection suivie.",
    )


def redirect(server: LocalHttpServer, target: str) -> str:
    return server.url("/to?" + urlencode({"url": target}))


@pytest.mark.parametrize(
    "target",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:127.0.0.1]:{port}/",
        "http://[::1]:{port}/",
        "http://2130706434:{port}/",
        "http://0x7f.2:{port}/",
        "http://10.0.0.1/",
        "http://0.0.0.0:{port}/",
    ],
)
def test_a_redirect_to_an_internal_address_is_refused_before_connecting(
    server, loopback_only, target
):
    target = target.format(port=server.port)
    error = refused(redirect(server, target), policy_for(server))
    assert error.code == "forbidden_address"
    assert URL(error.url) == URL(target)
    assert [seen.path for seen in server.requests] == [server.requests[0].path]
    assert loopback_only == [("127.0.0.1", server.port)]  # the first hop's connection only


def test_a_redirect_to_a_loopback_address_off_the_allow_list_is_refused(server, loopback_only):
    with serve_http(site(), "127.0.0.2") as other:
        error = refused(redirect(server, other.url("/")), policy_for(server, other))
    assert (error.code, error.url) == ("forbidden_address", other.url("/"))
    assert error.message == (
        "L'adresse 127.0.0.2 (boucle locale) est interne ou réservée : Essaim ne s'y connecte pas."
    )
    assert other.requests == []
    assert loopback_only == [("127.0.0.1", server.port)]


@pytest.mark.parametrize(
    ("target", "code"),
    [
        ("ftp://127.0.0.1/feed.xml", "bad_scheme"),
        ("file:///etc/passwd", "bad_scheme"),
        ("javascript:alert(1)", "bad_scheme"),
        ("http://moi:secret@127.0.0.1:{port}/", "bad_url"),
        ("http://127.0.0.1:{free}/", "forbidden_port"),
        ("http://[::1::2]/", "bad_url"),
    ],
)
def test_a_redirect_passes_the_same_checks_as_the_first_url(server, target, code):
    target = target.format(port=server.port, free=free_port())
    assert refused(redirect(server, target), policy_for(server)).code == code
    assert len(server.requests) == 1


def test_a_relative_redirect_is_resolved_against_the_current_url(server):
    result = fetch_sync(redirect(server, "/chain/0?x=1#fragment"), policy=policy_for(server))
    assert result.final_url == server.url("/chain/0?x=1")


def test_credentials_are_not_carried_to_another_origin(server):
    with serve_http(site(), "127.0.0.1") as other:
        fetch_sync(
            redirect(server, other.url("/")),
            policy=policy_for(server, other),
            headers={"Authorization": "Bearer jeton", "Accept": "text/html"},
        )
    assert server.requests[0].headers["authorization"] == "Bearer jeton"
    assert "authorization" not in other.requests[0].headers
    assert other.requests[0].headers["accept"] == "text/html"


# --- Refused targets, with the allow-list empty -------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/",
        "http://[::1]:{port}/",
        "http://[::ffff:127.0.0.1]:{port}/",
        "http://169.254.169.254:{port}/latest/meta-data/",
        "http://10.0.0.1:{port}/",
        "http://2130706433:{port}/",
        "http://0x7f000001:{port}/",
        "http://0177.0.0.1:{port}/",
        "http://0x7f.1:{port}/",
        "http://127.1:{port}/",
        "http://0.0.0.0:{port}/",
        "http://0:{port}/",
        "http://localhost:{port}/",
        "http://LocalHost:{port}/",
    ],
)
def test_with_an_empty_allow_list_every_internal_target_is_refused(
    shared_server, loopback_only, url
):
    shared_server.requests.clear()
    url = url.format(port=shared_server.port)
    error = refused(url, policy_for(shared_server))
    assert error.code == "forbidden_address"
    assert shared_server.requests == []
    assert loopback_only == []


def test_a_name_that_resolves_to_loopback_is_refused(shared_server, loopback_only):
    shared_server.requests.clear()
    resolver = StaticResolver({"rebind.example": ["127.0.0.1"]})
    error = refused_with_client(
        f"http://rebind.example:{shared_server.port}/", policy_for(shared_server), resolver=resolver
    )
    assert (error.code, error.url) == (
        "forbidden_address",
        f"http://rebind.example:{shared_server.port}/",
    )
    assert error.message == (
        "L'adresse 127.0.0.1 (boucle locale) est interne ou réservée : Essaim ne s'y connecte pas."
    )
    assert resolver.asked == ["rebind.example"]
    assert (shared_server.requests, loopback_only) == ([], [])


def test_a_name_with_one_internal_address_among_others_is_refused_whole(server, loopback_only):
    resolver = StaticResolver({"mixte.example": ["127.0.0.1", "10.1.2.3"]})
    error = refused_with_client(
        f"http://mixte.example:{server.port}/", policy_for(server), resolver=resolver
    )
    assert error.code == "forbidden_address"
    assert "10.1.2.3 (réseau privé)" in error.message
    assert (server.requests, loopback_only) == ([], [])


def test_a_name_is_connected_to_at_the_address_checked_and_keeps_its_host_header(
    server, loopback_only
):
    resolver = StaticResolver({"flux.example": ["127.0.0.1"]})
    result = with_client(
        f"http://flux.example:{server.port}/", policy_for(server), resolver=resolver
    )
    assert result.status == 200
    assert server.requests[0].headers["host"] == f"flux.example:{server.port}"
    assert loopback_only == [("127.0.0.1", server.port)]


def test_an_unknown_name_is_a_dns_error(server):
    error = refused_with_client(
        "http://nulle-part.example/", policy_for(server), resolver=StaticResolver({})
    )
    assert (error.code, error.message) == (
        "dns_error",
        "Le nom « nulle-part.example » est introuvable (DNS).",
    )


# --- Caps and deadlines -------------------------------------------------------------------------


@pytest.mark.parametrize("coding", ["gzip", "deflate", "br"])
def test_a_compression_bomb_stops_at_the_cap(server, coding):
    started = time.monotonic()
    error = refused(server.url(f"/bomb/{coding}"), policy_for(server, max_bytes=MIB))
    assert (error.code, error.message) == (
        "too_large",
        "La réponse dépasse la taille maximale autorisée (1,0\xa0Mio).",
    )
    assert time.monotonic() - started < 4


def test_a_1_gb_page_is_cut_at_the_cap_without_being_read(server):
    started = time.monotonic()
    error = refused(server.url("/huge"), policy_for(server, max_bytes=MIB))
    assert error.code == "too_large"
    assert time.monotonic() - started < 4
    assert server.requests[0].path == "/huge"
    assert server.app[SENT].count < 64 * MIB


def test_a_declared_length_over_the_cap_is_refused_unread(server):
    error = refused(server.url("/huge-declared"), policy_for(server, max_bytes=MIB))
    assert (error.code, error.detail) == ("too_large", f"Content-Length {GIB}")


def test_a_server_sending_one_byte_a_second_is_cut_at_the_total_deadline(server):
    started = time.monotonic()
    error = refused(server.url("/trickle"), policy_for(server, read_timeout=5, total_timeout=2.5))
    elapsed = time.monotonic() - started
    assert (error.code, error.message) == (
        "timeout",
        "Délai total dépassé : la réponse n'était pas complète après 2,5 s.",
    )
    assert 2.4 < elapsed < 6  # cut at 2.5 s, far from the 30 s the page would take


def test_a_silent_server_is_cut_at_the_read_deadline(server):
    started = time.monotonic()
    error = refused(server.url("/stall"), policy_for(server, read_timeout=0.3))
    assert (error.code, error.message) == (
        "timeout",
        "Délai de lecture dépassé : 127.0.0.1 n'a rien envoyé pendant 0,3 s.",
    )
    assert time.monotonic() - started < 2


def test_a_tls_handshake_that_never_ends_is_cut_at_the_connect_deadline(settings):
    settings.FETCH_ALLOW_ADDRESSES = ["127.0.0.1"]
    with socket.socket() as mute:
        mute.bind(("127.0.0.1", 0))
        mute.listen(5)  # the kernel completes TCP; nobody ever answers the TLS hello
        port = mute.getsockname()[1]
        error = refused(
            f"https://127.0.0.1:{port}/",
            FetchPolicy(connect_timeout=0.3, allowed_ports=frozenset({port})),
        )
    assert (error.code, error.message) == (
        "timeout",
        "Délai de connexion dépassé : 127.0.0.1 n'a pas répondu en 0,3 s.",
    )


def test_a_closed_port_is_a_connect_error(settings):
    settings.FETCH_ALLOW_ADDRESSES = ["127.0.0.1"]
    port = free_port()
    error = refused(f"http://127.0.0.1:{port}/", FetchPolicy(allowed_ports=frozenset({port})))
    assert (error.code, error.message) == ("connect_error", "Connexion impossible à 127.0.0.1.")


def test_an_answer_that_is_not_http_is_an_http_error(settings):
    settings.FETCH_ALLOW_ADDRESSES = ["127.0.0.1"]

    class Garbage(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            self.request.recv(4096)
            self.request.sendall(b"SSH-2.0-OpenSSH_9.2\r\n\r\n")

    with socketserver.TCPServer(("127.0.0.1", 0), Garbage) as garbage:
        thread = threading.Thread(target=garbage.serve_forever, daemon=True)
        thread.start()
        port = garbage.server_address[1]
        error = refused(f"http://127.0.0.1:{port}/", FetchPolicy(allowed_ports=frozenset({port})))
        garbage.shutdown()
    assert (error.code, error.message) == (
        "http_error",
        "Réponse HTTP invalide ou interrompue de 127.0.0.1.",
    )


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/bad-gzip", "Le contenu compressé (gzip) est illisible."),
        ("/zstd", "Encodage de contenu « zstd » non pris en charge."),
    ],
)
def test_a_body_we_cannot_decode_is_a_clear_error(server, path, message):
    error = refused(server.url(path), policy_for(server))
    assert (error.code, error.message) == ("bad_encoding", message)


# --- TLS ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def tls_server_context(ca: trustme.CA, *names: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*names).configure_cert(context)
    return context


def trusting(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


def test_a_self_signed_certificate_is_a_tls_error(ca, settings):
    settings.FETCH_ALLOW_ADDRESSES = ["127.0.0.3"]
    context = tls_server_context(ca, "127.0.0.3")
    with serve_http(site(), "127.0.0.3", ssl_context=context) as secure:
        error = refused(secure.url("/"), policy_for(secure))
    assert (error.code, error.message) == (
        "tls_error",
        "La connexion sécurisée (TLS) avec 127.0.0.3 a échoué : certificat invalide ou "
        "négociation refusée.",
    )
    assert secure.requests == []


def test_https_to_a_name_checks_the_certificate_for_that_name_at_the_pinned_address(
    ca, settings, loopback_only
):
    settings.FETCH_ALLOW_ADDRESSES = ["127.0.0.3"]
    resolver = StaticResolver({"secure.example": ["127.0.0.3"], "other.example": ["127.0.0.3"]})
    context = tls_server_context(ca, "secure.example")
    with serve_http(site(), "127.0.0.3", ssl_context=context) as secure:
        policy = policy_for(secure)
        url = f"https://secure.example:{secure.port}/"
        result = with_client(url, policy, resolver=resolver, ssl_context=trusting(ca))
        # Same address and server, another name: the certificate does not match it.
        error = refused_with_client(
            f"https://other.example:{secure.port}/",
            policy,
            resolver=resolver,
            ssl_context=trusting(ca),
        )
    assert (result.status, result.body) == (200, b"Bonjour")
    assert secure.requests[0].headers["host"] == f"secure.example:{secure.port}"
    assert error.code == "tls_error"
    assert set(loopback_only) == {("127.0.0.3", secure.port)}


# --- POST (webhooks) -----------------------------------------------------------------------------


def test_a_post_sends_its_body_and_headers_and_brings_back_the_answer(server):
    result = fetch_sync(
        server.url("/echo"),
        policy=policy_for(server),
        data=b'{"a": 1}',
        headers={"Content-Type": "application/json", "X-Essaim-Signature": "sha256=ab"},
    )
    assert (result.status, result.body, result.headers["x-type"]) == (
        202,
        b'{"a": 1}',
        "application/json",
    )
    [seen] = server.requests
    assert (seen.method, seen.path, seen.headers["x-essaim-signature"]) == (
        "POST",
        "/echo",
        "sha256=ab",
    )


def test_a_post_is_never_redirected(server):
    result = fetch_sync(server.url("/moved"), policy=policy_for(server), data=b"x")
    assert (result.status, result.redirects) == (307, ())
    assert [(seen.method, seen.path) for seen in server.requests] == [("POST", "/moved")]


def test_a_post_to_a_loopback_address_off_the_allow_list_is_refused_before_connecting(
    server, loopback_only
):
    with serve_http(site(), "127.0.0.2") as other, pytest.raises(FetchError) as caught:
        fetch_sync(other.url("/echo"), policy=policy_for(other), data=b"x")
    assert caught.value.code == "forbidden_address"
    assert other.requests == []
