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

Who may invite, and how much (issue 14: a self-registered volunteer once sent fifty phishing
notes from the campaign's address):
- only volunteers with the *mondain* role, trained or active (a coordinator trained them), and
  whose invitations are not suspended (`standing`);
- the note is short and carries no link nor anything that reads as a domain (`clean_note`);
- an account younger than INVITATIONS_NEW_ACCOUNT_DAYS or without accepted work submits at most
  INVITATIONS_NEW_ACCOUNT_DAILY_LIMIT addresses a day, others INVITATIONS_DAILY_LIMIT;
- the whole campaign mails at most INVITATIONS_CAMPAIGN_DAILY_CAP invitations a day: each mail
  takes a place in the day's counter (`InvitationMailDay`) by a conditional UPDATE; beyond the
  cap the invitation waits (`sent_at` empty) and the hourly `send_waiting_invitations` mails it
  on a later day, once;
- INVITATIONS_ABUSE_SUSPEND_THRESHOLD reports within INVITATIONS_ABUSE_WINDOW_DAYS suspend the
  inviter: they cannot invite, their waiting invitations are not mailed, and a coordinator of
  their team or HQ may lift the suspension (audited).

The subject keeps the inviter's name ("Camille D. vous invite…"): it is what makes the mail a
personal invitation rather than one more campaign mail, and with only trained mondains
inviting, notes without links and the name reduced to letters (`display_name`), it can no
longer carry a lure.
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
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from essaim.accounts.services import audit
from essaim.army.models import (
    Invitation,
    InvitationRequest,
    RoleAssignment,
    Volunteer,
    VolunteerMissionSettings,
)
from essaim.army.services.inviters import (
    MONDAIN,
    InvitationError,
    NotAllowed,
    Standing,
    places_left,
    standing,
    suspend_if_reported_enough,
    take_a_place,
)
from essaim.lib.nolinks import contains_link
from essaim.lib.numbers import ascii_int
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
MAX_NOTE = 200
MAX_NOTE_LINES = 3
# Longest first name shown in an invitation (subject and text).
MAX_SHOWN_NAME = 30
CONFIRM_SALT = "essaim.army.invitation.confirm"
REPORT_SALT = "essaim.army.invitation.report"
# A report link works long after the confirmation link expired: abuse is reported late too.
REPORT_MAX_AGE = 365 * 86400
SUBJECT = gettext_lazy("%(name)s vous invite à rejoindre la campagne")
# The mail task calls back into this module (send_invitations): it is enqueued by its dotted
# name, so that tasks import services and never the reverse.
SEND_INVITATIONS_TASK = "essaim.army.tasks.send_invitations"


class DailyLimitReached(InvitationError):
    def __init__(self, left: int, limit: int) -> None:
        self.left = left
        super().__init__(
            ngettext(
                "Vous pouvez encore inviter %(left)d personne aujourd'hui (%(limit)d par "
                "jour) : retirez des adresses ou revenez demain. Rien n'a été envoyé.",
                "Vous pouvez encore inviter %(left)d personnes aujourd'hui (%(limit)d par "
                "jour) : retirez des adresses ou revenez demain. Rien n'a été envoyé.",
                left,
            )
            % {"left": left, "limit": limit}
        )


class InvitationClosed(Exception):
    """The invitation was reported, or its address suppressed: it cannot be confirmed."""


@dataclass(frozen=True)
class Stats:
    sent: int  # distinct addresses the volunteer submitted, whatever became of them
    confirmed: int
    points: int
    left_today: int
    daily_limit: int = 0
    refusal: NotAllowed | None = None  # why they may not invite now; None: they may

    @property
    def may_invite(self) -> bool:
        return self.refusal is None


def _shown_name(raw: str) -> str:
    # Letters, spaces, hyphens and apostrophes only: what a volunteer types as their name ends
    # up in the subject of a mail from the campaign, and must not carry a lure or a domain.
    kept = "".join(ch if ch.isalpha() or ch in "-'’" else " " for ch in clean_name(raw, 200))
    words = " ".join(kept.split())
    if len(words) > MAX_SHOWN_NAME:
        words = words[:MAX_SHOWN_NAME].rsplit(" ", 1)[0]
    return words


def display_name(volunteer: Volunteer) -> str:
    """ "Camille D.": the first name and the last name's initial, as the invitation shows it
    (letters only, MAX_SHOWN_NAME characters at most)."""
    first = _shown_name(volunteer.first_name)
    last = ""
    if volunteer.contact_id is not None and volunteer.contact is not None:
        last = volunteer.contact.last_name
    if not last:
        parts = _shown_name(volunteer.user.full_name).split()
        if len(parts) > 1 and (not first or parts[0].casefold() == first.casefold()):
            last = parts[-1]
        first = first or (parts[0] if parts else "")
    last = _shown_name(last)
    initial = f" {last[0].upper()}." if last else ""
    return f"{first}{initial}".strip() or _("Un volontaire")


def clean_note(note: str) -> str:
    """The volunteer's own optional words: a few short lines, control characters dropped;
    escaped wherever shown. Too long is an error rather than a silent cut; a link, a domain or
    anything that looks like one (essaim.lib.nolinks) is refused: the note goes out from the
    campaign's address, where a link is a phishing lure."""
    lines = [clean_name(line, MAX_NOTE + 1) for line in (note or "").splitlines()]
    text = "\n".join(line for line in lines if line).strip()
    if len(text) > MAX_NOTE or text.count("\n") >= MAX_NOTE_LINES:
        raise InvitationError(
            _("Mot personnel trop long (%(n)d caractères et %(lines)d lignes au plus).")
            % {"n": MAX_NOTE, "lines": MAX_NOTE_LINES}
        )
    if contains_link(note or ""):
        raise InvitationError(
            _(
                "Pas de lien ni d'adresse de site dans le mot personnel (ni « exemple.fr », ni "
                "« www », même déguisés) : la campagne joint elle-même son lien. Si vous avez "
                "collé deux mots avec un point, ajoutez une espace après le point."
            )
        )
    return text


def _start_of_today() -> datetime:
    return timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)


