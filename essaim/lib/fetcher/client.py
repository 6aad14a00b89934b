"""The guarded HTTP client on aiohttp: every address checked, and connected to as checked.

Pinning: aiohttp's connector connects only to the addresses its resolver returns (the host name
stays the request's for SNI, certificate checks and Host). Our resolver returns the system's
answer only after checking every address in it, so no second lookup can slip another address
in between check and connect (DNS rebinding). The connector skips the resolver for a literal
address: `check_url` checks those first, and rewrites any spelling of an address to its
canonical form, so aiohttp never hands `0x7f.1` or `2130706433` to the system to interpret.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from ipaddress import ip_address
from types import TracebackType

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from django.template.defaultfilters import filesizeformat
from django.utils import translation
from django.utils.formats import number_format
from django.utils.translation import gettext, ngettext
from yarl import URL

from essaim.lib.fetcher.addresses import check_url, forbidden_address_error, refusal_reason
from essaim.lib.fetcher.decoding import DecodeError, accept_encoding, decoder_for
from essaim.lib.fetcher.errors import (
    BAD_ENCODING,
    BAD_URL,
    CONNECT_ERROR,
    DNS_ERROR,
    HTTP_ERROR,
    TIMEOUT,
    TLS_ERROR,
    TOO_LARGE,
    TOO_MANY_REDIRECTS,
    FetchError,
)
from essaim.lib.fetcher.policy import FetchPolicy
from essaim.lib.fetcher.result import FetchResult, Redirect

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# Headers a caller may not set: the fetcher owns the connection, the coding it can undo and
# who it says it is.
RESERVED_HEADERS = frozenset(
    {
        "host",
        "accept-encoding",
        "connection",
        "content-length",
        "transfer-encoding",
        "te",
        "upgrade",
        "proxy-authorization",
        "user-agent",
    }
)
# Dropped when a redirect leaves the origin (scheme, host, port) they were meant for.
CREDENTIAL_HEADERS = frozenset({"authorization", "cookie"})


class AddressRefused(OSError):
    """Raised by the resolver; aiohttp wraps OSErrors of resolvers in ClientConnectorDNSError,
    from which the FetchError is taken back."""

    def __init__(self, error: FetchError) -> None:
        super().__init__(error.message)
        self.error = error


class GuardedResolver(AbstractResolver):
    """The system's resolver (getaddrinfo in a thread), whose answer is returned only if every
    address in it may be reached: a name with one internal address among public ones is refused
    whole, as the answer of a name we must not trust."""

    def __init__(self, inner: AbstractResolver | None = None) -> None:
        self.inner = inner if inner is not None else aiohttp.ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self.inner.resolve(host, port, family)
        if not results:
            raise OSError(f"no address for {host}")
        for result in results:
            try:
                address = ip_address(result["host"])
            except ValueError as exc:
                raise OSError(f"resolver gave {result['host']!r} for {host}") from exc
            reason = refusal_reason(address)
            if reason is not None:
                raise AddressRefused(forbidden_address_error(address, reason))
        return results

    async def close(self) -> None:
        await self.inner.close()


def _seconds(value: float) -> str:
    return str(int(value)) if value == int(value) else number_format(round(value, 1), 1)


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and those behind it (aiohttp's `os_error`, causes, contexts)."""
    seen: list[BaseException] = []
    todo = [exc]
    while todo and len(seen) < 20:
        link = todo.pop()
        if any(link is known for known in seen):
            continue
        seen.append(link)
        for behind in (getattr(link, "os_error", None), link.__cause__, link.__context__):
            if isinstance(behind, BaseException):
                todo.append(behind)
    return seen


def _translate(exc: BaseException, url: URL, policy: FetchPolicy) -> FetchError:
    """The FetchError for what aiohttp (or the resolver, through it) raised."""
    text, host = str(url), url.host or ""
    chain = _chain(exc)
    for link in chain:
        if isinstance(link, AddressRefused):
            error = link.error
            return FetchError(error.code, error.message, url=text, detail=error.detail)
    detail = f"{type(exc).__name__}: {exc}"
    if any(isinstance(link, (aiohttp.ClientSSLError, ssl.SSLError)) for link in chain):
        return FetchError(
            TLS_ERROR,
            gettext(
                "La connexion sécurisée (TLS) avec %(host)s a échoué : certificat invalide "
                "ou négociation refusée."
            )
            % {"host": host},
            url=text,
            detail=detail,
        )
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return FetchError(
            TIMEOUT,
            gettext("Délai de connexion dépassé : %(host)s n'a pas répondu en %(seconds)s s.")
            % {"host": host, "seconds": _seconds(policy.connect_timeout)},
            url=text,
            detail=detail,
        )
    if isinstance(exc, TimeoutError):  # aiohttp's SocketTimeoutError (sock_read) among them
        return FetchError(
            TIMEOUT,
            gettext("Délai de lecture dépassé : %(host)s n'a rien envoyé pendant %(seconds)s s.")
            % {"host": host, "seconds": _seconds(policy.read_timeout)},
            url=text,
            detail=detail,
        )
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return FetchError(
            DNS_ERROR,
            gettext("Le nom « %(host)s » est introuvable (DNS).") % {"host": host},
            url=text,
            detail=detail,
        )
    if isinstance(exc, aiohttp.ClientConnectorError | ConnectionError):
        return FetchError(
            CONNECT_ERROR,
            gettext("Connexion impossible à %(host)s.") % {"host": host},
            url=text,
            detail=detail,
        )
    if isinstance(exc, aiohttp.InvalidURL):
        return FetchError(
            BAD_URL, gettext("Cette adresse n'est pas une URL valide."), url=text, detail=detail
        )
    return FetchError(
        HTTP_ERROR,
        gettext("Réponse HTTP invalide ou interrompue de %(host)s.") % {"host": host},
        url=text,
        detail=detail,
    )


