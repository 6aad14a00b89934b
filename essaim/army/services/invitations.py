"""Invitations: a volunteer submits addresses from their address book; each new person gets
one invitation from the campaign, in the volunteer's name, and is never mailed again unless
they confirm.

The volunteer learns nothing about the base. The request (`request_invitations`) only checks the
syntax and the volunteer's daily limit, records what was asked and answers "N invitations sent"
with N the number of distinct valid addresses, always. What becomes of each address is decided
by a background job (`send_invitations`), out of the request, so that neither the answer nor its
timing tells a known, suppressed or already invited address from a new one — the same design as
the base's sign-up (essaim.people.services.signup), whose consent and mail code this reuses.

An address is invited only if it is not suppressed (for any reason), has never been invited
(by anyone: one invitation per address, ever) and is not in the base with a consent for the
purpose or a withdrawn consent. It enters the base with a *pending* consent (source
"invitation", the inviter as proof), which no campaign mails. The invitee then either confirms
(double opt-in: the consent becomes granted, the volunteer gets INVITATIONS_POINTS points) or
reports the invitation as abuse (the address is suppressed for good, the pending consent
withdrawn, and the report counts against the inviter where coordinators and HQ see it).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, models, transaction
from django.db.models import Count, F, Q, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from essaim.accounts.services import audit
from essaim.army.models import Invitation, InvitationRequest, Volunteer, VolunteerMissionSettings
from essaim.lib.text import clean_name, normalize_email
from essaim.people.models import Consent, Contact, Purpose, Suppression, email_hash
from essaim.people.services.contacts import (
    ConsentGrant,
    ContactData,
    SuppressedAddress,
    record_event,
    upsert_contact,
    withdraw_consent,
)
from essaim.people.services.signup import ExpiredLink, InvalidLink, send_templated_mail
from essaim.people.services.suppression import is_suppressed, suppress_hash

log = logging.getLogger(__name__)

# What an invitee is asked to agree to: the campaign's news. One purpose, named here only.
PURPOSE = Purpose.NEWS
MAX_NOTE = 300
CONFIRM_SALT = "essaim.army.invitation.confirm"
REPORT_SALT = "essaim.army.invitation.report"
# A report link works long after the confirmation link expired: abuse is reported late too.
REPORT_MAX_AGE = 365 * 86400
SUBJECT = gettext_lazy("%(name)s vous invite à rejoindre la campagne")


class InvitationError(ValueError):
    """The request cannot be accepted as a whole; the message is for the volunteer."""


class DailyLimitReached(InvitationError):
    def __init__(self, left: int) -> None:
        self.left = left
        super().__init__(
            _(
                "Vous pouvez encore inviter %(left)d personne(s) aujourd'hui (%(limit)d par "
                "jour) : retirez des adresses ou revenez demain. Rien n'a été envoyé."
            )
            % {"left": left, "limit": settings.INVITATIONS_DAILY_LIMIT}
        )


class InvitationClosed(Exception):
    """The invitation was reported, or its address suppressed: it cannot be confirmed."""


@dataclass(frozen=True)
class Stats:
    sent: int  # distinct addresses the volunteer submitted, whatever became of them
    confirmed: int
    points: int
    left_today: int


def display_name(volunteer: Volunteer) -> str:
    """ "Camille D.": the first name and the last name's initial, as the invitation shows it."""
    first = clean_name(volunteer.first_name, 100)
    last = ""
    if volunteer.contact_id is not None and volunteer.contact is not None:
        last = volunteer.contact.last_name
    if not last:
        parts = clean_name(volunteer.user.full_name).split()
        if len(parts) > 1 and (not first or parts[0].casefold() == first.casefold()):
            last = parts[-1]
        first = first or (parts[0] if parts else "")
    last = clean_name(last)
    initial = f" {last[0].upper()}." if last else ""
    return f"{first}{initial}".strip() or _("Un volontaire")


