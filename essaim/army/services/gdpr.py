"""The army's part of a GDPR access report (a section of essaim.people.services.gdpr_sections,
registered by ArmyConfig.ready): a contact who volunteered has an account, a profile, roles,
teams and work of their own."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Prefetch

from essaim.accounts.models import Membership
from essaim.accounts.services import notifications
from essaim.army.models import (
    CallEvent,
    Claim,
    Invitation,
    InvitationRequest,
    RoleAssignment,
    Volunteer,
)
from essaim.army.models.missions import Proof, VolunteerMissionSettings


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def report_section(*, contact_id: int, hashed: str) -> dict[str, Any]:
    """The army's keys of the access report: the volunteer accounts, then the call steps."""
    return {
        "volunteering": access_section(contact_id=contact_id),
        "volunteer_calls": calls_section(contact_id=contact_id),
    }


def access_section(*, contact_id: int) -> list[dict[str, Any]]:
    """One entry per volunteer account linked to the contact (normally none or one)."""
    volunteers = Volunteer.objects.filter(contact_id=contact_id).select_related("user")
    return [_volunteer(volunteer) for volunteer in volunteers]


def calls_section(*, contact_id: int) -> list[dict[str, Any]]:
    """The steps of calls for volunteers recorded for the contact (page visited, signed up)."""
    events = CallEvent.objects.filter(contact_id=contact_id).select_related("call")
    return [
        {"call": e.call.title, "step": e.kind, "at": _iso(e.at)}
        for e in events.order_by("at", "id")
    ]


def _volunteer(volunteer: Volunteer) -> dict[str, Any]:
    user = volunteer.user
    assignments = (
        RoleAssignment.objects.filter(volunteer=volunteer)
        .select_related("role")
        .prefetch_related("transitions")
        .order_by("role__name")
    )
    memberships = Membership.objects.filter(user=user).select_related("team").order_by("team__name")
    claims = (
        Claim.objects.filter(volunteer=volunteer)
        .select_related("mission")
        .prefetch_related(Prefetch("proofs", Proof.objects.prefetch_related("links")))
        .order_by("claimed_at", "id")
    )
    settings = VolunteerMissionSettings.objects.filter(volunteer=volunteer).first()
    return {
        "account": {
            "email": user.email,
            "full_name": user.full_name,
            "date_joined": _iso(user.date_joined),
            "last_login": _iso(user.last_login),
        },
        "profile": {
            "first_name": volunteer.first_name,
            "weekly_hours": volunteer.weekly_hours,
            "time_windows": volunteer.window_labels,
            "skills": volunteer.skills,
            "languages": volunteer.languages,
            "postcode": volunteer.postcode,
            "departement": volunteer.departement,
            "region": volunteer.region,
            "created_at": _iso(volunteer.created_at),
        },
        "roles": [
            {
                "role": a.role.name,
                "stage": a.stage,
                "history": [
                    {"from": t.from_stage, "to": t.to_stage, "at": _iso(t.at), "reason": t.reason}
                    for t in a.transitions.all()
                ],
            }
            for a in assignments
        ],
        "teams": [
            {
                "team": m.team.name,
                "state": m.state,
                "coordinator": m.is_coordinator,
                "message": m.message,
                "requested_at": _iso(m.requested_at),
                "decided_at": _iso(m.decided_at),
            }
            for m in memberships
        ],
        "missions": [
            {
                "mission": c.mission.title,
                "status": c.status,
                "claimed_at": _iso(c.claimed_at),
                "submitted_at": _iso(c.submitted_at),
                "reviewed_at": _iso(c.reviewed_at),
                "feedback": c.feedback,
                "points": c.points,
                "proofs": [
                    {
                        "note": p.note,
                        "urls": [link.url for link in p.links.all()],
                        "screenshot": bool(p.screenshot),
                        "submitted_at": _iso(p.submitted_at),
                    }
                    for p in c.proofs.all()
                ],
            }
            for c in claims
        ],
        "mission_settings": (
            {
                "leaderboard_opt_out": settings.leaderboard_opt_out,
                "total_points": settings.total_points,
            }
            if settings
            else None
        ),
        # What the volunteer gave and what came of it: counts only. The invitees are other
        # people; their own access reports say who invited them.
        "invitations": {
            "addresses_given": InvitationRequest.objects.filter(volunteer=volunteer).count(),
            "confirmed": Invitation.objects.filter(
                inviter=volunteer, status=Invitation.Status.CONFIRMED
            ).count(),
        },
    }


# --- Notifications (a section of its own, "notifications") ----------------------------------------
# Notifications belong to accounts, and the base knows a person's accounts only through the
# army: a volunteer profile links its account to the contact. So the army registers the
# section; erasing the contact deletes them (the account itself and its work stay).


def _accounts_of(contact_id: int) -> list[int]:
    return list(Volunteer.objects.filter(contact_id=contact_id).values_list("user_id", flat=True))


def notifications_section(*, contact_id: int, hashed: str) -> dict[str, Any]:
    return {"notifications": notifications.access_section(user_ids=_accounts_of(contact_id))}


def erase_notifications(*, contact_id: int, hashed: str) -> int:
    return notifications.erase(user_ids=_accounts_of(contact_id))
