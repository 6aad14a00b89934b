"""Account-level services: the audit log."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from essaim.accounts.models import AuditEvent, User


def client_ip(request: HttpRequest) -> str | None:
    # Behind a reverse proxy, set it to overwrite REMOTE_ADDR; we never trust X-Forwarded-For here.
    return request.META.get("REMOTE_ADDR") or None


def audit(
    *,
    action: str,
    actor: User | None = None,
    request: HttpRequest | None = None,
    obj: Any = None,
    object_type: str = "",
    object_id: str | int = "",
    **details: Any,
) -> AuditEvent:
    """Record one sensitive act. `request` supplies actor, address and user agent when given."""
    if request is not None and actor is None and request.user.is_authenticated:
        actor = request.user  # type: ignore[assignment]
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or obj.pk
    return AuditEvent.objects.create(
        actor=actor,
        actor_email=actor.email if actor else "",
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        ip=client_ip(request) if request else None,
        user_agent=(request.headers.get("User-Agent", "")[:300] if request else ""),
        details=details,
    )
