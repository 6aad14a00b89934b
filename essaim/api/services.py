"""API tokens: issue, authenticate, record use, revoke."""

from __future__ import annotations

import hmac
import secrets
import string
from collections.abc import Iterable
from datetime import timedelta
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from essaim.accounts.services import audit
from essaim.api.models import ApiToken, Scope, token_hash

if TYPE_CHECKING:
    from datetime import datetime

    from essaim.accounts.models import User

TOKEN_PREFIX = "ess_"  # noqa: S105 (a marker, not a secret)
# Lower-case letters and digits only, so the prefix reads well and never contains the "_"
# that separates it from the secret.
_PREFIX_ALPHABET = string.ascii_lowercase + string.digits
_PREFIX_LENGTH = 8
_MAX_TOKEN_LENGTH = 200
# last_used_at is precise to the minute: writing it on every request would turn every API read
# into a write (and serialize them on SQLite).
TOUCH_EVERY = timedelta(minutes=1)


class TokenNotFound(LookupError):
    pass


def _new_prefix() -> str:
    return "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(_PREFIX_LENGTH))


def create_token(
    *, user: User, name: str, scopes: Iterable[str] = (), actor: User | None = None
) -> tuple[ApiToken, str]:
    """Issue a token for `user`; returns (token row, clear token). The clear token is never
    stored: show it once. Audited as "api_token.create"."""
    scopes = sorted(set(scopes))
    unknown = set(scopes) - set(Scope.values)
    if unknown:
        raise ValueError(f"unknown scope(s): {', '.join(sorted(unknown))}")
    name = " ".join(name.split())[:100]
    if not name:
        raise ValueError("a token needs a name (what it is for)")
    for _ in range(5):
        prefix = _new_prefix()
        raw = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
        try:
            with transaction.atomic():
                token = ApiToken.objects.create(
                    user=user, name=name, prefix=prefix, token_hash=token_hash(raw), scopes=scopes
                )
                audit(
                    action="api_token.create",
                    actor=actor,
                    obj=token,
                    prefix=prefix,
                    name=name,
                    user=user.email,
                    scopes=scopes,
                )
        except IntegrityError:  # prefix already taken (1 in 2.8e12 per existing token)
            continue
        return token, raw
    raise RuntimeError("could not find a free token prefix")


def authenticate(raw: str) -> ApiToken | None:
    """The live token (with its user loaded) for a clear token, or None: unknown, revoked, or
    its user deactivated. One query, by the indexed hash."""
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > _MAX_TOKEN_LENGTH:
        return None
    hashed = token_hash(raw)
    token = ApiToken.objects.select_related("user").filter(token_hash=hashed).first()
    if token is None or token.revoked_at is not None or not token.user.is_active:
        return None
    # The row was found by equality on the hash; compare again in constant time so that no code
    # path ever compares secret material with an early-exit comparison.
    if not hmac.compare_digest(token.token_hash, hashed):
        return None
    return token


def touch(token: ApiToken, *, now: datetime | None = None) -> bool:
    """Record that the token was used, at most once per TOUCH_EVERY. The UPDATE is conditional,
    so concurrent requests write the row once; True when this call wrote it."""
    now = now or timezone.now()
    if token.last_used_at is not None and now - token.last_used_at < TOUCH_EVERY:
        return False
    updated = (
        ApiToken.objects.filter(pk=token.pk)
        .filter(Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - TOUCH_EVERY))
        .update(last_used_at=now)
    )
    token.last_used_at = now
    return bool(updated)


def revoke_token(*, prefix: str, actor: User | None = None) -> tuple[ApiToken, bool]:
    """Revoke the token with this prefix; returns (token, True if it was live until now).
    Audited as "api_token.revoke" when it changes anything."""
    with transaction.atomic():
        token = (
            ApiToken.objects.select_for_update(of=("self",))
            .select_related("user")
            .filter(prefix=prefix.strip())
            .first()
        )
        if token is None:
            raise TokenNotFound(prefix)
        if token.revoked_at is not None:
            return token, False
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit(
            action="api_token.revoke",
            actor=actor,
            obj=token,
            prefix=token.prefix,
            name=token.name,
            user=token.user.email,
        )
    return token, True
