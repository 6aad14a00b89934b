"""The tracers' submissions over JSON (mounted at /api/v1/): a tracer reports a page and
reads their own reports; veilleurs, coordinators and HQ review them as the rules say, the
tracer named only to those allowed. Thin handlers over essaim.watch.services.submissions; a
refused submission is 422 with its code (`bad_url`, `bad_time_code`…), a flood 429 with
Retry-After."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import HttpRequest
from ninja import Field, Path, Query, Router, Schema, Status

from essaim.api.auth import TokenAuth, token_of
from essaim.api.errors import ApiError, ErrorOut
from essaim.api.models import Scope
from essaim.api.uploads import base64_file_field, decode_file
from essaim.army.models import Volunteer
from essaim.army.services.proofs import MAX_SCREENSHOT_BYTES
from essaim.lib.pagination import api_page
from essaim.watch import rules
from essaim.watch.api.common import MAX_ID, MAX_PAGE, ONE
from essaim.watch.models import Submission
from essaim.watch.services import submissions as subs

read_tracer = TokenAuth(rules.can_submit, Scope.READ)
write_tracer = TokenAuth(rules.can_submit, Scope.WRITE)
read_review = TokenAuth(rules.can_review_submissions, Scope.READ)
write_review = TokenAuth(rules.can_review_submissions, Scope.WRITE)

router = Router(tags=["watch"])


class SubmissionIn(Schema):
    url: str = Field(max_length=2000, description="The page seen (http or https).")
    time_code: str = Field(
        "", max_length=12, description="Where in a video or podcast: mm:ss or hh:mm:ss."
    )
    note: str = Field("", max_length=subs.NOTE_MAX)
    urgency: Submission.Urgency = Submission.Urgency.NORMAL
    screenshot_base64: str | None = base64_file_field(
        MAX_SCREENSHOT_BYTES,
        default=None,
        description="A PNG, JPEG, WebP or GIF image, base64-encoded; re-encoded without metadata.",
    )


class SubmissionOut(Schema):
    id: int
    url: str
    title: str = Field(description="The page's title, once read (else empty).")
    time_code: int | None = Field(description="Seconds from the start.")
    note: str
    urgency: str
    state: str = Field(description="new, merged (already in the watch), accepted or rejected.")
    reason: str = Field(description="Why it was rejected.")
    echo: int = Field(description="Its rank among the reports of the page, 1 for the first.")
    fetch_state: str = Field(description="pending, done, failed or known (read by the watch).")
    fetch_error: str
    item: int
    created_at: datetime
    reviewed_at: datetime | None


class SubmittedOut(SubmissionOut):
    created: bool = Field(description="False: you had submitted this page already.")
    known: bool = Field(description="The watch had the page before this submission.")
    answer: str = Field(description="The answer in words.")


class ReviewedSubmissionOut(SubmissionOut):
    tracer: int | None = Field(
        description="The tracer's user id, for HQ and the coordinators of their teams only."
    )


class SubmissionPage(Schema):
    items: list[SubmissionOut]
    next: int | None = Field(description="Pass as ?after= for the next page; null on the last.")


class ReviewPage(Schema):
    items: list[ReviewedSubmissionOut]
    next: int | None = Field(description="Pass as ?after= for the next page; null on the last.")


class ReviewIn(Schema):
    decision: Literal["accept", "reject"]
    reason: str = Field("", max_length=subs.REASON_MAX, description="Required to reject.")


def _submission(row: Submission) -> dict[str, Any]:
    return {
        "id": row.pk,
        "url": row.url,
        "title": row.item.title,
        "time_code": row.time_code,
        "note": row.note,
        "urgency": row.urgency,
        "state": row.state,
        "reason": row.reason,
        "echo": row.echo,
        "fetch_state": row.fetch_state,
        "fetch_error": row.fetch_error,
        "item": row.item_id,
        "created_at": row.created_at,
        "reviewed_at": row.reviewed_at,
    }


def _refused_submission(exc: subs.SubmissionRefused) -> ApiError:
    if exc.code == "flood":
        return ApiError(
            429, exc.message, code="flood", headers={"Retry-After": str(exc.retry_after)}
        )
    if exc.code == "not_open":
        return ApiError(409, exc.message, code=exc.code)
    details = [{"field": exc.field, "message": exc.message}] if exc.field else None
    return ApiError(422, exc.message, code=exc.code, details=details)


@router.post(
    "/watch/submissions",
    response={200: SubmittedOut, 201: SubmittedOut, **ONE, 409: ErrorOut},
    auth=write_tracer,
)
def submit_link(request: HttpRequest, payload: SubmissionIn) -> Status[dict[str, Any]]:
    """Report a page (201), or get back your earlier report of the same page (200). The answer
    says at once whether the watch had it, and which echo of it this is."""
    volunteer = Volunteer.objects.get(pk=token_of(request).user.pk)
    upload = None
    if payload.screenshot_base64:
        data = decode_file(
            "screenshot_base64", payload.screenshot_base64, service_limit=MAX_SCREENSHOT_BYTES
        )
        upload = SimpleUploadedFile("capture", data)
    try:
        submitted = subs.submit(
            volunteer=volunteer,
            url=payload.url,
            time_code=payload.time_code,
            note=payload.note,
            urgency=payload.urgency,
            screenshot=upload,
        )
    except subs.SubmissionRefused as exc:
        raise _refused_submission(exc) from exc
    row = Submission.objects.select_related("item").get(pk=submitted.submission.pk)
    body = _submission(row) | {
        "created": submitted.created,
        "known": submitted.known,
        "answer": submitted.answer,
    }
    return Status(201 if submitted.created else 200, body)


@router.get("/watch/submissions", response={200: SubmissionPage, **ONE}, auth=read_tracer)
def my_submissions(
    request: HttpRequest,
    after: int | None = Query(None, ge=1, le=MAX_ID, description="The `next` of the last page."),
    limit: int = Query(settings.API_PAGE_SIZE, ge=1, le=MAX_PAGE),
) -> dict[str, Any]:
    """Your own submissions, newest first, with their fate."""
    rows = Submission.objects.filter(volunteer_id=token_of(request).user.pk).select_related("item")
    return api_page(rows, after=after, limit=limit, item=_submission)


def _reviewed(user: Any, row: Submission, shown: bool) -> dict[str, Any]:
    return _submission(row) | {"tracer": row.volunteer_id if shown else None}


@router.get("/watch/reviews", response={200: ReviewPage, **ONE}, auth=read_review)
def submission_queue(
    request: HttpRequest,
    state: Literal["open", "accepted", "rejected"] = Query("open"),
    after: int | None = Query(None, ge=1, le=MAX_ID, description="The `next` of the last page."),
    limit: int = Query(settings.API_PAGE_SIZE, ge=1, le=MAX_PAGE),
) -> dict[str, Any]:
    """The submissions you may review (open ones by default), newest first. The tracer is
    named to HQ and to the coordinators of their teams only."""
    user = token_of(request).user
    rows = rules.reviewable(user, Submission.objects.select_related("item"))
    if state == "open":
        rows = rows.filter(state__in=(Submission.State.NEW, Submission.State.MERGED))
    else:
        rows = rows.filter(state=state)
    visible = rules.identity_visible(user)
    if not isinstance(visible, bool):
        rows = rows.annotate(_identity=visible)  # type: ignore[arg-type]
    return api_page(
        rows,
        after=after,
        limit=limit,
        item=lambda r: _reviewed(
            user, r, visible if isinstance(visible, bool) else bool(getattr(r, "_identity", False))
        ),
    )


@router.post(
    "/watch/submissions/{id}/review",
    response={200: ReviewedSubmissionOut, **ONE, 409: ErrorOut},
    auth=write_review,
)
def review_submission(
    request: HttpRequest, payload: ReviewIn, id: int = Path(..., ge=1, le=MAX_ID)
) -> dict[str, Any]:
    """Accept or reject an open submission (a rejection says why); the tracer is told."""
    user = token_of(request).user
    row = Submission.objects.select_related("item").filter(pk=id).first()
    if row is None or not rules.can_review(user, row):
        raise ApiError(404, "No such submission.")
    try:
        subs.review(
            submission=row, by=user, accept=payload.decision == "accept", reason=payload.reason
        )
    except subs.SubmissionRefused as exc:
        raise _refused_submission(exc) from exc
    return _reviewed(user, row, rules.sees_tracer(user, row))