def left_today(volunteer: Volunteer, limit: int) -> int:
    used = InvitationRequest.objects.filter(
        volunteer=volunteer, created_at__gte=_start_of_today()
    ).count()
    return max(limit - used, 0)


def request_invitations(
    *, volunteer: Volunteer, addresses: list[str], note: str = "", language: str = "fr"
) -> int:
    """Record the volunteer's request and queue the invitations (after commit). `addresses`
    are normalized and distinct (essaim.army.services.addressbook). Returns the count to show:
    always the number of addresses given. Raises InvitationError (nothing recorded) when the
    volunteer may not invite (NotAllowed), there is no address, the note is too long or carries
    a link, or the day's limit would be passed (DailyLimitReached).
    """
    first = standing(volunteer)
    if first.refusal is not None:
        raise first.refusal
    if not addresses:
        raise InvitationError(_("Aucune adresse valide à inviter."))
    note = clean_note(note)
    hashes = {email: email_hash(normalize_email(email)[1]) for email in addresses}
    with transaction.atomic():
        # One request at a time per volunteer, so that two tabs cannot both pass the limit;
        # the standing is read again under the lock (a report may have suspended them).
        Volunteer.objects.select_for_update().filter(pk=volunteer.pk).first()
        current = standing(volunteer)
        if current.refusal is not None:
            raise current.refusal
        asked_before = set(
            InvitationRequest.objects.filter(
                volunteer=volunteer, email_hash__in=list(hashes.values())
            ).values_list("email_hash", flat=True)
        )
        new = {email: h for email, h in hashes.items() if h not in asked_before}
        left = left_today(volunteer, current.daily_limit)
        if len(new) > left:
            raise DailyLimitReached(left, current.daily_limit)
        now = timezone.now()
        InvitationRequest.objects.bulk_create(
            [
                InvitationRequest(volunteer=volunteer, email_hash=h, created_at=now)
                for h in new.values()
            ],
            ignore_conflicts=True,
        )
        if new:
            task = import_string(SEND_INVITATIONS_TASK)
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
    if volunteer.invitations_suspended_at is not None:
        # Suspended between the request and this job: nothing of theirs goes out.
        log.info("invitations: %d asked by a suspended inviter, none created", len(emails))
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
    invitation_id = ascii_int(pk)
    invitation = (
        Invitation.objects.select_related("contact", "inviter").filter(pk=invitation_id).first()
        if invitation_id is not None
        else None
    )
    if invitation is None or invitation.contact is None:
        raise InvalidLink
    return invitation


