"""Secrets out of logs: the tokens of links are replaced by "[redacted]" wherever a URL is logged.

A confirmation, login, unsubscribe, invitation or call link is a key: whoever reads it in an
access log can confirm, log in or unsubscribe in someone's name. Which paths carry one is read
from the URLconf itself: every route with a parameter named in SECRET_URL_KWARGS (`<str:token>`),
so a new route of that shape is redacted without anyone listing it; query parameters named in
SECRET_QUERY_PARAMS (the call link's `?t=`) are redacted too, on any path.

`redact(text)` works on any text (a request line, a path, a Referer, a log message); the gunicorn
logger (essaim.lib.gunicorn_logging) and RedactSecretsFilter (Django's own request logging) use it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Any, Final

from django.apps import apps
from django.urls import URLPattern, URLResolver, get_resolver

REDACTED: Final = "[redacted]"
SECRET_URL_KWARGS: Final = frozenset({"token"})
SECRET_QUERY_PARAMS: Final = frozenset({"t", "token"})
# What a token may be made of once it sits in a log line: a path segment, up to the next
# separator, quote or space (a request line goes on with " HTTP/1.1").
_SEGMENT: Final = r"[^/?#\s\"']+"
_GROUP = re.compile(r"\(\?P<(\w+)>")


def _walk(patterns: list[Any], prefix: str) -> Iterator[tuple[str, URLPattern]]:
    """(full regex without anchors, pattern) of every route, as Django's admindocs walks them."""
    for entry in patterns:
        regex = entry.pattern.regex.pattern.removeprefix("^").removesuffix(r"\Z")
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + regex)
        elif isinstance(entry, URLPattern):
            yield prefix + regex, entry


def _before_secret(regex: str) -> str | None:
    """The regex of a route up to its first secret parameter; None when it has none. The rest
    of the route is left out: a request that stops after the token (no trailing slash, or a
    sub-page such as an invitation's report) still has it redacted."""
    for found in _GROUP.finditer(regex):
        if found[1] in SECRET_URL_KWARGS:
            return regex[: found.start()]
    return None


@lru_cache(maxsize=1)
def _patterns() -> tuple[re.Pattern[str], ...]:
    """Compiled once per process, on first use (the URLconf is loaded by then in a web
    process; in another one, the first log line that needs it loads it)."""
    routes = [regex for regex, _ in _walk(get_resolver().url_patterns, "")]
    literal = [r for r in routes if "(" not in r]
    compiled = []
    for before in sorted({b for r in routes if (b := _before_secret(r)) is not None}):
        # A fixed page beside the token's place ("connexion/lien/envoye/" beside
        # "connexion/lien/<token>/") is not a token: left as it is.
        siblings = sorted(
            {r[len(before) :].split("/")[0] for r in literal if r.startswith(before)} - {""}
        )
        not_a_page = f"(?!(?:{'|'.join(siblings)})(?:[/?#\\s\"']|$))" if siblings else ""
        head = _GROUP.sub("(?:", before)  # other named groups (a pk): no clash of names
        # After a "/" that starts a path (or ends the host of a full URL, in a Referer).
        compiled.append(re.compile(f"(?<=/){head}{not_a_page}(?P<secret>{_SEGMENT})"))
    query = "|".join(re.escape(name) for name in sorted(SECRET_QUERY_PARAMS))
    compiled.append(re.compile(rf"[?&;](?:{query})=(?P<secret>[^&;#\s\"']*)"))
    return tuple(compiled)


def secret_route_prefixes() -> list[str]:
    """The regexes of the secret-bearing routes, as redact() uses them (for tests and docs)."""
    return [p.pattern for p in _patterns()[:-1]]


def _replace(found: re.Match[str]) -> str:
    start, end = found.span("secret")
    whole = found[0]
    base = found.start()
    return whole[: start - base] + REDACTED + whole[end - base :]


def redact(text: str) -> str:
    """`text` with the token of every secret-bearing URL in it replaced by [redacted]."""
    if "/" not in text and "=" not in text:
        return text
    for pattern in _patterns():
        text = pattern.sub(_replace, text)
    return text


class RedactSecretsFilter(logging.Filter):
    """A logging filter for Django's request loggers: django.request ("Not Found: /path"),
    django.server (the development server's request lines) and django.security. The message
    is formatted, redacted and frozen (args dropped), so no handler sees the token.

    Other loggers pass untouched: they log no URL, and the sender and the worker should not
    load the URLconf (every app's views) for their first log line."""

    prefixes: Final = ("django.request", "django.server", "django.security", "gunicorn")

    def filter(self, record: logging.LogRecord) -> bool:
        # gunicorn's master logs before Django is set up; it handles no request.
        if not record.name.startswith(self.prefixes) or not apps.ready:
            return True
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True
