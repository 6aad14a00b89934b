"""The watch's part of a GDPR access report (a section of essaim.people.services.gdpr_sections,
registered by WatchConfig.ready): the sources and the watchlists that the person's volunteer
accounts added, the links they submitted as a tracer (with their notes, time codes and fates),
the triage decisions they took or were given (with their notes), the alerts they chose to
receive and how and those mailed to them, and whether they asked for the daily synthesis by
email and which they got.

Items are what public sites published; the watch keeps no data about contacts otherwise.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from essaim.army.models import Volunteer
from essaim.watch.models import (
    AlertEmail,
    AlertPreference,
    Source,
    Submission,
    SynthesisDelivery,
    SynthesisSubscription,
    TriageDecision,
    Watchlist,
)


def access_section(*, contact_id: int, hashed: str) -> dict[str, Any]:
    users = set(Volunteer.objects.filter(contact_id=contact_id).values_list("user_id", flat=True))
    sources = Source.objects.filter(created_by__in=users).order_by("created_at", "id")
    watchlists = Watchlist.objects.filter(created_by__in=users).order_by("created_at", "id")
    submissions = (
        Submission.objects.filter(volunteer__in=users)
        .select_related("item")
        .order_by("created_at", "id")
    )
    decisions = (
        TriageDecision.objects.filter(Q(user__in=users) | Q(assigned_to__in=users))
        .select_related("story")
        .order_by("created_at", "id")
    )
    return {
        "watch_sources": [
            {"url": s.url, "title": s.title, "added_at": s.created_at.isoformat()} for s in sources
        ],
        "watch_watchlists": [
            {"name": w.name, "query": w.query, "added_at": w.created_at.isoformat()}
            for w in watchlists
        ],
        "watch_submissions": [
            {
                "url": s.url,
                "title": s.item.title,
                "time_code": s.time_code,
                "note": s.note,
                "urgency": s.urgency,
                "screenshot": bool(s.screenshot),
                "state": s.state,
                "reason": s.reason,
                "submitted_at": s.created_at.isoformat(),
                "reviewed_at": s.reviewed_at.isoformat() if s.reviewed_at else None,
            }
            for s in submissions
        ],
        "watch_triage_decisions": [
            {
                "story": d.story.title,
                "decision": d.decision,
                "note": d.note,
                "taken_by_this_person": d.user_id in users,
                "given_to_this_person": d.assigned_to_id in users,
                "decided_at": d.created_at.isoformat(),
            }
            for d in decisions
        ],
        "watch_alert_preferences": [
            {
                "urgent": p.urgent,
                "spike": p.spike,
                "in_app": p.in_app,
                "email": p.email,
            }
            for p in AlertPreference.objects.filter(user__in=users).order_by("user_id")
        ],
        "watch_syntheses": {
            "subscribed_since": [
                at.isoformat()
                for at in SynthesisSubscription.objects.filter(user__in=users).values_list(
                    "created_at", flat=True
                )
            ],
            "received": [
                day.isoformat()
                for day in SynthesisDelivery.objects.filter(user__in=users)
                .order_by("synthesis__date")
                .values_list("synthesis__date", flat=True)
            ],
        },
        "watch_alert_mails": [
            {
                "alert": title,
                "status": status,
                "sent_at": sent_at.isoformat() if sent_at else None,
            }
            for title, status, sent_at in AlertEmail.objects.filter(user__in=users)
            .order_by("created_at", "id")
            .values_list("alert__title", "status", "sent_at")
        ],
    }