class _NoPlace(Exception):
    pass


def mail_invitation(
    invitation: Invitation, *, inviter: Volunteer, now: datetime | None = None
) -> bool:
    """Mail the invitation once: `sent_at` is claimed by a conditional update first, so a
    repeated job never sends it twice. Not to an address suppressed meanwhile, not for an
    inviter suspended meanwhile, and only with a place left under the campaign's daily cap —
    else it stays waiting (`sent_at` empty) for `send_waiting_invitations`."""
    contact = invitation.contact
    if contact is None or is_suppressed(contact.email_key):
        return False
    now = now or timezone.now()
    try:
        with transaction.atomic():
            # The inviter's suspension is an EXISTS on this row's own column, not a join: a
            # join makes Django's UPDATE filter by `id IN (SELECT …)`, which PostgreSQL does
            # not re-check after waiting for a concurrent claim, and the mail would go twice.
            inviter_free = Volunteer.objects.filter(
                pk=models.OuterRef("inviter_id"), invitations_suspended_at__isnull=True
            )
            claimed = Invitation.objects.filter(
                models.Exists(inviter_free),
                pk=invitation.pk,
                sent_at__isnull=True,
                status=Invitation.Status.SENT,
            ).update(sent_at=now)
            if not claimed:
                return False
            if not take_a_place(timezone.localdate(now)):
                raise _NoPlace  # rolls the claim back: the invitation keeps waiting
    except _NoPlace:
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
        if invitation.inviter_id is not None:
            # A confirmed invitee is a mondain's accepted work: it keeps the role from lapsing
            # and counts towards the full daily limit (see `standing`).
            RoleAssignment.objects.filter(
                volunteer_id=invitation.inviter_id, role__slug=MONDAIN
            ).update(last_accepted_work_at=now)
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
        if invitation.inviter_id is not None:
            suspend_if_reported_enough(invitation.inviter_id, now=now)
    return True


WAITING_BATCH = 500


def send_waiting_invitations(*, now: datetime | None = None) -> int:
    """Mail the invitations that waited for room under the campaign's daily cap, oldest first,
    as many as today's count allows; those of suspended inviters stay waiting. Run hourly
    (essaim.schedule). Each one is claimed as in `mail_invitation`: never mailed twice, even
    with two runs at once. Returns how many went out."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    sent = 0
    last_pk = 0
    while True:
        room = places_left(today)
        if room <= 0:
            break
        batch = list(
            Invitation.objects.filter(
                sent_at__isnull=True,
                status=Invitation.Status.SENT,
                contact__isnull=False,
                inviter__isnull=False,
                inviter__invitations_suspended_at__isnull=True,
                pk__gt=last_pk,
            )
            .select_related("contact", "inviter__user", "inviter__contact")
            .order_by("pk")[: min(room, WAITING_BATCH)]
        )
        if not batch:
            break
        for invitation in batch:
            assert invitation.inviter is not None  # filtered above
            sent += mail_invitation(invitation, inviter=invitation.inviter, now=now)
        last_pk = batch[-1].pk
    if sent:
        log.info("invitations: %d waiting invitations mailed", sent)
    return sent


def stats(volunteer: Volunteer, known: Standing | None = None) -> Stats:
    """What the volunteer may know of their invitations: how many addresses they gave, how
    many people confirmed, the points earned, and whether and how much they may invite."""
    known = known or standing(volunteer)
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
        left_today=max(known.daily_limit - asked["today"], 0),
        daily_limit=known.daily_limit,
        refusal=known.refusal,
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
