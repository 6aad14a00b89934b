"""Bearer-token authentication, per-token rate limit and permission checks.

Everything that decides whether a request may run happens here, before ninja reads the body:
an unknown token gets 401, a token over its rate 429, a token whose user may not do this 403,
and only then does a malformed body get 422. A volunteer's token learns nothing from the
validation of a write it could never make.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from ninja.security import HttpBearer

from essaim.api.errors import ApiError
from essaim.api.models import ApiToken, Scope
from essaim.api.services import authenticate, touch
from essaim.lib import ratelimit

Predicate = Callable[[Any], bool]


class TokenAuth(HttpBearer):
    """`Authorization: Bearer ess_…`; the token acts as its user, within its scopes.

    `allowed` is a predicate of essaim.accounts.rules asked about the token's user; `scope` is
    the token scope the operation needs (a read-only token cannot write).
    """

    def __init__(self, allowed: Predicate, scope: str = Scope.READ) -> None:
        super().__init__()
        self.allowed = allowed
        self.scope = str(scope)

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        api_token = authenticate(token.strip())
        if api_token is None:
            return None  # → 401
        touch(api_token)
        rate = settings.API_RATE_LIMIT
        if rate:
            decision = ratelimit.hit("api", str(api_token.pk), rate)
            if not decision.allowed:
                raise ApiError(
                    429,
                    f"Rate limit of {rate} reached for this token; "
                    f"retry in {decision.retry_after} s.",
                    headers={"Retry-After": str(decision.retry_after)},
                )
        if not self.allowed(api_token.user):
            raise ApiError(403, "This token's user may not do this.")
        if not api_token.allows(self.scope):
            raise ApiError(403, f"This token lacks the {self.scope!r} scope.")
        return api_token


def token_of(request: HttpRequest) -> ApiToken:
    """The authenticated token of an operation protected by TokenAuth."""
    token = getattr(request, "auth", None)
    assert isinstance(token, ApiToken)
    return token
