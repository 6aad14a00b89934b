"""Invitations over JSON (mounted at /api/v1/): the token's volunteer invites people from their
address book and reads their own counts. Thin over essaim.army.services.invitations; any
volunteer's token reads, but only a trained or active mondain who is not suspended invites
(essaim.army.services.inviters.standing: anyone else gets a 403 saying why). As on the page,
a valid request always answers with the number of distinct valid addresses given and the
invalid entries (syntax only): nothing about the base.
"""

from __future__ import annotations

from typing import Annotated, Any

from django.conf import settings
from django.http import HttpRequest
from django.utils import translation
from ninja import Field, Router, Schema, Status

from essaim.api.auth import TokenAuth, token_of
from essaim.api.errors import ApiError, ErrorOut, field_error
from essaim.api.models import Scope
from essaim.army.models import Volunteer
from essaim.army.rules.missions import volunteer_of
from essaim.army.services import invitations as svc
from essaim.army.services import inviters
from essaim.army.services.addressbook import AddressBookError, Addresses
from essaim.lib import ratelimit


def _is_volunteer(user: Any) -> bool:
    return volunteer_of(user) is not None


read_mine = TokenAuth(_is_volunteer, Scope.READ)
write_mine = TokenAuth(_is_volunteer, Scope.WRITE)

router = Router(tags=["invitations"])

_ERRORS: dict[int, Any] = {code: ErrorOut for code in (401, 403, 429)}
_ACT: dict[int, Any] = {**_ERRORS, 409: ErrorOut, 422: ErrorOut}


class InvitationsIn(Schema):
    addresses: list[Annotated[str, Field(max_length=320)]] = Field(
        min_length=1, max_length=1000, description="E-mail addresses, as typed."
    )
    note: str = Field(
        "",
        max_length=svc.MAX_NOTE,
        description="Optional, in the volunteer's own words; shown escaped under the campaign's "
        "text.",
    )


class InvitationsOut(Schema):
    sent: int = Field(description="Distinct valid addresses given: always, whatever the base.")
    invalid: list[str] = Field(description="Entries that are not addresses (first 20, cut).")
    invalid_count: int


class InvitationStatsOut(Schema):
    sent: int
    confirmed: int
    points: int
    left_today: int
    daily_limit: int
    may_invite: bool
    refusal: str = Field(description="Why the volunteer may not invite now; empty when they may.")


def _me(request: HttpRequest) -> Volunteer:
    volunteer = Volunteer.objects.select_related("user", "contact").filter(
        pk=token_of(request).user.pk
    )
    found = volunteer.first()
    if found is None:  # the auth predicate already asked; kept for type checkers
        raise ApiError(403)
    return found


@router.post("/me/invitations", response={202: InvitationsOut, **_ACT}, auth=write_mine)
def send_invitations(request: HttpRequest, payload: InvitationsIn) -> Any:
    """Invite people in the token's volunteer's name (202: mails leave from a background job).
    403 when they may not invite (not a trained or active mondain: `not_trusted`; suspended
    after abuse reports: `suspended`), 409 when the day's limit would be passed, 422 when no
    address is valid or the note is refused (too long, or a link): nothing is recorded."""
    volunteer = _me(request)
    refusal = inviters.standing(volunteer).refusal
    if refusal is not None:
        raise ApiError(403, str(refusal), code=refusal.code)
    found = Addresses()
    try:
        for address in payload.addresses:
            found.add(address)
    except AddressBookError as exc:
        raise field_error("addresses", str(exc)) from None
    decision = ratelimit.hit("invitations", str(volunteer.pk), settings.INVITATIONS_RATE_LIMIT)
    if not decision.allowed:
        raise ApiError(
            429,
            "Too many invitation requests; try again later.",
            headers={"Retry-After": str(decision.retry_after)},
        )
    try:
        count = svc.request_invitations(
            volunteer=volunteer,
            addresses=found.valid,
            note=payload.note,
            language=translation.get_language() or settings.LANGUAGE_CODE,
        )
    except svc.NotAllowed as exc:
        raise ApiError(403, str(exc), code=exc.code) from None
    except svc.DailyLimitReached as exc:
        raise ApiError(409, str(exc), code="daily_limit", details={"left": exc.left}) from None
    except svc.InvitationError as exc:
        raise ApiError(
            422, str(exc), details={"invalid": found.invalid, "invalid_count": found.invalid_count}
        ) from None
    return Status(
        202, {"sent": count, "invalid": found.invalid, "invalid_count": found.invalid_count}
    )


@router.get("/me/invitations", response={200: InvitationStatsOut, **_ERRORS}, auth=read_mine)
def my_invitation_stats(request: HttpRequest) -> dict[str, Any]:
    """The token's volunteer's counts: addresses given, people who confirmed, points earned."""
    stats = svc.stats(_me(request))
    return {
        "sent": stats.sent,
        "confirmed": stats.confirmed,
        "points": stats.points,
        "left_today": stats.left_today if stats.may_invite else 0,
        "daily_limit": stats.daily_limit,
        "may_invite": stats.may_invite,
        "refusal": str(stats.refusal or ""),
    }
