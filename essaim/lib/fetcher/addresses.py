"""Which addresses the fetcher may connect to, and which URLs it may ask for.

An explicit deny list, not only `ipaddress.is_global`: the list names each range and why (its
reason is shown to the person), it covers what Python's tables have missed or changed across
versions (CGNAT, IPv4 embedded in IPv6 by NAT64, 6to4 or Teredo), and `is_global` is then
asked too, as a second opinion. IPv6 outside 2000::/3 (the only global unicast block) is
refused whatever the list says.

FETCH_ALLOW_ADDRESSES (networks, empty in production) lets tests and benchmarks reach their
own servers on loopback; an address in it is allowed even if the deny list names it.
"""

from __future__ import annotations

import re
from functools import lru_cache
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

from django.conf import settings
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from yarl import URL

from essaim.lib.fetcher.errors import (
    BAD_SCHEME,
    BAD_URL,
    FORBIDDEN_ADDRESS,
    FORBIDDEN_PORT,
    FetchError,
)
from essaim.lib.fetcher.policy import FetchPolicy

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network

DEFAULT_PORTS = {"http": 80, "https": 443}

REASONS: dict[str, Promise] = {
    "unspecified": _("adresse non spécifiée"),
    "loopback": _("boucle locale"),
    "private": _("réseau privé"),
    "shared": _("réseau partagé d'opérateur (CGNAT)"),
    "link_local": _("lien local"),
    "multicast": _("multidiffusion"),
    "broadcast": _("diffusion"),
    "documentation": _("plage de documentation"),
    "reserved": _("plage réservée"),
    "ipv4_embedded": _("IPv4 inscrite dans une adresse IPv6"),
    "unique_local": _("adresse locale unique"),
    "site_local": _("site local"),
}

# Most specific first: the first match gives the reason.
DENIED: tuple[tuple[IPNetwork, str], ...] = tuple(
    (ip_network(net), reason)
    for net, reason in (
        ("0.0.0.0/8", "unspecified"),
        ("10.0.0.0/8", "private"),
        ("100.64.0.0/10", "shared"),
        ("127.0.0.0/8", "loopback"),
        ("169.254.0.0/16", "link_local"),  # 169.254.169.254: the clouds' metadata service
        ("172.16.0.0/12", "private"),
        ("192.0.0.0/24", "reserved"),  # IETF protocol assignments
        ("192.0.2.0/24", "documentation"),
        ("192.88.99.0/24", "reserved"),  # the former 6to4 relay anycast
        ("192.168.0.0/16", "private"),
        ("198.18.0.0/15", "reserved"),  # benchmarking
        ("198.51.100.0/24", "documentation"),
        ("203.0.113.0/24", "documentation"),
        ("224.0.0.0/4", "multicast"),
        ("255.255.255.255/32", "broadcast"),
        ("240.0.0.0/4", "reserved"),
        ("::/128", "unspecified"),
        ("::1/128", "loopback"),
        ("::ffff:0:0/96", "ipv4_embedded"),  # IPv4-mapped
        ("::/96", "ipv4_embedded"),  # IPv4-compatible (deprecated)
        ("::ffff:0:0:0/96", "ipv4_embedded"),  # IPv4-translated (SIIT)
        ("64:ff9b::/96", "ipv4_embedded"),  # NAT64, well-known prefix
        ("64:ff9b:1::/48", "ipv4_embedded"),  # NAT64, local use
        ("100::/64", "reserved"),  # discard-only
        ("2001::/32", "ipv4_embedded"),  # Teredo
        ("2001:db8::/32", "documentation"),
        ("2001::/23", "reserved"),  # IETF protocol assignments
        ("2002::/16", "ipv4_embedded"),  # 6to4
        ("3fff::/20", "documentation"),
        ("5f00::/16", "reserved"),  # SRv6 segment identifiers
        ("fc00::/7", "unique_local"),
        ("fe80::/10", "link_local"),
        ("fec0::/10", "site_local"),
        ("ff00::/8", "multicast"),
    )
)
GLOBAL_UNICAST_V6 = IPv6Network("2000::/3")


