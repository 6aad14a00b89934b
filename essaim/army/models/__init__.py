"""The army's models, one module per area; everything is re-exported here so that code and
migrations say `from essaim.army.models import Volunteer` whatever the module.

volunteers.py: volunteers, their roles and the roles' lifecycle (issue 4, part 1).
missions.py: missions, talking points, claims, proofs, reviews, points.
calls.py: calls for volunteers and their funnel's events.
invitations.py: invitations sent in a volunteer's name, and what each volunteer asked.
"""

from essaim.army.models.calls import Call, CallEvent
from essaim.army.models.invitations import Invitation, InvitationMailDay, InvitationRequest
from essaim.army.models.missions import (
    OWN_NAME_REMINDER,
    Claim,
    KitFile,
    Mission,
    MissionKind,
    MissionTarget,
    MissionZone,
    Proof,
    ProofLink,
    TalkingPoint,
    TalkingPointTag,
    TalkingPointVersion,
    VolunteerMissionSettings,
)
from essaim.army.models.volunteers import (
    ALLOWED_MOVES,
    DAYS,
    FULL_WEEK,
    PARTS_OF_DAY,
    Language,
    RoleAssignment,
    RoleTransition,
    Stage,
    StaleStage,
    Volunteer,
    VolunteerQuerySet,
    VolunteerRole,
    window_bit,
    window_mask,
    windows_from_mask,
)

__all__ = [
    "ALLOWED_MOVES",
    "DAYS",
    "FULL_WEEK",
    "OWN_NAME_REMINDER",
    "PARTS_OF_DAY",
    "Call",
    "CallEvent",
    "Claim",
    "Invitation",
    "InvitationMailDay",
    "InvitationRequest",
    "KitFile",
    "Language",
    "Mission",
    "MissionKind",
    "MissionTarget",
    "MissionZone",
    "Proof",
    "ProofLink",
    "RoleAssignment",
    "RoleTransition",
    "Stage",
    "StaleStage",
    "TalkingPoint",
    "TalkingPointTag",
    "TalkingPointVersion",
    "Volunteer",
    "VolunteerMissionSettings",
    "VolunteerQuerySet",
    "VolunteerRole",
    "window_bit",
    "window_mask",
    "windows_from_mask",
]
