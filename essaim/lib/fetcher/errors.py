"""The one exception of the guarded fetcher: a stable code for programs, a sentence for people.

The watcher stores the code (a source's health: "dns_error", "timeout"…) and shows either the
message of the failure it met or the short label of its code (`ERROR_LABELS`).
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

# Every code a FetchError can carry. HTTP statuses are not among them: a 404 or a 503 is a
# result (FetchResult.status), since the watcher needs its headers (Retry-After).
BAD_URL = "bad_url"
BAD_SCHEME = "bad_scheme"
FORBIDDEN_PORT = "forbidden_port"
FORBIDDEN_ADDRESS = "forbidden_address"
DNS_ERROR = "dns_error"
CONNECT_ERROR = "connect_error"
TLS_ERROR = "tls_error"
TIMEOUT = "timeout"
TOO_LARGE = "too_large"
TOO_MANY_REDIRECTS = "too_many_redirects"
BAD_ENCODING = "bad_encoding"
HTTP_ERROR = "http_error"

ERROR_LABELS: dict[str, Promise] = {
    BAD_URL: _("Adresse invalide"),
    BAD_SCHEME: _("Protocole refusé"),
    FORBIDDEN_PORT: _("Port refusé"),
    FORBIDDEN_ADDRESS: _("Adresse interne refusée"),
    DNS_ERROR: _("Erreur DNS"),
    CONNECT_ERROR: _("Connexion impossible"),
    TLS_ERROR: _("Erreur TLS"),
    TIMEOUT: _("Délai dépassé"),
    TOO_LARGE: _("Trop volumineux"),
    TOO_MANY_REDIRECTS: _("Trop de redirections"),
    BAD_ENCODING: _("Compression illisible"),
    HTTP_ERROR: _("Réponse HTTP invalide"),
}


class FetchError(Exception):
    """A fetch that did not get a response: refused by a safety rule, or failed on the network.

    `code` is one of the constants above (stable, for programs and storage), `message` a
    sentence in the active language for the person who asked, `url` the URL of the hop that
    failed (after redirects, it may differ from the one requested), `detail` the technical
    cause in English for logs (never shown as is).
    """

    def __init__(self, code: str, message: str, *, url: str = "", detail: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.url = url
        self.detail = detail

    def __repr__(self) -> str:
        return f"FetchError({self.code!r}, {self.message!r}, url={self.url!r})"