def clean_note(note: str) -> str:
    """The volunteer's own optional words: one paragraph, control characters dropped; escaped
    wherever shown. Too long is an error rather than a silent cut."""
    text = "\n".join(clean_name(line, MAX_NOTE + 1) for line in (note or "").splitlines()).strip()
    if len(text) > MAX_NOTE:
        raise InvitationError(
            _("Mot personnel trop long (%(n)d caractères au plus).") % {"n": MAX_NOTE}
        )
    return text


def _start_of_today() -> datetime:
    return timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)


def left_today(volunteer: Volunteer) -> int:
    used = InvitationRequest.objects.filter(
        volunteer=volunteer, created_at__gte=_start_of_today()
    ).count()
    return max(settings.INVITATIONS_DAILY_LIMIT - used, 0)


def request_invitations(
    *, volunteer: Volunteer, addresses: list[str], note: str = "", language: str = "fr"
) -> int:
    """Record the volunteer's request and queue the invitations (after commit). `addresses`
    are normalized and distinct (essaim.army.services.addressbook). Returns the count to show:
    always the number of addresses given. Raises InvitationError (nothing recorded) when there
    is no address, the note is too long, or the day's limit would be passed (DailyLimitReached).
    """
    if not addresses:
        raise InvitationError(_("Aucune adresse valide à inviter."))
    note = clean_note(note)
    hashes = {email: email_hash(normalize_email(email)[1]) for email in addresses}
    with transaction.atomic():
        # One request at a time per volunteer, so that two tabs cannot both pass the limit.
        Volunteer.objects.select_for_update().filter(pk=volunteer.pk).first()
        asked_before = set(
            InvitationRequest.objects.filter(
                volunteer=volunteer, email_hash__in=list(hashes.values())
            ).values_list("email_hash", flat=True)
        )
        new = {email: h for email, h in hashes.items() if h not in asked_before}
        left = left_today(volunteer)
        if len(new) > left:
            raise DailyLimitReached(left)
        now = timezone.now()
        InvitationRequest.objects.bulk_create(
            [
                InvitationRequest(volunteer=volunteer, email_hash=h, created_at=now)
                for h in new.values()
            ],
            ignore_conflicts=True,
        )
        if new:
            from essaim.army.tasks import send_invitations as task

            transaction.on_commit(
                partial(task.enqueue, volunteer.pk, list(new), note=note, language=language)
            )
    return len(addresses)


def _invitable(emails: list[str]) -> list[tuple[str, str, str]]:
    """(email, key, hash) of the addresses that may get an invitation: a few set-based queries,
    whatever the number of addresses."""
    keyed = {}
    for email in emails:
        email, key = normalize_email(email)
        keyed[key] = (email, key, email_hash(key))
    hashes = [h for _, _, h in keyed.values()]
    barred = set(
        Suppression.objects.filter(email_hash__in=hashes).values_list("email_hash", flat=True)
    )
    barred |= set(
        Invitation.objects.filter(email_hash__in=hashes).values_list("email_hash", flat=True)
    )
    # In the base with a say on this purpose (granted, pending or withdrawn) or having
    # withdrawn any consent: the campaign already has its answer.
    known = set(
        Consent.objects.filter(contact__email_key__in=list(keyed))
        .filter(Q(purpose=PURPOSE) | Q(status=Consent.Status.WITHDRAWN))
        .values_list("contact__email_key", flat=True)
    )
    return [v for k, v in keyed.items() if v[2] not in barred and k not in known]


