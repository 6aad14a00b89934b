"""A source's health in words, and what each failure weighs.

Codes come from three places: the guarded fetcher's FetchError codes (dns_error, timeout,
forbidden_address, too_large…: essaim.lib.fetcher.errors, with their labels), `http_NNN` for an
answer of status NNN, and the parser's (not_a_feed, xml_entities, too_large). The pages show
the words; the API and the history keep the code.
"""

from __future__ import annotations

import re

from django.utils.translation import gettext as _

from essaim.lib.fetcher import ERROR_LABELS

# Failures that say nothing lasting about the source (the network, an overloaded server, a
# robots.txt out of reach, a page that took too long to read on a busy machine): half the
# weight of the others (see Source). A page that robots.txt forbids us weighs a lasting
# failure: the site said no, so after WATCH_DISABLE_AFTER refusals in a row it is disabled
# with that reason shown, and HQ enables it again if the site changes its mind.
TRANSIENT = frozenset(
    {"timeout", "connect_error", "http_error", "robots_unreachable", "extraction_timeout"}
)
TRANSIENT_PREFIXES = ("http_5",)
# The server asked us to slow down (429, or a 503 with Retry-After): a quarter.
SLOW_DOWN = frozenset({"http_429"})


def failure_weight(code: str, *, retry_after: bool = False) -> float:
    """What one failure of this kind adds to a source's failure score."""
    if code in SLOW_DOWN or (retry_after and code.startswith("http_")):
        return 0.25
    if code in TRANSIENT or code.startswith(TRANSIENT_PREFIXES):
        return 0.5
    return 1.0


def error_words(code: str) -> str:
    """The failure `code` in words for a person (French source strings)."""
    if not code:
        return ""
    match = re.fullmatch(r"http_(\d{3})", code)
    if match:
        status = int(match[1])
        if status in (401, 403):
            return _("Accès refusé par le site (HTTP %(status)s)") % {"status": status}
        if status in (404, 410):
            return _("Adresse introuvable sur le site (HTTP %(status)s)") % {"status": status}
        if status == 429:
            return _("Le site demande de ralentir (HTTP 429)")
        if status >= 500:
            return _("Erreur du serveur (HTTP %(status)s)") % {"status": status}
        return _("Réponse HTTP %(status)s") % {"status": status}
    if code in ERROR_LABELS:
        return str(ERROR_LABELS[code])
    words = {
        "not_a_feed": _("Ce n'est pas un flux RSS, Atom ni JSON"),
        "xml_entities": _("Flux refusé : il déclare des entités XML"),
        "empty": _("Réponse vide"),
        "disabled_by_hq": _("Désactivée par le QG"),
        "robots_forbidden": _("Interdite par le robots.txt du site : page non consultée"),
        "robots_unreachable": _(
            "robots.txt du site injoignable : page non consultée, nouvel essai plus tard"
        ),
        "extraction_failed": _("Lecture de la page impossible (mémoire ou erreur)"),
        "extraction_timeout": _("Lecture de la page trop longue : arrêtée"),
    }
    return words.get(code, _("Erreur : %(code)s") % {"code": code})
