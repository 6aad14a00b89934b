"""URLs as the watch stores them and as it compares them.

Two forms of one address:
- `clean_url`: the address to fetch and to link to, checked (http or https, a host, no
  credentials) and tidied without changing what it designates: scheme and host in lower case,
  the host in IDNA, no default port, no fragment, no tracking parameter.
- `url_key`: the identity used to de-duplicate sources and items. Beyond the clean form it
  drops what makes one page look like several: `www.`, `m.`, `mobile.` and `amp.` hosts, AMP
  variants of a path, http versus https, a trailing slash, the order of query parameters. Video
  ids are kept exactly (YouTube's are case-sensitive): every spelling of one YouTube video
  (watch, youtu.be, shorts, embed, live, the mobile site) gives
  `https://www.youtube.com/watch?v=ID`.

Pure functions of strings: no fetch, no database.
"""

from __future__ import annotations

import re
from urllib.parse import SplitResult, unquote_plus, urljoin, urlsplit, urlunsplit

import idna
from django.utils.translation import gettext as _

MAX_URL_LENGTH = 2000

# Parameters that say who sent the reader, never what the page is.
TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "gclsrc",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "twclid",
        "ttclid",
        "li_fat_id",
        "igshid",
        "igsh",
        "mc_cid",
        "mc_eid",
        "_ga",
        "_gl",
        "_hsenc",
        "_hsmi",
        "mkt_tok",
        "xtor",
        "xtref",
        "ref_src",
        "ref_url",
        "cmpid",
        "ocid",
        "ncid",
        "sr_share",
        "s_cid",
        "spm",
        "soc_src",
        "soc_trk",
        "wt_mc",
        "wt_zmc",
        "smid",
        "__twitter_impression",
        "guccounter",
        "guce_referrer",
        "guce_referrer_sig",
        "ito",
        "vero_id",
    }
)
# Families of parameters: Google Analytics (utm_), Matomo (mtm_, pk_), AT Internet (at_, used by
# most French news sites), HubSpot ads (hsa_), comScore (ns_), Olytics (oly_).
TRACKING_PREFIXES = ("utm_", "mtm_", "pk_", "at_", "hsa_", "ns_", "oly_")
# Parameters that only ask for the AMP rendering of a page (dropped from the key).
AMP_PARAMS = frozenset({"amp", "outputtype"})
# Host prefixes of the same site's other renderings.
MIRROR_PREFIXES = ("www.", "m.", "mobile.", "amp.")
DEFAULT_PORTS = {"http": 80, "https": 443}

_YOUTUBE_HOSTS = frozenset(
    {
        "youtube.com",
        "www.youtube.com",
        "m.youtube.com",
        "music.youtube.com",
        "youtube-nocookie.com",
        "www.youtube-nocookie.com",
    }
)
_YOUTUBE_ID = re.compile(r"[A-Za-z0-9_-]{11}")
_YOUTUBE_PATH = re.compile(r"/(?:shorts|embed|live|v|e)/([A-Za-z0-9_-]{11})/?")
_DAILYMOTION_ID = re.compile(r"x[0-9a-z]{4,10}")
_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
# What may stay unescaped in a path or a query (RFC 3986 pchar, plus "/" and "?"), and "%".
_SAFE = frozenset(_UNRESERVED | set("!$&'()*+,;=:@/?%"))


class InvalidURL(ValueError):
    """Not an address the watch can follow; the message says why, for a person."""


def clean_url(raw: str, *, base: str | None = None) -> str:
    """The address as fetched and linked: absolute http(s), checked and tidied (see module).
    `base`: the page it was found on, for a relative reference."""
    return urlunsplit(_clean_parts(raw, base=base))


def url_key(raw: str, *, base: str | None = None) -> str:
    """The identity of the page at `raw`, for de-duplication (see module)."""
    parts = _clean_parts(raw, base=base)
    video = _video_key(parts)
    if video:
        return video
    host = _strip_mirror(parts.hostname or "")
    path, query = parts.path, parts.query
    if host == "google.com" and path.startswith("/amp/s/"):
        # Google's AMP viewer: /amp/s/<host>/<path> is that host's page.
        return url_key("https://" + path[len("/amp/s/") :] + (f"?{query}" if query else ""))
    if host.endswith(".cdn.ampproject.org"):
        match = re.match(r"/[a-z](?:/s)?/(.+)", path)
        if match:
            return url_key("https://" + match[1] + (f"?{query}" if query else ""))
    path = _amp_path(path)
    if path != "/":
        path = path.rstrip("/") or "/"
    pairs = sorted(p for p in query.split("&") if p and _param_name(p) not in AMP_PARAMS)
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    return urlunsplit(("https", netloc, path, "&".join(pairs), ""))


def host_of(url: str) -> str:
    """The host of a clean URL, the unit of politeness (one request at a time per host)."""
    return (urlsplit(url).hostname or "").lower()


def is_http_url(raw: str) -> bool:
    try:
        clean_url(raw)
    except InvalidURL:
        return False
    return True