def send_invitations(*, volunteer_id: int, emails: list[str], note: str, language: str) -> int:
    """The background half of `request_invitations`: create the invitations that may be sent
    and mail them. Returns the number of mails that went out (logged, never shown to the
    volunteer)."""
    volunteer = Volunteer.objects.select_related("user", "contact").filter(pk=volunteer_id).first()
    if volunteer is None or not volunteer.user.is_active:
        return 0
    invitations: list[Invitation] = []
    for email, key, hashed in _invitable(emails):
        try:
            with transaction.atomic():
                # The unique hash makes a concurrent invitation of the same address by someone
                # else fail here: one invitation per address, whoever asked first.
                invitation = Invitation.objects.create(
                    inviter=volunteer, email_hash=hashed, note=note, language=language
                )
                contact, _created = upsert_contact(
                    data=ContactData(email=email, email_key=key),
                    consents=[
                        ConsentGrant(
                            purpose=PURPOSE,
                            basis=Consent.Basis.EXPLICIT_CONSENT,
                            source=Consent.Source.INVITATION,
                            status=Consent.Status.PENDING,
                            source_ref=f"volunteer:{volunteer.pk}",
                        )
                    ],
                    source="invitation",
                )
                invitation.contact = contact
                invitation.save(update_fields=["contact"])
                record_event(contact, "invited", invitation=invitation.pk, inviter=volunteer.pk)
        except (IntegrityError, SuppressedAddress):
            continue
        invitations.append(invitation)
    sent = 0
    for invitation in invitations:
        sent += mail_invitation(invitation, inviter=volunteer)
    log.info("invitations: %d asked, %d mailed", len(emails), sent)
    return sent


def _signer(salt: str) -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=salt)


def confirm_url(invitation: Invitation) -> str:
    token = _signer(CONFIRM_SALT).sign(str(invitation.pk))
    return f"{settings.SITE_URL}{reverse('army_public:invitation_confirm', args=[token])}"


def report_url(invitation: Invitation) -> str:
    token = _signer(REPORT_SALT).sign(str(invitation.pk))
    return f"{settings.SITE_URL}{reverse('army_public:invitation_report', args=[token])}"


def read_token(token: str, *, report: bool = False) -> Invitation:
    """The invitation a link names; ExpiredLink or InvalidLink otherwise (also for a link whose
    invitation no longer exists)."""
    salt, max_age = (
        (REPORT_SALT, REPORT_MAX_AGE)
        if report
        else (CONFIRM_SALT, settings.INVITATIONS_CONFIRM_DAYS * 86400)
    )
    try:
        pk = _signer(salt).unsign(token, max_age=timedelta(seconds=max_age))
    except signing.SignatureExpired as exc:
        raise ExpiredLink from exc
    except signing.BadSignature as exc:
        raise InvalidLink from exc
    invitation = (
        Invitation.objects.select_related("contact", "inviter").filter(pk=int(pk)).first()
        if pk.isdigit()
        else None
    )
    if invitation is None or invitation.contact is None:
        raise InvalidLink
    return invitation


def mail_invitation(invitation: Invitation, *, inviter: Volunteer) -> bool:
    """Mail the invitation once: `sent_at` is claimed by a conditional update first, so a
    repeated job never sends it twice. Not to an address suppressed meanwhile."""
    contact = invitation.contact
    if contact is None or is_suppressed(contact.email_key):
        return False
    claimed = Invitation.objects.filter(
        pk=invitation.pk, sent_at__isnull=True, status=Invitation.Status.SENT
    ).update(sent_at=timezone.now())
    if not claimed:
        return False
    name = display_name(inviter)
    try:
        send_templated_mail(
            email=contact.email,
            subject=SUBJECT,
            subject_params={"name": name},
            templates="army/mail/invitation",
            context={
                "inviter": name,
                "note": invitation.note,
                "url": confirm_url(invitation),
                "report_url": report_url(invitation),
                "days": settings.INVITATIONS_CONFIRM_DAYS,
            },
            language=invitation.language,
        )
    except Exception:
        # Left claimed: a person is mailed at most once, even if that once failed.
        log.exception("invitation %s not sent", invitation.pk)
        return False
    return True


