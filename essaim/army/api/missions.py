"""Missions over JSON (mounted at /api/v1/): the volunteer's offers, claims and proofs; the
runners' (HQ, team coordinators) missions, publication and review. Thin handlers over
essaim.army.services; who may do what is essaim.army.rules.missions. A mission or claim the
token's user may not reach is a 404 (ids reveal nothing); a refused action is a 409 with the
same sentence the pages show, except reviewing one's own proof: a 403 (`self_review`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Exists, F, OuterRef
from django.http import HttpRequest, HttpResponse
from ninja import Field, Path, Query, Router, Schema, Status

from essaim.accounts.models import Team
from essaim.api.auth import TokenAuth, token_of
from essaim.api.errors import ApiError, ErrorOut, field_error
from essaim.api.models import Scope
from essaim.api.uploads import base64_file_field, decode_file
from essaim.army.models import (
    OWN_NAME_REMINDER,
    Claim,
    Mission,
    MissionKind,
    Stage,
    TalkingPointVersion,
    Volunteer,
    VolunteerRole,
)
from essaim.army.rules import missions as rules
from essaim.army.services import missions as svc
from essaim.army.services.proofs import (
    MAX_NOTE,
    MAX_SCREENSHOT_BYTES,
    MAX_URL_LENGTH,
    MAX_URLS,
    clean_urls,
    submit_proof,
)
from essaim.lib.pagination import time_keyset


def _is_volunteer(user: Any) -> bool:
    return rules.volunteer_of(user) is not None


read_mine = TokenAuth(_is_volunteer, Scope.READ)
write_mine = TokenAuth(_is_volunteer, Scope.WRITE)
read_runner = TokenAuth(rules.can_review, Scope.READ)
write_runner = TokenAuth(rules.can_review, Scope.WRITE)

router = Router(tags=["missions"])

MAX_ID = 2**63 - 1
_ERRORS: dict[int, Any] = {code: ErrorOut for code in (401, 403, 429)}
_ONE: dict[int, Any] = {**_ERRORS, 404: ErrorOut, 422: ErrorOut}
_ACT: dict[int, Any] = {**_ONE, 409: ErrorOut}


class MissionOut(Schema):
    id: int
    kind: str
    title: str
    brief: str
    role: str
    team: int | None
    status: str
    quota: int
    slots_left: int
    points: int
    deadline: datetime
    kit_files: list[str]
    video_links: list[str]
    embed_codes: list[str]
    target_sites: list[str]
    watch_channels: list[str]
    watch_slots: list[str]
    talking_point: str | None = Field(description="Material for one's own words, not to paste.")
    reminder: str


class MissionIn(Schema):
    kind: MissionKind
    title: str = Field(min_length=1, max_length=200)
    brief: str = Field(min_length=1, max_length=20_000)
    role: str = Field(description="A volunteer role's slug (tchatcheur, traceur…).")
    team: int | None = Field(None, description="None: a national mission (HQ only).")
    quota: int = Field(ge=1, le=100_000)
    deadline: datetime
    stages: list[Stage] = Field(default_factory=lambda: [Stage.ACTIVE], max_length=4)
    departements: list[str] = Field(default_factory=list, max_length=200)
    regions: list[str] = Field(default_factory=list, max_length=20)
    windows: int = Field(0, ge=0, le=(1 << 21) - 1)
    points: int = Field(10, ge=0, le=1000)
    per_volunteer_minutes: int = Field(30, ge=1, le=1440)
    talking_point_version: int | None = None
    kit_files: list[str] = Field(default_factory=list, max_length=50)
    video_links: list[str] = Field(default_factory=list, max_length=50)
    embed_codes: list[str] = Field(default_factory=list, max_length=20)
    target_sites: list[str] = Field(default_factory=list, max_length=100)
    watch_channels: list[str] = Field(default_factory=list, max_length=100)
    watch_slots: list[str] = Field(default_factory=list, max_length=50)


class ClaimOut(Schema):
    id: int
    mission: int
    volunteer: int
    status: str
    feedback: str
    points: int
    claimed_at: datetime
    submitted_at: datetime | None


class ProofIn(Schema):
    urls: list[Annotated[str, Field(max_length=MAX_URL_LENGTH)]] = Field(
        default_factory=list, max_length=MAX_URLS
    )
    note: str = Field("", max_length=MAX_NOTE)
    # The limit the server applies (essaim.api.uploads), not only the web form's.
    screenshot_base64: str | None = base64_file_field(
        MAX_SCREENSHOT_BYTES,
        default=None,
        description="A PNG, JPEG, WebP or GIF image, base64-encoded; re-encoded without metadata.",
    )
    pick: str = Field(
        "",
        max_length=40,
        description="One of your things that proves this kind of mission, its address joining "
        "the links: for a `trace` mission, the id of one of your submissions to the watch.",
    )


class ReturnIn(Schema):
    feedback: str = Field(min_length=1, max_length=4000)


class PublishOut(Schema):
    id: int
    notified: int
    status: str = Field(
        description="published; or awaiting when the mission's points pass MISSION_MAX_POINTS: "
        "nobody sees it until an HQ member other than its author approves it."
    )


def _mission_out(m: Mission) -> dict[str, Any]:
    tp = m.talking_point
    return {
        "id": m.pk,
        "kind": m.kind,
        "title": m.title,
        "brief": m.brief,
        "role": m.role.slug,
        "team": m.team_id,
        "status": m.status,
        "quota": m.quota,
        "slots_left": m.slots_left,
        "points": m.points,
        "deadline": m.deadline,
        "kit_files": m.kit_files,
        "video_links": m.video_links,
        "embed_codes": m.embed_codes,
        "target_sites": m.target_sites,
        "watch_channels": m.watch_channels,
        "watch_slots": m.watch_slots,
        "talking_point": tp.body if tp else None,
        "reminder": str(OWN_NAME_REMINDER),
    }


def _claim_out(c: Claim) -> dict[str, Any]:
    return {
        "id": c.pk,
        "mission": c.mission_id,
        "volunteer": c.volunteer_id,
        "status": c.status,
        "feedback": c.feedback,
        "points": c.points,
        "claimed_at": c.claimed_at,
        "submitted_at": c.submitted_at,
    }


def _refused(exc: svc.MissionError) -> ApiError:
    if isinstance(exc, svc.SelfReview):
        # Not a state conflict: this user may never review this proof.
        return ApiError(403, str(exc.message), code="self_review")
    return ApiError(409, str(exc.message), code="refused")


def _me(request: HttpRequest) -> Volunteer:
    volunteer = rules.volunteer_of(token_of(request).user)
    if volunteer is None:  # the auth predicate already asked; kept for type checkers
        raise ApiError(403)
    return volunteer


_MISSIONS = Mission.objects.select_related("role", "talking_point")


# --- The volunteer's side -----------------------------------------------------------------------


OFFERS_PAGE = 50


@router.get("/missions/offered", response={200: list[MissionOut], **_ERRORS}, auth=read_mine)
def offered_missions(
    request: HttpRequest,
    response: HttpResponse,
    after: str = Query("", max_length=40, description="The previous page's X-Next-Cursor."),
) -> list[dict[str, Any]]:
    """Open missions targeted at the token's volunteer that they have not taken, soonest
    deadline first, OFFERS_PAGE a page. When there are more, the `X-Next-Cursor` header holds
    the cursor to pass as `?after=` (a keyset: one query whatever the page)."""
    volunteer = _me(request)
    mine = Claim.objects.filter(mission=OuterRef("pk"), volunteer=volunteer)
    offers = (
        svc.eligible_missions(svc.facts_of(volunteer))
        .filter(~Exists(mine), slots_taken__lt=F("quota"))
        .select_related("role", "talking_point")
    )
    page, next_cursor = time_keyset(offers, "deadline", after, OFFERS_PAGE)
    if next_cursor is not None:
        response["X-Next-Cursor"] = next_cursor
    return [_mission_out(m) for m in page]


@router.post("/missions/{id}/claim", response={201: ClaimOut, **_ACT}, auth=write_mine)
def claim_mission(request: HttpRequest, id: int = Path(..., ge=1, le=MAX_ID)) -> Any:
    try:
        claim = svc.claim_mission(volunteer=_me(request), mission_id=id)
    except Mission.DoesNotExist:
        raise ApiError(404) from None
    except svc.MissionError as exc:
        raise _refused(exc) from exc
    return Status(201, _claim_out(claim))


@router.get("/claims", response={200: list[ClaimOut], **_ERRORS}, auth=read_mine)
def my_claims(request: HttpRequest) -> list[dict[str, Any]]:
    claims = Claim.objects.filter(volunteer=_me(request)).order_by("-claimed_at", "-pk")[:200]
    return [_claim_out(c) for c in claims]


def _own_claim(request: HttpRequest, id: int) -> Claim:
    claim = Claim.objects.filter(pk=id, volunteer=_me(request)).first()
    if claim is None:
        raise ApiError(404)
    return claim


@router.post("/claims/{id}/proof", response={200: ClaimOut, **_ACT}, auth=write_mine)
def prove_claim(
    request: HttpRequest, payload: ProofIn, id: int = Path(..., ge=1, le=MAX_ID)
) -> dict[str, Any]:
    claim = _own_claim(request, id)
    upload = None
    if payload.screenshot_base64:
        data = decode_file(
            "screenshot_base64", payload.screenshot_base64, service_limit=MAX_SCREENSHOT_BYTES
        )
        upload = SimpleUploadedFile("capture", data)
    try:
        submit_proof(
            claim=claim,
            urls=payload.urls,
            note=payload.note,
            screenshot=upload,
            pick=payload.pick,
        )
    except svc.MissionError as exc:
        raise _refused(exc) from exc
    claim.refresh_from_db()
    return _claim_out(claim)


@router.post("/claims/{id}/release", response={200: ClaimOut, **_ACT}, auth=write_mine)
def release_claim(request: HttpRequest, id: int = Path(..., ge=1, le=MAX_ID)) -> dict[str, Any]:
    claim = _own_claim(request, id)
    try:
        svc.release_claim(claim=claim)
    except svc.MissionError as exc:
        raise _refused(exc) from exc
    claim.refresh_from_db()
    return _claim_out(claim)


# --- The runners' side (HQ, team coordinators) --------------------------------------------------


def _scoped_missions(request: HttpRequest) -> Any:
    scope = rules.review_scope(token_of(request).user)
    qs = _MISSIONS.all()
    return qs if scope is None else qs.filter(team_id__in=scope)


@router.get("/missions", response={200: list[MissionOut], **_ERRORS}, auth=read_runner)
def list_missions(request: HttpRequest) -> list[dict[str, Any]]:
    """The missions the token's user runs: all for HQ, their teams' for a coordinator."""
    return [_mission_out(m) for m in _scoped_missions(request).order_by("-pk")[:200]]


@router.get("/missions/{id}", response={200: MissionOut, **_ONE}, auth=read_runner)
def get_mission(request: HttpRequest, id: int = Path(..., ge=1, le=MAX_ID)) -> dict[str, Any]:
    mission = _scoped_missions(request).filter(pk=id).first()
    if mission is None:
        raise ApiError(404)
    return _mission_out(mission)


@router.post("/missions", response={201: MissionOut, **_ACT}, auth=write_runner)
def create_mission(request: HttpRequest, payload: MissionIn) -> Any:
    user = token_of(request).user
    if not rules.can_create_mission(user, payload.team):
        raise ApiError(403, "This token's user may not create a mission for this team.")
    role = VolunteerRole.objects.filter(slug=payload.role).first()
    if role is None:
        raise field_error("role", "No such role.")
    team = Team.objects.filter(pk=payload.team).first() if payload.team else None
    version = None
    if payload.talking_point_version is not None:
        version = TalkingPointVersion.objects.filter(pk=payload.talking_point_version).first()
        if version is None:
            raise field_error("talking_point_version", "No such talking point version.")
    kit: dict[str, Any] = {}
    for name in ("kit_files", "video_links", "target_sites"):
        try:
            kit[name] = clean_urls(getattr(payload, name))
        except svc.MissionError as exc:
            raise field_error(name, str(exc.message)) from exc
    for name in ("embed_codes", "watch_channels", "watch_slots"):
        kit[name] = [str(v)[:2000] for v in getattr(payload, name)]
    try:
        mission = svc.create_mission(
            by=user,
            kind=payload.kind,
            title=payload.title,
            brief=payload.brief,
            role=role,
            quota=payload.quota,
            deadline=payload.deadline,
            team=team,
            targeting=svc.Targeting(
                stages=[str(s) for s in payload.stages],
                departements=[d[:3] for d in payload.departements],
                regions=[r[:3] for r in payload.regions],
                windows=payload.windows,
            ),
            talking_point=version,
            points=payload.points,
            per_volunteer_minutes=payload.per_volunteer_minutes,
            **kit,
        )
    except svc.MissionError as exc:
        raise _refused(exc) from exc
    return Status(201, _mission_out(_MISSIONS.get(pk=mission.pk)))


@router.post("/missions/{id}/publish", response={200: PublishOut, **_ACT}, auth=write_runner)
def publish_mission(request: HttpRequest, id: int = Path(..., ge=1, le=MAX_ID)) -> dict[str, Any]:
    mission = _scoped_missions(request).filter(pk=id).first()
    if mission is None:
        raise ApiError(404)
    try:
        notified = svc.publish_mission(mission=mission, by=token_of(request).user)
    except svc.MissionError as exc:
        raise _refused(exc) from exc
    return {"id": mission.pk, "notified": notified, "status": mission.status}


@router.get("/review-queue", response={200: list[ClaimOut], **_ERRORS}, auth=read_runner)
def review_queue(request: HttpRequest) -> list[dict[str, Any]]:
    scope = rules.review_scope(token_of(request).user)
    return [_claim_out(c) for c in svc.review_queue(teams=scope)[:200]]


def _reviewable(request: HttpRequest, id: int) -> Claim:
    claim = Claim.objects.select_related("mission").filter(pk=id).first()
    if claim is None or not rules.can_review_claim(token_of(request).user, claim):
        raise ApiError(404)
    return claim


@router.post("/claims/{id}/accept", response={200: ClaimOut, **_ACT}, auth=write_runner)
def accept_claim(request: HttpRequest, id: int = Path(..., ge=1, le=MAX_ID)) -> dict[str, Any]:
    claim = _reviewable(request, id)
    try:
        svc.accept_claim(claim=claim, by=token_of(request).user)
    except svc.MissionError as exc:
        raise _refused(exc) from exc
    return _claim_out(claim)


@router.post("/claims/{id}/return", response={200: ClaimOut, **_ACT}, auth=write_runner)
def return_claim(
    request: HttpRequest, payload: ReturnIn, id: int = Path(..., ge=1, le=MAX_ID)
) -> dict[str, Any]:
    claim = _reviewable(request, id)
    try:
        svc.return_claim(claim=claim, by=token_of(request).user, feedback=payload.feedback)
    except svc.MissionError as exc:
        raise _refused(exc) from exc
    return _claim_out(claim)
