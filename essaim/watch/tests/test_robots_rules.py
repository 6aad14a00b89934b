"""What a robots.txt answer means for a watched page (RFC 9309), read for the name Essaim."""

from __future__ import annotations

import pytest

from essaim.lib.fetcher import FetchError, FetchResult
from essaim.watch.watcher.robots import (
    ALLOWED,
    FORBIDDEN,
    UNREACHABLE,
    robots_url,
    rules_from,
)

RULES = b"""User-agent: *
Disallow: /

User-agent: Essaim
Disallow: /prive/
Allow: /prive/communiques/
Disallow: /*.pdf$
Crawl-delay: 7
"""


def answer(status: int, body: bytes = b"") -> FetchResult:
    url = "https://blog.exemple.fr/robots.txt"
    return FetchResult(url=url, final_url=url, status=status, headers={}, body=body)


@pytest.mark.parametrize(
    ("path", "verdict"),
    [
        ("/programme/", ALLOWED),
        ("/prive/notes/", FORBIDDEN),
        # The longest match wins (RFC 9309), whatever the order of the lines.
        ("/prive/communiques/12/", ALLOWED),
        ("/tract.pdf", FORBIDDEN),
        ("/tract.pdf?v=2", ALLOWED),
    ],
)
def test_our_group_is_read_with_the_longest_match_and_wildcards(path: str, verdict: str) -> None:
    rules = rules_from(answer(200, RULES), now=0.0)
    assert rules.verdict(f"https://blog.exemple.fr{path}") == verdict
    assert rules.crawl_delay() == 7.0


def test_a_site_that_forbids_every_robot_forbids_us() -> None:
    rules = rules_from(answer(200, b"User-agent: *\nDisallow: /\n"), now=0.0)
    assert rules.verdict("https://blog.exemple.fr/") == FORBIDDEN


@pytest.mark.parametrize("status", [401, 403, 404, 410])
def test_a_robots_txt_that_is_missing_or_refused_allows_everything(status: int) -> None:
    rules = rules_from(answer(status, b"Disallow: /"), now=0.0)
    assert (rules.verdict("https://blog.exemple.fr/prive/"), rules.crawl_delay()) == (
        ALLOWED,
        None,
    )


def test_a_robots_txt_out_of_reach_forbids_everything_for_now() -> None:
    failed = rules_from(answer(503), now=0.0)
    assert (failed.verdict("https://blog.exemple.fr/"), failed.unreachable) == (
        UNREACHABLE,
        "http_503",
    )
    dns = rules_from(FetchError("dns_error", "Nom introuvable"), now=0.0)
    assert (dns.verdict("https://blog.exemple.fr/"), dns.unreachable) == (UNREACHABLE, "dns_error")


def test_garbage_in_robots_txt_allows_what_it_does_not_forbid() -> None:
    rules = rules_from(answer(200, b"\x00\xff<html>pas un robots.txt</html>\nDisallow /x"), now=0.0)
    assert rules.verdict("https://blog.exemple.fr/x") == ALLOWED


def test_robots_txt_lives_at_the_root_of_the_origin() -> None:
    assert robots_url("https://blog.exemple.fr:8443/a/b?c=d#e") == (
        "https://blog.exemple.fr:8443/robots.txt"
    )