def _too_large(url: URL, policy: FetchPolicy, detail: str) -> FetchError:
    return FetchError(
        TOO_LARGE,
        gettext("La réponse dépasse la taille maximale autorisée (%(size)s).")
        % {"size": filesizeformat(policy.max_bytes)},
        url=str(url),
        detail=detail,
    )


def _flat_headers(response: aiohttp.ClientResponse) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name in response.headers:
        key = name.lower()
        if key not in headers:
            headers[key] = ", ".join(response.headers.getall(name))
    return headers


def _same_origin(a: URL, b: URL) -> bool:
    return (a.scheme, a.host, a.port) == (b.scheme, b.host, b.port)


class GuardedClient:
    """A pool of connections for many guarded fetches (the watcher keeps one per process).

    Use `async with GuardedClient(policy) as client: await client.fetch(url)`. `limit` caps
    open connections (0: none; the caller bounds its concurrency, and a wait for a free
    connection would count against the connect deadline). `ssl_context` replaces the system's
    trust store (tests with their own CA, a private CA); `resolver` the system's resolver
    (tests), whose answers are checked all the same. No proxy, netrc or cookie is ever used.
    """

    def __init__(
        self,
        policy: FetchPolicy | None = None,
        *,
        limit: int = 0,
        limit_per_host: int = 0,
        ssl_context: ssl.SSLContext | None = None,
        resolver: AbstractResolver | None = None,
    ) -> None:
        self.policy = policy if policy is not None else FetchPolicy.from_settings()
        self._limit = limit
        self._limit_per_host = limit_per_host
        self._ssl: ssl.SSLContext | bool = ssl_context if ssl_context is not None else True
        self._resolver = resolver
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> GuardedClient:
        self._open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                resolver=GuardedResolver(self._resolver),
                ssl=self._ssl,
                limit=self._limit,
                limit_per_host=self._limit_per_host,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                # No proxy and no netrc from the environment: a proxy would connect in our
                # place to addresses we never checked.
                trust_env=False,
                # We undo Content-Encoding ourselves, under the byte cap (decoding.py).
                auto_decompress=False,
                cookie_jar=aiohttp.DummyCookieJar(),
                raise_for_status=False,
                timeout=aiohttp.ClientTimeout(total=None),
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def fetch(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        policy: FetchPolicy | None = None,
        data: bytes | None = None,
    ) -> FetchResult:
        """GET `url` (POST `data` when given) under `policy` (the client's by default); see
        `fetch`."""
        policy = policy if policy is not None else self.policy
        started = time.monotonic()
        current: list[URL] = []  # the hop being fetched, for the error of the total deadline
        try:
            async with asyncio.timeout(policy.total_timeout):
                return await self._fetch(str(url), policy, headers or {}, started, current, data)
        except TimeoutError as exc:
            # Every timeout of aiohttp is translated inside; this one is the total deadline.
            hop = current[-1] if current else URL(str(url))
            raise FetchError(
                TIMEOUT,
                gettext(
                    "Délai total dépassé : la réponse n'était pas complète après %(seconds)s s."
                )
                % {"seconds": _seconds(policy.total_timeout)},
                url=str(hop),
                detail="total deadline",
            ) from exc

    async def _fetch(
        self,
        url: str,
        policy: FetchPolicy,
        extra_headers: Mapping[str, str],
        started: float,
        current: list[URL],
        data: bytes | None = None,
    ) -> FetchResult:
        session = self._open()
        target = check_url(url, policy)
        request_headers = {
            name: value
            for name, value in extra_headers.items()
            if name.lower() not in RESERVED_HEADERS
        }
        request_headers["User-Agent"] = policy.agent
        request_headers["Accept-Encoding"] = accept_encoding()
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=policy.connect_timeout,
            sock_connect=policy.connect_timeout,
            sock_read=policy.read_timeout,
        )
        redirects: list[Redirect] = []
        while True:
            current.append(target)
            try:
                if data is None:
                    response = await session.get(
                        target, headers=request_headers, allow_redirects=False, timeout=timeout
                    )
                else:
                    response = await session.post(
                        target,
                        data=data,
                        headers=request_headers,
                        allow_redirects=False,
                        timeout=timeout,
                    )
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                raise _translate(exc, target, policy) from exc
            try:
                location = response.headers.get("Location")
                # A POST is never followed: resending a body elsewhere (or turning it into a GET,
                # as browsers do on 302) is the caller's decision; the 3xx comes back as is.
                if response.status in REDIRECT_STATUSES and location and data is None:
                    next_target = self._follow(target, location, redirects, policy)
                    redirects.append(Redirect(response.status, str(target), str(next_target)))
                    if not _same_origin(target, next_target):
                        request_headers = {
                            k: v
                            for k, v in request_headers.items()
                            if k.lower() not in CREDENTIAL_HEADERS
                        }
                    target = next_target
                    continue
                body = await self._read_body(response, target, policy)
                return FetchResult(
                    url=url,
                    final_url=str(target),
                    status=response.status,
                    headers=_flat_headers(response),
                    body=body,
                    redirects=tuple(redirects),
                    not_modified=response.status == 304,
                    elapsed=time.monotonic() - started,
                )
            finally:
                # A body left unread (a redirect's, one over the cap) closes the connection
                # rather than reading it to reuse the connection.
                if response.content.at_eof():
                    response.release()
                else:
                    response.close()

    @staticmethod
    def _follow(current: URL, location: str, redirects: list[Redirect], policy: FetchPolicy) -> URL:
        if len(redirects) >= policy.max_redirects:
            raise FetchError(
                TOO_MANY_REDIRECTS,
                ngettext(
                    "Trop de redirections : plus de %(count)d redirection suivie.",
                    "Trop de redirections : plus de %(count)d redirections suivies.",
                    policy.max_redirects,
                )
                % {"count": policy.max_redirects},
                url=str(current),
                detail=f"redirect number {len(redirects) + 1} to {location[:200]}",
            )
        try:
            joined = current.join(URL(location)).with_fragment(None)
            str(joined)  # yarl parses lazily: a bad port or host fails only when read
        except (ValueError, TypeError) as exc:
            raise FetchError(
                BAD_URL,
                gettext("La redirection mène à une adresse invalide."),
                url=str(current),
                detail=f"Location {location[:200]!r}: {exc}",
            ) from exc
        # The new hop passes every check the first one did (scheme, credentials, port, address);
        # a host name is checked when the connector resolves it.
        return check_url(joined, policy)

    @staticmethod
    async def _read_body(response: aiohttp.ClientResponse, url: URL, policy: FetchPolicy) -> bytes:
        cap = policy.max_bytes
        coding = response.headers.get("Content-Encoding", "")
        try:
            decoder = decoder_for(coding)
        except DecodeError as exc:
            raise FetchError(
                BAD_ENCODING,
                gettext("Encodage de contenu « %(coding)s » non pris en charge.")
                % {"coding": coding[:40]},
                url=str(url),
                detail=str(exc),
            ) from exc
        length = response.content_length
        if length is not None and length > cap:
            # Compressed or not, a body longer than the cap on the wire is refused unread.
            raise _too_large(url, policy, f"Content-Length {length}")
        body = bytearray()
        wire = 0
        try:
            async for chunk in response.content.iter_any():
                wire += len(chunk)
                body += decoder.feed(chunk, cap - len(body))
                if len(body) > cap or wire > cap:
                    raise _too_large(url, policy, f"over {cap} bytes (wire {wire})")
            if wire:
                decoder.finish()
        except DecodeError as exc:
            raise FetchError(
                BAD_ENCODING,
                gettext("Le contenu compressé (%(coding)s) est illisible.")
                % {"coding": coding[:40]},
                url=str(url),
                detail=str(exc),
            ) from exc
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise _translate(exc, url, policy) from exc
        return bytes(body)


