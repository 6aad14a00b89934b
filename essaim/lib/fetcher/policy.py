"""How much one fetch may take: bytes, seconds, redirects, ports, and the name it gives."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

from django.conf import settings

DEFAULT_MAX_BYTES = 10 * 1024 * 1024


def default_user_agent() -> str:
    """`Essaim/<version> (+<contact URL>)`: a site owner who sees us in a log can find who we are
    and how to reach us (FETCH_CONTACT_URL, the site itself by default)."""
    try:
        version = metadata.version("essaim")
    except metadata.PackageNotFoundError:  # pragma: no cover - a source tree never installed
        version = "0"
    contact = getattr(settings, "FETCH_CONTACT_URL", "") or settings.SITE_URL
    return f"Essaim/{version} (+{contact})"


@dataclass(frozen=True)
class FetchPolicy:
    """Limits of one fetch. `FetchPolicy.from_settings()` is the deployment's default.

    max_bytes: the body, counted after decompression (and the bytes on the wire, too).
    connect_timeout: DNS, TCP and TLS of one connection; read_timeout: the longest silence
    while waiting for the headers or the body; total_timeout: the whole fetch, redirects
    included, from the call to the last byte (a server trickling one byte a second is cut
    there). max_redirects: hops followed (each re-checked); one more is an error.
    allowed_ports: ports allowed besides 80 for http and 443 for https.
    user_agent: empty means Essaim's own (`default_user_agent()`).
    """

    max_bytes: int = DEFAULT_MAX_BYTES
    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    total_timeout: float = 60.0
    max_redirects: int = 5
    allowed_ports: frozenset[int] = field(default_factory=frozenset)
    user_agent: str = ""

    def __post_init__(self) -> None:
        if self.max_bytes < 1 or self.max_redirects < 0:
            raise ValueError("max_bytes must be positive and max_redirects not negative")
        if min(self.connect_timeout, self.read_timeout, self.total_timeout) <= 0:
            raise ValueError("every deadline must be positive")
        # A list or set given by a caller becomes a frozenset, so the policy stays hashable.
        object.__setattr__(self, "allowed_ports", frozenset(int(p) for p in self.allowed_ports))

    @classmethod
    def from_settings(cls, **overrides: Any) -> FetchPolicy:
        """The limits of the FETCH_* settings, read now (tests may change them), with
        `overrides` on top (e.g. `max_bytes=` for pages bigger than feeds)."""
        values: dict[str, Any] = {
            "max_bytes": getattr(settings, "FETCH_MAX_BYTES", DEFAULT_MAX_BYTES),
            "connect_timeout": getattr(settings, "FETCH_CONNECT_TIMEOUT", 10.0),
            "read_timeout": getattr(settings, "FETCH_READ_TIMEOUT", 20.0),
            "total_timeout": getattr(settings, "FETCH_TOTAL_TIMEOUT", 60.0),
            "allowed_ports": frozenset(getattr(settings, "FETCH_ALLOWED_PORTS", ())),
        }
        values.update(overrides)
        return cls(**values)

    @property
    def agent(self) -> str:
        """The User-Agent sent."""
        return self.user_agent or default_user_agent()
