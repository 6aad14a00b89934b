"""Bearer-token authentication, per-token rate limit and permission checks.

Everything that decides whether a request may run happens here, before ninja reads the body:
an unknown token gets 401, a token over its rate 429, a token used from outside its networks
403 (audited), a token whose user may not do this or that lacks the scope 403, a token that has
read its daily budget of people 429, and only then does a malformed body get 422. A
volunteer's token learns nothing from the validation of a write it could never make.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from ninja.security import HttpBearer

from essaim.accounts.services import client_ip
from essaim.api.errors import ApiError
from essaim.api.models import ApiToken, Scope
from essaim.api.services import (
    authenticate,
    people_allowance,
    refuse_address,
    refuse_over_budget,
    touch,
)
from essaim.lib import ratelimit

Predicate = Callable[[Any], bool]


class TokenAuth(HttpBearer):
    """`Authorization: Bearer ess_…`; the token acts as its user, within its scopes.

    `allowed` is a predicate of essaim.accounts.rules asked about the token's user; `scope` is
    the token scope the operation needs (a read-only token cannot write). `reads_people` marks
    the operations that return contacts: they count against the token's daily budget of people
    read, and are refused once it is spent.
    """

    def __init__(
        self, allowed: Predicate, scope: str = Scope.READ, *, reads_people: bool = False
    ) -> None:
        super().__init__()
        self.allowed = allowed
        self.scope = str(scope)
        self.reads_people = reads_people

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        api_token = authenticate(token.strip())
        if api_token is None:
            return None  # → 401
        rate = api_token.rate()
        if rate:  # an empty API_RATE_LIMIT turns the default limit off
            decision = ratelimit.hit("api", str(api_token.pk), rate)
            if not decision.allowed:
                raise ApiError(
                    429,
                    f"Rate limit of {rate} reached for this token; "
                    f"retry in {decision.retry_after} s.",
                    headers={"Retry-After": str(decision.retry_after)},
                )
        ip = client_ip(request)
        if not api_token.accepts_address(ip):
            refuse_address(token=api_token, request=request)
            raise ApiError(
                403, "This token is not accepted from this address.", code="address_refused"
            )
        touch(api_token, ip=ip)
        if not self.allowed(api_token.user):
            raise ApiError(403, "This token's user may not do this.")
        if not api_token.allows(self.scope):
            raise ApiError(403, f"This token lacks the {self.scope!r} scope.")
        if self.reads_people and people_allowance(api_token) <= 0:
            retry_after = refuse_over_budget(token=api_token, request=request)
            raise ApiError(
                429,
                f"This token has read its daily budget of {api_token.budget()} people; "
                f"retry after midnight ({settings.TIME_ZONE}), in {retry_after} s.",
                code="people_budget_exhausted",
                details={"budget": api_token.budget(), "retry_after": retry_after},
                headers={"Retry-After": str(retry_after)},
            )
        return api_token


def token_of(request: HttpRequest) -> ApiToken:
    """The authenticated token of an operation protected by TokenAuth."""
    token = getattr(request, "auth", None)
    assert isinstance(token, ApiToken)
    return token
