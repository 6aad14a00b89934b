""" "Je m'engage": volunteer sign-up with double opt-in.

The base's double opt-in (essaim.people.services.signup.DoubleOptIn), with the volunteers'
request, link and mail (ENLISTMENT): nothing is written when the form is sent; the whole request
travels, sealed, in the link mailed to the address; only the person's POST from that link
writes. The confirmation grants the consent for the purpose "volunteering" on the contact (with the
proof of the double opt-in), then creates the account (role volunteer, no password: it logs in
by magic link until the person sets one) and the volunteer profile with the chosen roles at
stage "applied".

A sign-up from a call for volunteers (essaim.army.services.calls) carries the call's id, and the
delivery whose link brought the person when the address is the one that link was mailed to.
Its double opt-in is still the confirmation mail, never the call's link alone. That link proves
that someone could read a mail sent to the address, and so does a confirmation link; but a call
is written to be passed around ("share it with your friends"), its link lives for weeks and
reaches far more mailboxes than its addressee's, while a confirmation mail answers the person's
own request and expires in days. Consent to keep a political commitment (GDPR art. 9) must be
the person's own act: whoever forwards a call must not enlist its reader under their own name.
The link only fills the form in and attributes the sign-up; the consent "volunteering" then
records source = the call, with the call and delivery in its proof.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy

from essaim.accounts.models import Role, User
from essaim.accounts.services import audit
from essaim.army.models import (
    FULL_WEEK,
    Call,
    RoleAssignment,
    RoleTransition,
    Volunteer,
    VolunteerRole,
)
from essaim.army.services.calls import record_signup
from essaim.people.models import Consent, Purpose
from essaim.people.services.contacts import ContactData, clean_contact_data, record_event
from essaim.people.services.signup import (
    DoubleOptIn,
    InvalidLink,
    SignupRequest,
    confirm_signup,
)

log = logging.getLogger(__name__)

SALT = "essaim.army.signup"  # links of the earlier, readable format (signed only)
SEAL_PURPOSE = "essaim.army.signup.confirmation"
# The wording of the consent on the "Je m'engage" form; change the version with the wording.
CONSENT_STATEMENT_VERSION = "volunteer-statement-v1"


@dataclass(frozen=True)
class VolunteerSignup:
    """What the person asked for, carried sealed by the confirmation link (nothing is stored)."""

    email: str
    first_name: str
    last_name: str
    postcode: str
    phone: str
    roles: tuple[str, ...]  # VolunteerRole slugs
    weekly_hours: int
    windows: int
    skills: tuple[str, ...]
    languages: tuple[str, ...]
    ip: str | None
    user_agent: str
    requested_at: datetime
    call_id: int | None = None  # the call for volunteers the person answered, if any
    call_delivery: int | None = None  # the ledger row whose link they followed, same address


@dataclass(frozen=True)
class Enlistment:
    volunteer: Volunteer
    account_created: bool  # the person had no account: the confirming browser may log in
    roles_added: list[str]
    profile_created: bool = False  # the person became a volunteer with this confirmation


def _parse(payload: Any) -> VolunteerSignup:
    signup = VolunteerSignup(
        email=str(payload["email"]),
        first_name=str(payload["first_name"]),
        last_name=str(payload["last_name"]),
        postcode=str(payload["postcode"]),
        phone=str(payload["phone"]),
        roles=tuple(str(r) for r in payload["roles"]),
        weekly_hours=int(payload["weekly_hours"]),
        windows=int(payload["windows"]),
        skills=tuple(str(s) for s in payload["skills"]),
        languages=tuple(str(s) for s in payload["languages"]),
        ip=None if payload["ip"] is None else str(payload["ip"]),
        user_agent=str(payload["user_agent"]),
        requested_at=datetime.fromisoformat(payload["requested_at"]),
        call_id=_optional_id(payload.get("call_id")),
        call_delivery=_optional_id(payload.get("call_delivery")),
    )
    if not signup.roles or not 0 <= signup.windows <= FULL_WEEK:
        raise InvalidLink
    return signup


def _optional_id(value: object) -> int | None:
    return None if value is None else int(value)  # type: ignore[call-overload]


# "Je m'engage" ("/je-m-engage/"): the base's double opt-in with the volunteers' request, link
# and mail.
ENLISTMENT: DoubleOptIn[VolunteerSignup] = DoubleOptIn(
    seal_purpose=SEAL_PURPOSE,
    legacy_salt=SALT,
    confirm_url="army_public:engage_confirm",
    subject=gettext_lazy("Confirmez votre engagement"),
    mail_templates="army/mail/engage_confirmation",
    parse=_parse,
)


def enlistment_request(
    *,
    data: ContactData,
    roles: list[str],
    weekly_hours: int,
    windows: int,
    skills: list[str],
    languages: list[str],
    ip: str | None,
    user_agent: str,
    call_id: int | None = None,
    call_delivery: int | None = None,
) -> VolunteerSignup:
    """The request of someone who filled the "Je m'engage" form now. `call_id`: the call for
    volunteers answered (`call_delivery`: the link's ledger row, same address only)."""
    return VolunteerSignup(
        email=data.email,
        first_name=data.first_name,
        last_name=data.last_name,
        postcode=data.postcode,
        phone=data.phone,
        roles=tuple(roles),
        weekly_hours=weekly_hours,
        windows=windows,
        skills=tuple(skills),
        languages=tuple(languages),
        ip=ip,
        user_agent=user_agent[:300],
        requested_at=timezone.now(),
        call_id=call_id,
        call_delivery=call_delivery,
    )


def send_confirmation_mail(*, email: str, url: str, first_name: str = "", language: str) -> bool:
    """Mail the link, unless the address is suppressed for good. True if a mail went out."""
    return ENLISTMENT.send_mail(email=email, url=url, first_name=first_name, language=language)


def confirm_enlistment(
    *, signup: VolunteerSignup, ip: str | None, user_agent: str
) -> Enlistment | None:
    """The person clicked "confirm": consent, account, profile and roles, in one transaction.

    Idempotent: a second click adds nothing. A known volunteer keeps their profile and gains the
    roles they did not hold. None when the person withdrew the volunteering consent after asking
    (the later act wins). Raises SuppressedAddress and InvalidValue as the base's sign-up does.
    """
    people_request = SignupRequest(
        email=signup.email,
        first_name=signup.first_name,
        last_name=signup.last_name,
        postcode=signup.postcode,
        phone=signup.phone,
        purposes=(Purpose.VOLUNTEERING,),
        ip=signup.ip,
        user_agent=signup.user_agent,
        requested_at=signup.requested_at,
    )
    data = clean_contact_data(email=signup.email, postcode=signup.postcode)
    call = Call.objects.filter(pk=signup.call_id).first() if signup.call_id else None
    source: dict[str, Any] = {}
    if call is not None:
        source = {
            "source": Consent.Source.CALL,
            "source_ref": f"call:{call.pk}",
            "proof": {"call": call.pk, "call_delivery": signup.call_delivery},
        }
    with transaction.atomic():
        confirmation = confirm_signup(
            signup=people_request,
            ip=ip,
            user_agent=user_agent,
            statement=CONSENT_STATEMENT_VERSION,
            event="volunteer_signup_confirmed",
            **source,
        )
        if confirmation is None:
            return None
        contact = confirmation.contact
        full_name = f"{signup.first_name} {signup.last_name}".strip()
        user = User.objects.filter(email__iexact=data.email).first()
        account_created = user is None
        if user is None:
            user = User.objects.create_user(
                data.email, None, role=Role.VOLUNTEER, full_name=full_name
            )
        volunteer, profile_created = Volunteer.objects.get_or_create(
            user=user,
            defaults={
                "contact": contact,
                "first_name": signup.first_name,
                "weekly_hours": signup.weekly_hours,
                "windows": signup.windows,
                "skills": list(signup.skills),
                "languages": list(signup.languages),
                "postcode": data.postcode,
                "departement": data.departement,
                "region": data.region,
            },
        )
        if not profile_created and volunteer.contact_id is None:
            volunteer.contact = contact
            volunteer.save(update_fields=["contact"])
        if call is not None and profile_created:
            record_signup(call, contact)
        added = add_roles(volunteer, signup.roles, reason="sign-up")
        if added:
            record_event(contact, "volunteer_roles_requested", roles=added)
            audit(
                action="army.volunteer_enlisted",
                actor=user,
                obj=volunteer,
                roles=added,
                account_created=account_created,
            )
    return Enlistment(
        volunteer=volunteer,
        account_created=account_created,
        roles_added=added,
        profile_created=profile_created,
    )


def add_roles(
    volunteer: Volunteer, slugs: tuple[str, ...] | list[str], *, by: User | None = None, reason: str
) -> list[str]:
    """Give the volunteer the open roles among `slugs` they do not hold yet, at stage applied,
    each with its first transition. Returns the slugs added; unknown or closed roles are skipped."""
    held = set(volunteer.assignments.values_list("role__slug", flat=True))
    roles = [
        r
        for r in VolunteerRole.objects.filter(slug__in=list(slugs), is_open=True)
        if r.slug not in held
    ]
    if not roles:
        return []
    now = timezone.now()
    # A concurrent confirmation adding the same role fails on the unique constraint and rolls
    # back whole; its retry finds the role held.
    assignments = RoleAssignment.objects.bulk_create(
        [
            RoleAssignment(volunteer=volunteer, role=r, stage_changed_at=now, stage_changed_by=by)
            for r in roles
        ]
    )
    RoleTransition.objects.bulk_create(
        [
            RoleTransition(assignment=a, to_stage=a.stage, at=now, by=by, reason=reason)
            for a in assignments
        ]
    )
    return [r.slug for r in roles]
