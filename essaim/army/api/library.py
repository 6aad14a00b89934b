"""The talking points library, closing missions and mission kits over JSON (mounted at
/api/v1/). Thin handlers over essaim.army.services (talking_points, missions, kits); who may do
what is essaim.army.rules.missions. An entry, mission or file the token's user may not reach is a
404; a refused action is a 409 with the sentence the pages show."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import HttpRequest
from ninja import Field, Path, Query, Router, Schema, Status

from essaim.accounts.models import Team
from essaim.api.auth import TokenAuth, token_of
from essaim.api.errors import ApiError, ErrorOut
from essaim.api.models import Scope
from essaim.api.uploads import base64_file_field, decode_file
from essaim.army.models import KitFile, Mission, TalkingPoint
from essaim.army.rules import missions as rules
from essaim.army.services import missions as svc
from essaim.army.services import talking_points as tp
from essaim.army.services.kits import MAX_KIT_FILE_BYTES, add_kit_file, delete_kit_file

read_runner = TokenAuth(rules.can_review, Scope.READ)
write_runner = TokenAuth(rules.can_review, Scope.WRITE)

router = Router(tags=["missions"])

MAX_ID = 2**63 - 1
MAX_PAGE = 200
_ERRORS: dict[int, Any] = {code: ErrorOut for code in (401, 403, 429)}
_ONE: dict[int, Any] = {**_ERRORS, 404: ErrorOut, 422: ErrorOut}
_ACT: dict[int, Any] = {**_ONE, 409: ErrorOut}


class VersionOut(Schema):
    id: int
    number: int
    body: str
    created_at: datetime


class TalkingPointOut(Schema):
    id: int
    title: str
    tags: list[str]
    team: int | None
    retired_at: datetime | None
    latest_version: int | None
    missions: int = Field(description="Published missions pointing at one of its versions.")
    accepted_proofs: int


class TalkingPointDetailOut(TalkingPointOut):
    versions: list[VersionOut]


class TalkingPointPage(Schema):
    items: list[TalkingPointOut]
    next_cursor: int | None = Field(description="Pass as ?after= for the next page.")


class TalkingPointIn(Schema):
    title: str = Field(min_length=1, max_length=tp.MAX_TITLE)
    body: str = Field(min_length=1, max_length=tp.MAX_BODY)
    tags: list[str] = Field(default_factory=list, max_length=tp.MAX_TAGS)
    team: int | None = Field(None, description="None: a national entry (HQ only).")


class VersionIn(Schema):
    body: str = Field(min_length=1, max_length=tp.MAX_BODY)
    tags: list[str] | None = Field(None, max_length=tp.MAX_TAGS)


class LibraryFilter(Schema):
    tag: str = Field("", max_length=tp.MAX_TAG_LENGTH)
    include_retired: bool = False
    after: int | None = Field(None, ge=1, le=MAX_ID)
    limit: int = Field(50, ge=1, le=MAX_PAGE)


class ClosingOut(Schema):
    id: int
    status: str
    released: int = Field(description="Claims not yet proved, released; volunteers notified.")
    awaiting_review: int = Field(description="Proofs sent: still reviewed and credited.")


class KitIn(Schema):
    target_sites: list[str] = Field(default_factory=list, max_length=svc.MAX_KIT_URLS)
    video_links: list[str] = Field(default_factory=list, max_length=svc.MAX_KIT_URLS)
    embed_codes: list[str] = Field(default_factory=list, max_length=svc.MAX_EMBED_CODES)


class KitFileOut(Schema):
    id: int
    name: str
    kind: str
    content_type: str
    size: int
    url: str = Field(description="Download URL (a logged-in page; served as an attachment).")


class KitOut(Schema):
    target_sites: list[str]
    video_links: list[str]
    embed_codes: list[str]
    files: list[KitFileOut]


class KitFileIn(Schema):
    name: str = Field("fichier", max_length=200)
    # The limit the server applies (essaim.api.uploads), not only the web form's.
    content_base64: str = base64_file_field(
        MAX_KIT_FILE_BYTES,
        description="An image (PNG, JPEG, WebP, GIF: re-encoded without metadata), a video "
        "(MP4, WebM, Ogg) or a PDF, base64-encoded; the type is read from the content.",
    )


def _point_out(p: TalkingPoint) -> dict[str, Any]:
    return {
        "id": p.pk,
        "title": p.title,
        "tags": p.tags,
        "team": p.team_id,
        "retired_at": p.retired_at,
        "latest_version": p.latest_number,  # type: ignore[attr-defined]
        "missions": p.missions_count,  # type: ignore[attr-defined]
        "accepted_proofs": p.accepted_count,  # type: ignore[attr-defined]
    }


def _refused(exc: svc.MissionError) -> ApiError:
    return ApiError(409, str(exc.message), code="refused")


def _scope(request: HttpRequest) -> set[int] | None:
    return rules.library_scope(token_of(request).user)


def _visible_point(request: HttpRequest, id: int) -> TalkingPoint:
    point = tp.library(teams=_scope(request), include_retired=True).filter(pk=id).first()
    if point is None:
        raise ApiError(404)
    return point


def _point_detail(point: TalkingPoint) -> dict[str, Any]:
    versions = point.versions.order_by("-number")
    return {
        **_point_out(point),
        "versions": [
            {"id": v.pk, "number": v.number, "body": v.body, "created_at": v.created_at}
            for v in versions
        ],
    }


# --- Talking points -----------------------------------------------------------------------------


@router.get("/talking-points", response={200: TalkingPointPage, **_ERRORS}, auth=read_runner)
def list_talking_points(request: HttpRequest, filters: Query[LibraryFilter]) -> dict[str, Any]:
    """The library's entries the token's user sees (national, and their teams'), newest first,
    by keyset pages: `next_cursor` goes to `?after=`."""
    qs = tp.library(
        teams=_scope(request), tag=filters.tag, include_retired=filters.include_retired
    ).order_by("-pk")
    if filters.after is not None:
        qs = qs.filter(pk__lt=filters.after)
    rows = list(qs[: filters.limit + 1])
    more = len(rows) > filters.limit
    rows = rows[: filters.limit]
    return {
        "items": [_point_out(p) for p in rows],
        "next_cursor": rows[-1].pk if more and rows else None,
    }


@router.get("/talking-points/{id}", response={200: TalkingPointDetailOut, **_ONE}, auth=read_runner)
def get_talking_point(request: HttpRequest, id: int = Path(..., ge=1, le=MAX_ID)) -> Any:
    return _point_detail(_visible_point(request, id))


@router.post("/talking-points", response={201: TalkingPointDetailOut, **_ACT}, auth=write_runner)
def create_talking_point(request: HttpRequest, payload: TalkingPointIn) -> Any:
    user = token_of(request).user
    if not rules.can_write_talking_point(user, payload.team):
        raise ApiError(403, "This token's user may not write talking points for this team.")
    team = Team.objects.filter(pk=payload.team).first() if payload.team else None
    try:
        point = tp.add_talking_point(
            title=payload.title, body=payload.body, tags=payload.tags, team=team, by=user
        )
    except svc.MissionError as exc:
        raise _refused(exc) from exc
    return Status(201, _point_detail(_visible_point(request, point.pk)))


@router.post(
    "/talking-points/{id}/versions",
    response={201: TalkingPointDetailOut, **_ACT},
    auth=write_runner,
)
def publish_talking_point_version(
    request: HttpRequest, payload: VersionIn, id: int = Path(..., ge=1, le=MAX_ID)
) -> Any:
    """A new version; missions keep the version they point at."""
    point = _visible_point(request, id)
    user = token_of(request).user
    if not rules.can_edit_talking_point(user, point):
        raise ApiError(404)
    try:
        tp.revise_talking_point(point=point, body=payload.body, tags=payload.tags, by=user)
    except svc.MissionError as exc:
        raise _refused(exc) from exc
    return Status(201, _point_detail(_visible_point(request, id)))


@router.post(
    "/talking-points/{id}/retire", response={200: TalkingPointDetailOut, **_ACT}, auth=write_runner
)
def retire_talking_point(request: HttpRequest, id: int = Path(..., ge=1, le=MAX_ID)) -> Any:
    """Retire an outdated entry: no new mission may use it; missions that do show it outdated."""
    point = _visible_point(request, id)
    if not rules.can_edit_talking_point(token_of(request).user, point):
        raise ApiError(404)
    if not tp.retire_talking_point(point=point):
        raise ApiError(409, "This talking point is already retired.", code="refused")
    return _point_detail(_visible_point(request, id))


# --- Closing and kits ---------------------------------------------------------------------------


def _run_mission(request: HttpRequest, id: int) -> Mission:
    mission = Mission.objects.filter(pk=id).first()
    if mission is None or not rules.can_run_mission(token_of(request).user, mission):
        raise ApiError(404)
    return mission


def _file_out(item: KitFile) -> dict[str, Any]:
    from django.urls import reverse

    return {
        "id": item.pk,
        "name": item.name,
        "kind": item.kind,
        "content_type": item.content_type,
        "size": item.size,
        "url": reverse("army:kit_file", args=[item.pk]),
    }


def _kit_out(mission: Mission) -> dict[str, Any]:
    return {
        "target_sites": mission.target_sites,
        "video_links": mission.video_links,
        "embed_codes": mission.embed_codes,
        "files": [_file_out(f) for f in mission.files.all()],
    }


@router.post("/missions/{id}/close", response={200: ClosingOut, **_ACT}, auth=write_runner)
def close_mission(request: HttpRequest, id: int = Path(..., ge=1, le=MAX_ID)) -> dict[str, Any]:
    """No new claims from now on. Claims not yet proved are released (their volunteers are
    notified); proofs already sent stay in the review queue."""
    mission = _run_mission(request, id)
    try:
        closing = svc.close_mission(mission=mission)
    except svc.MissionError as exc:
        raise _refused(exc) from exc
    return {
        "id": mission.pk,
        "status": mission.status,
        "released": closing.released,
        "awaiting_review": closing.awaiting_review,
    }


@router.get("/missions/{id}/kit", response={200: KitOut, **_ONE}, auth=read_runner)
def get_kit(request: HttpRequest, id: int = Path(..., ge=1, le=MAX_ID)) -> dict[str, Any]:
    return _kit_out(_run_mission(request, id))


@router.put("/missions/{id}/kit", response={200: KitOut, **_ACT}, auth=write_runner)
def update_kit(
    request: HttpRequest, payload: KitIn, id: int = Path(..., ge=1, le=MAX_ID)
) -> dict[str, Any]:
    """Replace the target sites, video links (http/https only) and embed codes (kept as text,
    shown escaped)."""
    mission = _run_mission(request, id)
    try:
        svc.update_kit(
            mission=mission,
            target_sites=payload.target_sites,
            video_links=payload.video_links,
            embed_codes=payload.embed_codes,
        )
    except svc.MissionError as exc:
        raise _refused(exc) from exc
    return _kit_out(mission)


@router.post(
    "/missions/{id}/kit/files",
    response={201: KitFileOut, **_ACT},
    auth=write_runner,
)
def upload_kit_file(
    request: HttpRequest, payload: KitFileIn, id: int = Path(..., ge=1, le=MAX_ID)
) -> Any:
    mission = _run_mission(request, id)
    data = decode_file("content_base64", payload.content_base64, service_limit=MAX_KIT_FILE_BYTES)
    try:
        item = add_kit_file(
            mission=mission,
            upload=SimpleUploadedFile(payload.name, data),
            by=token_of(request).user,
        )
    except svc.MissionError as exc:
        raise _refused(exc) from exc
    return Status(201, _file_out(item))


@router.delete(
    "/missions/{id}/kit/files/{file_id}", response={204: None, **_ACT}, auth=write_runner
)
def delete_kit_file_api(
    request: HttpRequest,
    id: int = Path(..., ge=1, le=MAX_ID),
    file_id: int = Path(..., ge=1, le=MAX_ID),
) -> Any:
    mission = _run_mission(request, id)
    item = KitFile.objects.filter(pk=file_id, mission=mission).first()
    if item is None:
        raise ApiError(404)
    delete_kit_file(item=item)
    return Status(204, None)
