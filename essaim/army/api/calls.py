"""Calls for volunteers over JSON (mounted at /api/v1/): create a call (its landing page and its
campaign, a draft launched through /campaigns/{id}/launch) and read its funnel. HQ tokens only
(army.rules.can_manage_calls); thin handlers over essaim.army.services.calls. An empty audience
is a 409 `empty_audience`, an invalid mail 422."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from ninja import Field, Path, Router, Schema, Status

from essaim.api.auth import TokenAuth, token_of
from essaim.api.errors import ApiError, ErrorOut, field_error
from essaim.api.models import Scope
from essaim.army import rules
from essaim.army.models import Call, VolunteerRole
from essaim.army.services import calls as svc
from essaim.army.services.call_links import landing_path
from essaim.mailing.services.campaigns import CampaignRefused, InvalidCampaign, from_identities
from essaim.people.models import Purpose, Segment

read_calls = TokenAuth(rules.can_manage_calls, Scope.READ)
write_calls = TokenAuth(rules.can_manage_calls, Scope.WRITE)

router = Router(tags=["calls"])

MAX_ID = 2**63 - 1
_ERRORS: dict[int, Any] = {code: ErrorOut for code in (401, 403, 429)}
_ONE: dict[int, Any] = {**_ERRORS, 404: ErrorOut, 422: ErrorOut}


class CallIn(Schema):
    title: str = Field(min_length=1, max_length=200)
    text_markdown: str = Field(min_length=1, max_length=20_000)
    roles: list[str] = Field(min_length=1, max_length=50, description="Role slugs sought.")
    segment: int = Field(ge=1, le=MAX_ID)
    subject: str = Field(min_length=1, max_length=250)
    body_markdown: str = Field(
        "",
        max_length=200_000,
        description="The mail; {{ call_url }} is each recipient's link (added if missing). "
        "Empty: the default text.",
    )
    purpose: Purpose = Purpose.MOBILIZATION
    from_address: str = Field("", description="A configured identity; the first one if empty.")


class CallOut(Schema):
    id: int
    title: str
    roles: list[str]
    campaign: int = Field(description="Preview, approve and launch it through /campaigns.")
    campaign_status: str
    landing_url: str
    created_at: datetime


class BucketOut(Schema):
    start: datetime
    counts: dict[str, int]
    totals: dict[str, int]


class FunnelOut(Schema):
    id: int
    audience: int | None = Field(description="Rows frozen into the ledger at launch.")
    unit: str = Field(description="hour, or day when the call runs longer than three days")
    totals: dict[str, int] = Field(description="reached, visited, signed_up, first_mission")
    buckets: list[BucketOut]


def _out(call: Call) -> dict[str, Any]:
    return {
        "id": call.pk,
        "title": call.title,
        "roles": sorted(call.roles.values_list("slug", flat=True)),
        "campaign": call.campaign_id,
        "campaign_status": call.campaign.status,
        "landing_url": f"{settings.SITE_URL}{landing_path(call.pk)}",
        "created_at": call.created_at,
    }


def _get(id: int) -> Call:
    call = Call.objects.select_related("campaign").filter(pk=id).first()
    if call is None:
        raise ApiError(404, "No such call.")
    return call


@router.post("/calls", response={201: CallOut, **_ONE, 409: ErrorOut}, auth=write_calls)
def create_call(request: HttpRequest, payload: CallIn) -> Status[dict[str, Any]]:
    segment = Segment.objects.filter(pk=payload.segment).first()
    if segment is None:
        raise field_error("segment", f"No segment with id {payload.segment}.")
    roles = list(VolunteerRole.objects.filter(slug__in=payload.roles, is_open=True))
    if len(roles) != len(set(payload.roles)):
        raise field_error("roles", "Unknown or closed role slug.")
    identities = from_identities()
    try:
        call = svc.create_call(
            user=token_of(request).user,
            title=payload.title,
            text_markdown=payload.text_markdown,
            roles=roles,
            segment=segment,
            subject=payload.subject,
            body_markdown=payload.body_markdown or svc.default_mail_body(),
            purpose=payload.purpose,
            from_address=payload.from_address or (identities[0][1] if identities else ""),
            request=request,
        )
    except InvalidCampaign as exc:
        raise ApiError(
            422, exc.message, details=[{"field": exc.field, "message": exc.message}]
        ) from exc
    except CampaignRefused as exc:
        raise ApiError(409, exc.message, code=exc.code) from exc
    return Status(201, _out(call))


@router.get("/calls/{id}", response={200: CallOut, **_ONE}, auth=read_calls)
def get_call(request: HttpRequest, id: int = Path(..., ge=1, le=MAX_ID)) -> dict[str, Any]:
    return _out(_get(id))


@router.get("/calls/{id}/funnel", response={200: FunnelOut, **_ONE}, auth=read_calls)
def call_funnel(request: HttpRequest, id: int = Path(..., ge=1, le=MAX_ID)) -> dict[str, Any]:
    call = _get(id)
    funnel = svc.call_funnel(call)
    return {
        "id": call.pk,
        "audience": funnel.audience,
        "unit": funnel.unit,
        "totals": funnel.totals,
        "buckets": [
            {"start": b.start, "counts": b.counts, "totals": b.totals} for b in funnel.buckets
        ],
    }
