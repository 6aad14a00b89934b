"""Campaigns over JSON (mounted at /api/v1/): create, read, duplicate, approve, launch, pause,
resume, cancel, status, the operator's re-queue of unknown deliveries, and the saved message
templates (list; save a campaign's message as one). HQ tokens only
(rules.can_manage_campaigns); thin handlers over essaim.mailing.services. Refusals are 409 with
a stable code (`approval_required`, `approval_refused`, `blackout`, `no_audience`, `state`),
invalid drafts and unconfirmed re-queues 422."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Path, Router, Schema, Status

from essaim.api.auth import TokenAuth, token_of
from essaim.api.errors import ApiError, ErrorOut, field_error
from essaim.api.models import Scope
from essaim.lib.numbers import ascii_int
from essaim.mailing import rules
from essaim.mailing.models import Campaign, CampaignTemplate
from essaim.mailing.services import campaigns as svc
from essaim.mailing.services import templates, unknowns
from essaim.mailing.services.progress import campaign_results, delivery_counts
from essaim.people.models import Segment

read_campaigns = TokenAuth(rules.can_manage_campaigns, Scope.READ)
write_campaigns = TokenAuth(rules.can_manage_campaigns, Scope.WRITE)

router = Router(tags=["campaigns"])

MAX_ID = 2**63 - 1
_ERRORS: dict[int, Any] = {code: ErrorOut for code in (401, 403, 429)}
_ONE: dict[int, Any] = {**_ERRORS, 404: ErrorOut, 422: ErrorOut}
_ACT: dict[int, Any] = {**_ONE, 409: ErrorOut}


class CampaignIn(Schema):
    subject: str = Field(min_length=1, max_length=250)
    body_markdown: str = Field(max_length=200_000)
    segment: int | str = Field(description="A segment id, or 'all' (every mailable contact).")
    exclude_segments: list[int] = Field(default_factory=list, max_length=50)
    from_address: str = Field("", description="A configured identity; the first one if empty.")
    name: str = Field("", max_length=200)
    preheader: str = Field("", max_length=250)
    reply_to: str = Field("", max_length=254)
    scheduled_at: datetime | None = None


class CampaignOut(Schema):
    id: int
    name: str
    status: str
    subject: str
    from_email: str
    audience_all: bool
    segment: int | None
    exclude_segments: list[int]
    audience: int | None = Field(description="Rows frozen into the ledger at launch.")
    approved_by: str | None
    scheduled_at: datetime | None
    created_at: datetime


class StatusOut(Schema):
    id: int
    status: str
    audience: int | None
    counts: dict[str, int]
    results: dict[str, int]


class LaunchOut(StatusOut):
    launched: int


def _out(campaign: Campaign) -> dict[str, Any]:
    return {
        "id": campaign.pk,
        "name": campaign.name,
        "status": campaign.status,
        "subject": campaign.subject,
        "from_email": campaign.from_email,
        "audience_all": campaign.audience_all,
        "segment": campaign.segment_id,
        "exclude_segments": sorted(campaign.exclude_segments.values_list("pk", flat=True)),
        "audience": campaign.audience_count,
        "approved_by": campaign.approved_by.email if campaign.approved_by else None,
        "scheduled_at": campaign.scheduled_at,
        "created_at": campaign.created_at,
    }


def _status(campaign: Campaign) -> dict[str, Any]:
    return {
        "id": campaign.pk,
        "status": campaign.status,
        "audience": campaign.audience_count,
        "counts": delivery_counts(campaign),
        "results": campaign_results(campaign),
    }


def _get(id: int) -> Campaign:
    campaign = Campaign.objects.select_related("approved_by").filter(pk=id).first()
    if campaign is None:
        raise ApiError(404, "No such campaign.")
    return campaign


def _refused(exc: Exception) -> ApiError:
    if isinstance(exc, svc.InvalidCampaign):
        return ApiError(422, exc.message, details=[{"field": exc.field, "message": exc.message}])
    if isinstance(exc, svc.CampaignRefused):
        return ApiError(409, exc.message, code=exc.code)
    return ApiError(409, "The campaign is not in a state that allows this.", code="state")


@router.get("/campaigns", response={200: list[CampaignOut], **_ERRORS}, auth=read_campaigns)
def list_campaigns(request: HttpRequest) -> list[dict[str, Any]]:
    campaigns = Campaign.objects.select_related("approved_by").prefetch_related("exclude_segments")[
        :200
    ]
    return [_out(c) for c in campaigns]


@router.post("/campaigns", response={201: CampaignOut, **_ONE}, auth=write_campaigns)
def create_campaign(request: HttpRequest, payload: CampaignIn) -> Status[dict[str, Any]]:
    everyone = payload.segment == "all"
    segment = None
    if not everyone:
        segment_id = ascii_int(str(payload.segment))
        if segment_id is None:
            raise field_error("segment", "A segment id or 'all'.")
        segment = Segment.objects.filter(pk=segment_id).first()
        if segment is None:
            raise field_error("segment", f"No segment with id {payload.segment}.")
    excluded = list(Segment.objects.filter(pk__in=payload.exclude_segments))
    if len(excluded) != len(set(payload.exclude_segments)):
        raise field_error("exclude_segments", "Unknown segment id.")
    identities = svc.from_identities()
    try:
        campaign = svc.save_draft(
            user=token_of(request).user,
            name=payload.name,
            from_address=payload.from_address or (identities[0][1] if identities else ""),
            reply_to=payload.reply_to,
            subject=payload.subject,
            preheader=payload.preheader,
            body_markdown=payload.body_markdown,
            audience_all=everyone,
            segment=segment,
            exclude_segments=excluded,
            scheduled_at=payload.scheduled_at,
        )
    except svc.CampaignRefused as exc:
        raise _refused(exc) from exc
    return Status(201, _out(campaign))


@router.get("/campaigns/{id}", response={200: CampaignOut, **_ONE}, auth=read_campaigns)
def get_campaign(request: HttpRequest, id: int = Path(..., ge=1, le=MAX_ID)) -> dict[str, Any]:
    return _out(_get(id))


@router.post("/campaigns/{id}/duplicate", response={201: CampaignOut, **_ONE}, auth=write_campaigns)
def duplicate_campaign(
    request: HttpRequest, id: int = Path(..., ge=1, le=MAX_ID)
) -> Status[dict[str, Any]]:
    """A new draft with the campaign's message and audience definition: no ledger, no send
    time, no approval. 422 for a message only its own campaign may send (a call's link)."""
    try:
        copy = svc.duplicate_campaign(_get(id), user=token_of(request).user)
    except svc.CampaignRefused as exc:
        raise _refused(exc) from exc
    return Status(201, _out(_get(copy.pk)))


@router.get("/campaigns/{id}/status", response={200: StatusOut, **_ONE}, auth=read_campaigns)
def campaign_status(request: HttpRequest, id: int = Path(..., ge=1, le=MAX_ID)) -> dict[str, Any]:
    return _status(_get(id))


@router.post("/campaigns/{id}/approve", response={200: CampaignOut, **_ACT}, auth=write_campaigns)
def approve_campaign(request: HttpRequest, id: int = Path(..., ge=1, le=MAX_ID)) -> dict[str, Any]:
    campaign = _get(id)
    try:
        svc.approve_campaign(campaign, user=token_of(request).user, request=request)
    except (svc.CampaignRefused, svc.CampaignStateError) as exc:
        raise _refused(exc) from exc
    return _out(_get(id))


@router.post("/campaigns/{id}/launch", response={200: LaunchOut, **_ACT}, auth=write_campaigns)
def launch_campaign(request: HttpRequest, id: int = Path(..., ge=1, le=MAX_ID)) -> dict[str, Any]:
    campaign = _get(id)
    try:
        count = svc.launch_campaign(campaign, user=token_of(request).user, request=request)
    except (svc.CampaignRefused, svc.CampaignStateError) as exc:
        raise _refused(exc) from exc
    return _status(campaign) | {"launched": count}


def _transition(request: HttpRequest, id: int, action: str) -> dict[str, Any]:
    campaign = _get(id)
    user = token_of(request).user
    try:
        if action == "pause":
            svc.pause_campaign(campaign, user=user, request=request)
        elif action == "resume":
            svc.resume_campaign(campaign, user=user, request=request)
        else:
            svc.cancel_campaign(campaign, user=user, request=request)
    except svc.CampaignStateError as exc:
        raise _refused(exc) from exc
    return _status(campaign)


@router.post("/campaigns/{id}/pause", response={200: StatusOut, **_ACT}, auth=write_campaigns)
def pause_campaign(request: HttpRequest, id: int = Path(..., ge=1, le=MAX_ID)) -> dict[str, Any]:
    return _transition(request, id, "pause")


@router.post("/campaigns/{id}/resume", response={200: StatusOut, **_ACT}, auth=write_campaigns)
def resume_campaign(request: HttpRequest, id: int = Path(..., ge=1, le=MAX_ID)) -> dict[str, Any]:
    return _transition(request, id, "resume")


@router.post("/campaigns/{id}/cancel", response={200: StatusOut, **_ACT}, auth=write_campaigns)
def cancel_campaign(request: HttpRequest, id: int = Path(..., ge=1, le=MAX_ID)) -> dict[str, Any]:
    return _transition(request, id, "cancel")


class UnknownRowOut(Schema):
    id: int
    email: str
    provider: str
    attempts: int
    reason: str = Field(description="after_dot, lease or other.")
    reply: str
    last_change_at: datetime


class UnknownsOut(Schema):
    total: int
    by_reason: dict[str, int]
    rows: list[UnknownRowOut] = Field(description=f"The first {unknowns.MAX_LISTED}, by id.")


class RequeueIn(Schema):
    ids: list[int] | None = Field(
        None, max_length=10_000, description="Rows to re-queue; null with all=true for every one."
    )
    all: bool = False
    confirm: bool = Field(
        False, description="True once you checked that these messages did not leave."
    )


class RequeueOut(StatusOut):
    requeued: int


@router.get("/campaigns/{id}/unknown", response={200: UnknownsOut, **_ONE}, auth=read_campaigns)
def list_unknown(request: HttpRequest, id: int = Path(..., ge=1, le=MAX_ID)) -> dict[str, Any]:
    found = unknowns.list_unknown(_get(id))
    return {
        "total": found.total,
        "by_reason": found.by_reason,
        "rows": [vars(row) for row in found.rows],
    }


@router.post(
    "/campaigns/{id}/requeue-unknown", response={200: RequeueOut, **_ACT}, auth=write_campaigns
)
def requeue_unknown(
    request: HttpRequest, payload: RequeueIn, id: int = Path(..., ge=1, le=MAX_ID)
) -> dict[str, Any]:
    """Re-queue unknown deliveries (see essaim.mailing.services.unknowns); `confirm` must be
    true, and either `ids` or `all`. Logged in the audit log with the token's user."""
    campaign = _get(id)
    if payload.all == (payload.ids is not None):
        raise field_error("ids", "Give either ids or all=true.")
    try:
        count = unknowns.requeue_unknown(
            campaign,
            user=token_of(request).user,
            ids=None if payload.all else payload.ids,
            confirmed=payload.confirm,
            request=request,
        )
    except unknowns.RequeueRefused as exc:
        raise ApiError(
            422, exc.message, details=[{"field": "confirm", "message": exc.message}]
        ) from exc
    except (svc.CampaignRefused, svc.CampaignStateError) as exc:
        raise _refused(exc) from exc
    return _status(campaign) | {"requeued": count}


# --- Saved message templates ----------------------------------------------------------------


class TemplateIn(Schema):
    campaign: int = Field(ge=1, le=MAX_ID, description="The campaign whose message is saved.")
    name: str = Field(min_length=1, max_length=templates.NAME_MAX)


class TemplateOut(Schema):
    id: int
    name: str
    subject: str
    preheader: str
    body_markdown: str
    created_by: str | None
    created_at: datetime


def _template_out(template: CampaignTemplate) -> dict[str, Any]:
    return {
        "id": template.pk,
        "name": template.name,
        "subject": template.subject,
        "preheader": template.preheader,
        "body_markdown": template.body_markdown,
        "created_by": template.created_by.email if template.created_by else None,
        "created_at": template.created_at,
    }


@router.get(
    "/campaign-templates", response={200: list[TemplateOut], **_ERRORS}, auth=read_campaigns
)
def list_templates(request: HttpRequest) -> list[dict[str, Any]]:
    """Saved messages, by name; a new campaign from one is a POST /campaigns with its text."""
    return [_template_out(t) for t in CampaignTemplate.objects.select_related("created_by")]


@router.post("/campaign-templates", response={201: TemplateOut, **_ONE}, auth=write_campaigns)
def create_template(request: HttpRequest, payload: TemplateIn) -> Status[dict[str, Any]]:
    """Save a campaign's message (subject, preview text, body) under a name, unique."""
    campaign = Campaign.objects.filter(pk=payload.campaign).first()
    if campaign is None:
        raise field_error("campaign", f"No campaign with id {payload.campaign}.")
    try:
        template = templates.save_template(
            campaign=campaign, name=payload.name, user=token_of(request).user
        )
    except svc.CampaignRefused as exc:
        raise _refused(exc) from exc
    return Status(201, _template_out(template))