# --- the parts ----------------------------------------------------------------------------------


def _clean_parts(raw: str, *, base: str | None) -> SplitResult:
    value = (raw or "").strip()
    if not value:
        raise InvalidURL(_("adresse vide"))
    if len(value) > MAX_URL_LENGTH:
        raise InvalidURL(_("adresse trop longue"))
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise InvalidURL(_("caractère de contrôle dans l'adresse"))
    if base is not None and "://" not in value[:12]:
        value = urljoin(base, value)
    if value.startswith("//"):
        value = "https:" + value
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as exc:
        raise InvalidURL(_("adresse mal formée")) from exc
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise InvalidURL(_("seules les adresses http et https sont suivies"))
    if parts.username is not None or parts.password is not None:
        raise InvalidURL(_("une adresse avec identifiant (user@hôte) n'est pas suivie"))
    host = _clean_host(parts.hostname or "")
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != DEFAULT_PORTS[scheme]:
        netloc = f"{netloc}:{port}"
    path = _clean_escapes(parts.path) or "/"
    query = "&".join(p for p in _clean_escapes(parts.query).split("&") if p and not _is_tracking(p))
    cleaned = SplitResult(scheme, netloc, path, query, "")
    if len(urlunsplit(cleaned)) > MAX_URL_LENGTH:
        raise InvalidURL(_("adresse trop longue"))
    return cleaned


def _clean_host(host: str) -> str:
    host = host.rstrip(".").lower()
    if not host:
        raise InvalidURL(_("adresse sans nom d'hôte"))
    if ":" in host:  # an IPv6 literal (urlsplit took the brackets off)
        return host
    if not host.isascii():
        try:
            host = idna.encode(host, uts46=True).decode("ascii")
        except idna.IDNAError as exc:
            raise InvalidURL(_("nom de domaine international invalide")) from exc
    if not re.fullmatch(r"[a-z0-9._-]+", host) or ".." in host or len(host) > 253:
        raise InvalidURL(_("nom d'hôte invalide"))
    return host


def _clean_escapes(text: str) -> str:
    """Percent-escapes in upper case, unreserved characters unescaped, and whatever may not
    stand unescaped (spaces, non-ASCII letters) escaped: one spelling per path."""

    def unescape(match: re.Match[str]) -> str:
        char = chr(int(match[1], 16))
        return char if char in _UNRESERVED else f"%{match[1].upper()}"

    text = _ESCAPE.sub(unescape, text)
    out = []
    for char in text:
        if char in _SAFE:
            out.append(char)
        else:
            out.extend(f"%{byte:02X}" for byte in char.encode("utf-8"))
    # A "%" not starting an escape is itself escaped.
    return re.sub(r"%(?![0-9A-F]{2})", "%25", "".join(out))


def _param_name(pair: str) -> str:
    return unquote_plus(pair.split("=", 1)[0]).strip().lower()


def _is_tracking(pair: str) -> bool:
    name = _param_name(pair)
    return name in TRACKING_PARAMS or name.startswith(TRACKING_PREFIXES)


def _strip_mirror(host: str) -> str:
    for prefix in MIRROR_PREFIXES:
        if host.startswith(prefix) and host.count(".") >= 2:
            return host[len(prefix) :]
    return host


def _amp_path(path: str) -> str:
    if path.startswith("/amp/"):
        path = path[len("/amp") :]
    if path.endswith("/amp") or path.endswith("/amp/"):
        path = path[: path.rindex("/amp")] or "/"
    return re.sub(r"\.amp(\.html?)$", r"\1", path)


def _video_key(parts: SplitResult) -> str | None:
    host = parts.hostname or ""
    if host in _YOUTUBE_HOSTS:
        if parts.path.rstrip("/") == "/watch":
            for pair in parts.query.split("&"):
                name, _sep, value = pair.partition("=")
                if name == "v" and _YOUTUBE_ID.fullmatch(value):
                    return f"https://www.youtube.com/watch?v={value}"
        match = _YOUTUBE_PATH.fullmatch(parts.path)
        if match:
            return f"https://www.youtube.com/watch?v={match[1]}"
        if parts.path.rstrip("/") == "/playlist":
            for pair in parts.query.split("&"):
                name, _sep, value = pair.partition("=")
                if name == "list" and re.fullmatch(r"[A-Za-z0-9_-]{2,64}", value):
                    return f"https://www.youtube.com/playlist?list={value}"
    if host == "youtu.be":
        video = parts.path.strip("/")
        if _YOUTUBE_ID.fullmatch(video):
            return f"https://www.youtube.com/watch?v={video}"
    if host in {"dailymotion.com", "www.dailymotion.com", "dai.ly"}:
        path = parts.path.strip("/")
        video = path.split("/", 1)[1] if path.startswith("video/") else path
        video = video.split("_", 1)[0]
        if (host == "dai.ly" or path.startswith("video/")) and _DAILYMOTION_ID.fullmatch(video):
            return f"https://www.dailymotion.com/video/{video}"
    return None