async def fetch(
    url: str,
    *,
    policy: FetchPolicy | None = None,
    headers: Mapping[str, str] | None = None,
    client: GuardedClient | None = None,
    data: bytes | None = None,
) -> FetchResult:
    """GET a URL that came from a user or a feed, under every guard (docs/architecture.md).

    Returns the response whatever its status; raises FetchError when none could be had or a
    rule refused it. `headers` are added to the request (If-None-Match, If-Modified-Since,
    Accept…; Host, User-Agent and Accept-Encoding stay the fetcher's). `client` reuses its
    connections; without one, a client is opened for this call. With `data`, the request is a
    POST of those bytes (a webhook), under the same guards, and a redirect is not followed.
    """
    if client is not None:
        return await client.fetch(url, headers=headers, policy=policy, data=data)
    async with GuardedClient(policy) as own:
        return await own.fetch(url, headers=headers, data=data)


def fetch_sync(
    url: str,
    *,
    policy: FetchPolicy | None = None,
    headers: Mapping[str, str] | None = None,
    data: bytes | None = None,
) -> FetchResult:
    """`fetch` for synchronous code (a web request: HQ pastes a URL). From a thread that runs
    an event loop already, the fetch runs in a thread of its own, in the caller's language."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(fetch(url, policy=policy, headers=headers, data=data))
    language = translation.get_language()

    def run() -> FetchResult:
        with translation.override(language):
            return asyncio.run(fetch(url, policy=policy, headers=headers, data=data))

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()