def confirm_invitation(*, invitation: Invitation, ip: str | None, user_agent: str) -> bool:
    """The invitee clicked "confirm": their consent becomes granted with the proof of the
    double opt-in, and the volunteer who invited them is credited. Idempotent: True the first
    time only. Raises InvitationClosed for a reported invitation or a suppressed address."""
    now = timezone.now()
    with transaction.atomic():
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
        contact = Contact.objects.filter(invitations=invitation).first()
        if (
            invitation.status == Invitation.Status.REPORTED
            or contact is None
            or is_suppressed(contact.email_key)
        ):
            raise InvitationClosed
        if invitation.status == Invitation.Status.CONFIRMED:
            return False
        points = settings.INVITATIONS_POINTS if invitation.inviter_id else 0
        Invitation.objects.filter(pk=invitation.pk).update(
            status=Invitation.Status.CONFIRMED, confirmed_at=now, points=points
        )
        upsert_contact(
            data=ContactData(email=contact.email, email_key=contact.email_key),
            consents=[
                ConsentGrant(
                    purpose=PURPOSE,
                    basis=Consent.Basis.EXPLICIT_CONSENT,
                    source=Consent.Source.INVITATION,
                    source_ref=f"volunteer:{invitation.inviter_id}",
                    ip=ip,
                    user_agent=user_agent[:300],
                    confirmed_at=now,
                )
            ],
            source="invitation",
        )
        record_event(
            contact,
            "invitation_confirmed",
            invitation=invitation.pk,
            inviter=invitation.inviter_id,
            confirmed_ip=ip,
            confirmed_user_agent=user_agent[:300],
        )
        if invitation.inviter_id is not None and points:
            # Points as for accepted missions: the running total the volunteer sees.
            VolunteerMissionSettings.objects.get_or_create(volunteer_id=invitation.inviter_id)
            VolunteerMissionSettings.objects.filter(volunteer_id=invitation.inviter_id).update(
                total_points=F("total_points") + points
            )
    return True


def report_invitation(*, invitation: Invitation, ip: str | None, user_agent: str) -> bool:
    """The invitee says the invitation was unwanted: the address is suppressed for good (no
    volunteer can invite it again), the pending consent withdrawn, and the report counted
    against the inviter. Idempotent: True the first time only. A confirmed invitation is not
    reported (the person agreed; unsubscribing is how they leave)."""
    now = timezone.now()
    with transaction.atomic():
        reported = Invitation.objects.filter(
            pk=invitation.pk, status=Invitation.Status.SENT
        ).update(status=Invitation.Status.REPORTED, reported_at=now)
        if not reported:
            return False
        suppress_hash(
            hashed=invitation.email_hash,
            reason=Suppression.Reason.ABUSE_REPORT,
            note=f"invitation {invitation.pk}",
        )
        contact = Contact.objects.filter(invitations=invitation).first()
        if contact is not None:
            withdraw_consent(contact, purposes=[PURPOSE], reason="abuse_report")
            record_event(
                contact,
                "invitation_reported",
                invitation=invitation.pk,
                inviter=invitation.inviter_id,
                ip=ip,
                user_agent=user_agent[:300],
            )
        audit(
            action="army.invitation_reported",
            object_type="army.volunteer",
            object_id=invitation.inviter_id or "",
            invitation=invitation.pk,
        )
    return True


def stats(volunteer: Volunteer) -> Stats:
    """What the volunteer may know of their invitations: how many addresses they gave, how
    many people confirmed, the points earned."""
    asked = InvitationRequest.objects.filter(volunteer=volunteer).aggregate(
        total=Count("id"), today=Count("id", filter=Q(created_at__gte=_start_of_today()))
    )
    mine = Invitation.objects.filter(
        inviter=volunteer, status=Invitation.Status.CONFIRMED
    ).aggregate(n=Count("id"), points=Sum("points"))
    return Stats(
        sent=asked["total"],
        confirmed=mine["n"] or 0,
        points=mine["points"] or 0,
        left_today=max(settings.INVITATIONS_DAILY_LIMIT - asked["today"], 0),
    )


def reports_by_inviter() -> models.QuerySet[Volunteer]:
    """Volunteers whose invitations were reported as abuse, most reported first (for HQ)."""
    return (
        Volunteer.objects.annotate(
            reports=Count("invitations", filter=Q(invitations__status=Invitation.Status.REPORTED)),
            invited=Count("invitations"),
        )
        .filter(reports__gt=0)
        .select_related("user")
        .order_by("-reports", "pk")
    )


def reports_of(volunteer: Volunteer) -> int:
    return Invitation.objects.filter(inviter=volunteer, status=Invitation.Status.REPORTED).count()