@lru_cache(maxsize=16)
def _allowed_networks(entries: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return tuple(ip_network(entry.strip(), strict=False) for entry in entries if entry.strip())


def allowed_networks() -> tuple[IPNetwork, ...]:
    """FETCH_ALLOW_ADDRESSES as networks, read at each call (tests change it)."""
    return _allowed_networks(tuple(getattr(settings, "FETCH_ALLOW_ADDRESSES", ()) or ()))


def refusal_reason(address: IPAddress) -> str | None:
    """Why the fetcher must not connect to `address` (a key of REASONS), or None if it may."""
    if any(address in network for network in allowed_networks()):
        return None
    if isinstance(address, IPv6Address) and address.scope_id:
        return "link_local"  # a zone only makes sense on a local link
    for network, reason in DENIED:
        if address in network:
            return reason
    if isinstance(address, IPv6Address) and address not in GLOBAL_UNICAST_V6:
        return "reserved"
    if not address.is_global:
        return "reserved"
    return None


def forbidden_address_error(address: IPAddress, reason: str, *, url: str = "") -> FetchError:
    return FetchError(
        FORBIDDEN_ADDRESS,
        gettext(
            "L'adresse %(address)s (%(reason)s) est interne ou réservée : "
            "Essaim ne s'y connecte pas."
        )
        % {"address": address, "reason": REASONS[reason]},
        url=url,
        detail=f"{address} is {reason}",
    )


def check_address(address: IPAddress, *, url: str = "") -> None:
    """Raise FetchError("forbidden_address") unless the fetcher may connect to `address`."""
    reason = refusal_reason(address)
    if reason is not None:
        raise forbidden_address_error(address, reason, url=url)


# A host name as it reaches the resolver: letters, digits, hyphens and underscores in dotted
# labels (yarl has already turned an internationalized name into its xn-- form).
_HOST_NAME = re.compile(r"[a-z0-9_-]{1,63}(?:\.[a-z0-9_-]{1,63})*\.?\Z", re.IGNORECASE)
_NUMERIC_LABEL = re.compile(r"(?:0[xX][0-9a-fA-F]*|[0-9]+)\Z")


def parse_ipv4_spelling(host: str) -> IPv4Address | None:
    """The IPv4 address that a numeric host means to inet_aton (and to browsers): decimal
    `2130706433`, hex `0x7f.1`, octal `0177.0.0.1`, short `127.1`; None for a host name.
    Raises ValueError for a numeric host that is no address (`1.2.3.4.5`, `999.1.1.1`)."""
    labels = (host[:-1] if host.endswith(".") else host).split(".")
    if not all(_NUMERIC_LABEL.match(label) for label in labels):
        return None
    if len(labels) > 4:
        raise ValueError(f"{host!r} has more than four numeric parts")
    numbers = []
    for label in labels:
        if label[:2].lower() == "0x":
            numbers.append(int(label[2:] or "0", 16))
        elif len(label) > 1 and label.startswith("0"):
            numbers.append(int(label, 8))  # ValueError on 8 or 9, as inet_aton refuses them
        else:
            numbers.append(int(label))
    *head, last = numbers
    if any(n > 255 for n in head) or last >= 256 ** (4 - len(head)):
        raise ValueError(f"{host!r} is out of range")
    value = last
    for position, number in enumerate(head):
        value += number << (8 * (3 - position))
    return IPv4Address(value)


def literal_address(host: str) -> IPAddress | None:
    """The address a URL's host names literally (any IPv4 spelling, IPv6), None for a name.

    Raises ValueError for a host that looks like an address but is none."""
    if ":" in host:
        # aiohttp connects to any host with a colon as an address, so it must be one.
        return ip_address(host.strip("[]"))
    return parse_ipv4_spelling(host)


def _bad_url(url: str, detail: str, message: str | None = None) -> FetchError:
    return FetchError(
        BAD_URL,
        message or gettext("Cette adresse n'est pas une URL valide."),
        url=url,
        detail=detail,
    )


def check_url(url: str | URL, policy: FetchPolicy) -> URL:
    """The URL to request for `url`, after every check that needs no DNS; raise FetchError.

    http and https only, no credentials, default ports unless the policy allows another, and
    a literal address checked here (in whatever spelling, rewritten in its canonical form so
    that the connection goes to the address checked). A host name is checked when it is
    resolved, by the client's resolver (see client.py).
    """
    text = url if isinstance(url, str) else ""
    try:
        # yarl parses parts lazily: the port or host of a URL built by join() may fail only
        # when read, so everything is read here.
        parsed = url if isinstance(url, URL) else URL(url.strip())
        text = str(parsed) if isinstance(url, URL) else url
        scheme = parsed.scheme.lower()
        credentials = parsed.raw_user is not None or parsed.raw_password is not None
        host = parsed.raw_host
        port = parsed.port
        absolute = parsed.absolute
    except (ValueError, TypeError) as exc:
        raise _bad_url(text, f"unparsable: {exc}") from exc
    if not scheme:
        raise _bad_url(text, "not absolute")
    if scheme not in DEFAULT_PORTS:
        raise FetchError(
            BAD_SCHEME,
            gettext("Seules les adresses http et https sont acceptées (reçu : « %(scheme)s »).")
            % {"scheme": scheme[:20]},
            url=text,
            detail=f"scheme {scheme!r}",
        )
    if credentials:
        raise _bad_url(
            text,
            "credentials in URL",
            gettext(
                "Les adresses qui contiennent un identifiant (utilisateur@hôte) sont refusées."
            ),
        )
    if not absolute or not host:
        raise _bad_url(text, "no host")
    if port is None:
        raise _bad_url(text, "no port")
    if port != DEFAULT_PORTS[scheme] and port not in policy.allowed_ports:
        raise FetchError(
            FORBIDDEN_PORT,
            gettext(
                "Le port %(port)s n'est pas autorisé : seuls les ports 80 (http) et 443 (https) "
                "le sont, sauf autorisation du QG."
            )
            % {"port": port},
            url=text,
            detail=f"port {port}",
        )
    try:
        address = literal_address(host)
    except ValueError as exc:
        raise _bad_url(text, f"bad address {host!r}: {exc}") from exc
    if address is None:
        if not _HOST_NAME.match(host):
            # Percent escapes or odd characters: no DNS name has them, and no resolver should
            # be left to interpret them.
            raise _bad_url(text, f"bad host name {host!r}")
        return parsed
    check_address(address, url=text)
    canonical = str(address)
    if canonical != host:
        parsed = parsed.with_host(canonical)
    return parsed
