"""Alerts over JSON (mounted at /api/v1/), read-only, for those who see the triage queue:
stories marked urgent and watchlists whose volume spiked, each with why."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django.conf import settings
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from essaim.api.auth import TokenAuth
from essaim.api.models import Scope
from essaim.lib.pagination import api_page
from essaim.watch import rules
from essaim.watch.api.common import MAX_ID, MAX_PAGE, ONE
from essaim.watch.models import Alert

read_alerts = TokenAuth(rules.can_see_triage, Scope.READ)

router = Router(tags=["watch"])


class AlertOut(Schema):
    id: int
    kind: Literal["urgent", "spike"]
    story: int | None = Field(description="The story marked urgent (urgent alerts).")
    watchlist: int | None = Field(description="The watchlist that spiked (spike alerts).")
    title: str
    explanation: dict[str, Any] = Field(
        description="Why: the stories, first sources, top terms; for a spike, the counts of "
        "the last hour against the baselines."
    )
    created_at: datetime


class AlertPage(Schema):
    items: list[AlertOut]
    next: int | None = Field(description="Pass as ?after= for the next page; null on the last.")


@router.get("/watch/alerts", response={200: AlertPage, **ONE}, auth=read_alerts)
def list_alerts(
    request: HttpRequest,
    after: int | None = Query(None, ge=1, le=MAX_ID, description="The `next` of the last page."),
    limit: int = Query(settings.API_PAGE_SIZE, ge=1, le=MAX_PAGE),
    kind: Literal["urgent", "spike"] | None = Query(None),
) -> dict[str, Any]:
    """Alerts, newest first, a keyset page at a time."""
    alerts = Alert.objects.all()
    if kind is not None:
        alerts = alerts.filter(kind=kind)
    return api_page(alerts, after=after, limit=limit, item=_alert)


def _alert(a: Alert) -> dict[str, Any]:
    return {
        "id": a.pk,
        "kind": a.kind,
        "story": a.story_id,
        "watchlist": a.watchlist_id,
        "title": a.title,
        "explanation": a.explanation,
        "created_at": a.created_at,
    }
