"""The army's part of the demo: a place for the accounts `make run` prints, and the army's story.

Without it the coordinator runs no team (its "Missions" page refuses it) and the volunteer has no
profile (its "Mon espace", "Mes missions" and "Mes invitations" refuse it). Here the coordinator
coordinates a local team of its zone with a few members, one request waiting for its decision
and published missions; the volunteer signed up as a real person would (the volunteering consent
with its proof, through the sign-up service), holds the mondain and tchatcheur roles, active
(trained then activated by the coordinator, audited as any move), is a member of that team and
is offered its missions.

The story: three days before the first run HQ sent a call for volunteers to everyone who may be
mobilized; over the three days some of them opened its page and some signed up there (most of
the team's members among them), and two did their first mission. The members proved their
missions: the coordinator accepted some, returned one with a note, and has two to review. The
demo volunteer, a mondain, invited people from their address book: some confirmed, one reported
it. Everything goes through the services (sign-up confirmations, the call's visit, claims,
proofs, reviews, invitations), then the timestamps are moved back to their day with plain
UPDATEs, since history is all the services never write.

Idempotent: `make run` runs it at every start. Everything is looked up before it is made, so a
second run writes nothing; a mission is made again only once the earlier one is no longer open
(closed or past its deadline), so that "Mes missions" is never empty. The call, the proofs and
the invitations are made once (while the call, a claim on the team's missions or the demo
volunteer's invitations do not exist).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone

from essaim.accounts.models import Membership, Team, User
from essaim.accounts.services import (
    DEMO_COORDINATOR,
    DEMO_HQ_ADMIN,
    DEMO_VOLUNTEER,
    ensure_demo_accounts,
    notifications,
)
from essaim.army.models import (
    Call,
    CallEvent,
    Claim,
    Invitation,
    InvitationRequest,
    Mission,
    MissionKind,
    Proof,
    RoleAssignment,
    Stage,
    Volunteer,
    VolunteerRole,
    window_mask,
)
from essaim.army.services import notifications as notices
from essaim.army.services.calls import create_call, default_mail_body, record_visit
from essaim.army.services.invitations import (
    confirm_invitation,
    report_invitation,
    request_invitations,
    send_invitations,
)
from essaim.army.services.lifecycle import move_role
from essaim.army.services.missions import (
    Targeting,
    accept_claim,
    claim_mission,
    create_mission,
    publish_mission,
    return_claim,
)
from essaim.army.services.proofs import submit_proof
from essaim.army.services.signup import VolunteerSignup, add_roles, confirm_enlistment
from essaim.army.services.teams import decide_request, request_to_join
from essaim.lib.text import normalize_email
from essaim.mailing.models import Delivery
from essaim.mailing.services.campaigns import audience_queryset, launch_campaign
from essaim.mailing.services.demo import demo_from_address, settle_as_sent
from essaim.people.models import (
    Consent,
    Contact,
    ContactEvent,
    Purpose,
    Segment,
    Suppression,
    email_hash,
)
from essaim.people.services.demo import backdate_contacts, story_day
from essaim.people.services.segments import save_segment
from essaim.people.services.signup import SignupRequest, confirm_signup

TEAM_NAME = "Paris 11e — démo"
USER_AGENT = "essaim demo"
MISSION_DAYS = 60
# The demo's invitation mails belong to the past: the step makes them without sending them.
NO_MAIL = {"default": {"BACKEND": "django.core.mail.backends.dummy.EmailBackend"}}


@dataclass(frozen=True)
class DemoPerson:
    email: str
    first_name: str
    last_name: str
    postcode: str
    roles: dict[str, str]  # slug: stage to reach
    windows: tuple[tuple[int, int], ...] = ((5, 2), (6, 0))  # Saturday evening, Sunday morning
    member: bool = True  # False: a request to join, waiting for the coordinator
    # Hours after the call went out at which the person, a subscriber of the base for weeks,
    # opened its page and signed up from it; None: signed up on their own, before the call.
    answered_call: float | None = None


PEOPLE = (
    DemoPerson(
        DEMO_VOLUNTEER,
        "Volontaire",
        "Démo",
        "75011",
        # traceur: the watch's part of the demo shows the links this volunteer reported.
        {"mondain": Stage.ACTIVE, "tchatcheur": Stage.ACTIVE, "traceur": Stage.ACTIVE},
        ((1, 2), (3, 2), (5, 0), (5, 1)),
    ),
    DemoPerson(
        "camille.martin@essaim.localhost",
        "Camille",
        "Martin",
        "75011",
        {"tchatcheur": Stage.ACTIVE, "colleur": Stage.TRAINED},
        answered_call=2.3,
    ),
    DemoPerson(
        "karim.benali@essaim.localhost",
        "Karim",
        "Benali",
        "75020",
        {"colleur": Stage.ACTIVE, "tchatcheur": Stage.ACTIVE, "mondain": Stage.APPLIED},
        answered_call=5.5,
    ),
    DemoPerson(
        "lea.moreau@essaim.localhost",
        "Léa",
        "Moreau",
        "75012",
        {"redacteur": Stage.TRAINED, "tchatcheur": Stage.ACTIVE},
        answered_call=26.2,
    ),
    DemoPerson(
        "ines.roux@essaim.localhost",
        "Inès",
        "Roux",
        "75010",
        {"tchatcheur": Stage.APPLIED},
        member=False,
        answered_call=30.8,
    ),
)

MISSIONS = (
    (
        MissionKind.RELAY,
        "tchatcheur",
        "Relayer l'argumentaire sur les transports du quotidien",
        "Répondez dans deux discussions de forums ou de groupes locaux avec l'argumentaire sur "
        "les transports, en votre nom, puis déposez les liens de vos messages comme preuve.",
    ),
    (
        MissionKind.INVITE,
        "mondain",
        "Inviter trois proches à la réunion publique du quartier",
        "Invitez depuis votre carnet d'adresses trois personnes que vous connaissez à la réunion "
        "publique de samedi, en votre nom propre.",
    ),
    # Offered and not taken yet: the volunteer's first hour opens on a new mission.
    (
        MissionKind.RELAY,
        "tchatcheur",
        "Répondre aux questions sur le budget de la ville",
        "Dans les groupes de quartier où la question revient, répondez avec vos mots à partir "
        "de l'argumentaire sur le budget, puis déposez les liens de vos réponses.",
    ),
)

# The path of a role from applied to each stage (ALLOWED_MOVES), the coordinator's moves.
PATHS: dict[str, tuple[str, ...]] = {
    Stage.APPLIED: (),
    Stage.TRAINED: (Stage.TRAINED,),
    Stage.ACTIVE: (Stage.TRAINED, Stage.ACTIVE),
}


# One transaction: the step is all or nothing (a run that fails leaves no half story that the
# next run would take as done), and SQLite syncs it to disk once rather than at every service's
# commit.
@transaction.atomic
def seed_demo_army() -> str:
    """Give the demo coordinator its team and the demo volunteer its place, and tell the army's
    story (see the module's docstring); returns a one-line summary for the `demo` command."""
    accounts = ensure_demo_accounts()
    coordinator = accounts[DEMO_COORDINATOR]
    hq = accounts[DEMO_HQ_ADMIN]
    now = timezone.now()
    team = _coordinated_team(coordinator)
    call, call_new = _call(hq=hq, now=now)
    sent_at = call.campaign.started_at or now
    profiles = 0
    for person in PEOPLE:
        profiles += _enlist(person, team=team, coordinator=coordinator, call=call, sent_at=sent_at)
    answers = _answer_call(call, sent_at=sent_at, now=now) if call_new else 0
    missions = _open_missions(team=team, coordinator=coordinator)
    proofs = _prove_missions(team=team, coordinator=coordinator, sent_at=sent_at, now=now)
    invited = _invite(now=now)
    return (
        f"team {team.name!r} run by {coordinator.email}, {profiles} volunteer profiles created, "
        f"{missions} missions published, {answers} sign-ups from the call, {proofs} proofs, "
        f"{invited} invitations"
    )


def _coordinated_team(coordinator: User) -> Team:
    zone = coordinator.zones[0] if coordinator.zones else "75"
    with transaction.atomic():
        team, _ = Team.objects.get_or_create(
            name=TEAM_NAME,
            defaults={
                "kind": Team.Kind.LOCAL,
                "departement": zone,
                "description": "L'équipe locale de la démo : ses volontaires relaient, tractent "
                "et invitent dans le quartier.",
            },
        )
        Membership.objects.update_or_create(
            team=team,
            user=coordinator,
            defaults={"state": Membership.State.MEMBER, "is_coordinator": True},
        )
    return team


def _enlist(
    person: DemoPerson, *, team: Team, coordinator: User, call: Call, sent_at: datetime
) -> int:
    """Sign the person up (once), bring their roles to their stages and into the team. Returns 1
    if the profile was created now."""
    created = 0
    volunteer = Volunteer.objects.filter(user__email__iexact=person.email).first()
    if volunteer is None:
        now = timezone.now()
        delivery = None
        if person.answered_call is not None:
            delivery = Delivery.objects.filter(
                campaign_id=call.campaign_id, email_hash=_hash(person.email)
            ).first()
        signup = VolunteerSignup(
            email=person.email,
            first_name=person.first_name,
            last_name=person.last_name,
            postcode=person.postcode,
            phone="",
            roles=tuple(person.roles),
            weekly_hours=3,
            windows=window_mask(person.windows),
            skills=(),
            languages=("fr",),
            ip=None,
            user_agent=USER_AGENT,
            requested_at=now,
            call_id=call.pk if delivery is not None else None,
            call_delivery=delivery.pk if delivery is not None else None,
        )
        if delivery is not None and delivery.contact is not None:
            record_visit(call, delivery.contact)
        enlistment = confirm_enlistment(signup=signup, ip=None, user_agent=USER_AGENT)
        if enlistment is None:  # the person withdrew the volunteering consent: leave them be
            return 0
        volunteer, created = enlistment.volunteer, int(enlistment.profile_created)
        if person.answered_call is not None and delivery is not None:
            at = sent_at + timedelta(hours=person.answered_call)
            _backdate_answer(call, volunteer, visit=at - timedelta(minutes=9), signup=at)
        elif created:
            _backdate_volunteer(volunteer, at=now - timedelta(days=VOLUNTEER_DAYS))
    # A role the demo gained since the person signed up (a base filled by an earlier version of
    # the demo) is added as a volunteer asks for one, then moved like the others.
    add_roles(volunteer, list(person.roles), by=coordinator, reason="démo")
    assignments = RoleAssignment.objects.filter(
        volunteer=volunteer, role__slug__in=list(person.roles)
    ).select_related("role")
    for assignment in assignments:
        if assignment.stage != Stage.APPLIED:
            continue  # already moved: by an earlier run, or by someone trying the demo
        for stage in PATHS[person.roles[assignment.role.slug]]:
            move_role(assignment=assignment, stage=stage, actor=coordinator, reason="démo")
    user = volunteer.user
    membership = request_to_join(user=user, team=team)
    if person.member and membership.state == Membership.State.REQUESTED:
        decide_request(membership=membership, approve=True, actor=coordinator)
    return created


def _open_missions(*, team: Team, coordinator: User) -> int:
    """Publish each demo mission of the team that is not open (any more, or yet)."""
    now = timezone.now()
    published = 0
    for kind, role_slug, title, brief in MISSIONS:
        is_open = Mission.objects.filter(
            team=team,
            title=title,
            status=Mission.Status.PUBLISHED,
            deadline__gt=now,
        ).exists()
        if is_open:
            continue
        mission = create_mission(
            by=coordinator,
            kind=kind,
            title=title,
            brief=brief,
            role=VolunteerRole.objects.get(slug=role_slug),
            quota=20,
            deadline=now + timedelta(days=MISSION_DAYS),
            team=team,
            targeting=Targeting(stages=(Stage.ACTIVE,)),
        )
        publish_mission(mission=mission, by=coordinator)
        published += 1
    return published


# --- The call for volunteers and its funnel ---------------------------------------------------

CALL_TITLE = "Appel aux bonnes volontés numériques"
CALL_SEGMENT = "Mobilisables (toute la base)"
CALL_TEXT = (
    "La campagne a besoin de vous, quelques heures par semaine, depuis chez vous et sous votre "
    "propre nom : relayer nos arguments dans les forums, placer nos visuels sur vos sites, "
    "inviter vos proches, surveiller ce qui se dit en ligne. Choisissez ce qui vous va.\n"
)
CALL_ROLES = ("tchatcheur", "colleur", "mondain", "traceur")
# The call went out the day before yesterday at nine: the funnel spans 39 to 63 hours, shown
# per hour (calls.HOURLY_SPAN), over three days.
CALL_DAYS, CALL_HOUR = 2, 9
CALL_SEND_MINUTES = 150  # the sender shaped it over two and a half hours
VISIT_MEAN_HOURS = 6.0  # visits fade out after the mail, as answers to a call do
VISITS_PER_100 = 11  # of every hundred people reached, eleven open the page…
SIGNUPS_PER_100_VISITS = 42  # …and four or five of them sign up
VOLUNTEER_DAYS = 35  # the demo volunteer signed up five weeks before
SEED = 2006


def _hash(email: str) -> str:
    return email_hash(normalize_email(email)[1])


def _call(*, hq: User, now: datetime) -> tuple[Call, bool]:
    """The call, sent CALL_DAYS ago to the segment of everyone who may be mobilized (created
    once); True when it was created now."""
    call = Call.objects.filter(title=CALL_TITLE).select_related("campaign").first()
    if call is not None:
        return call, False
    # The people of the demo team who answered the call were in the base weeks before it.
    for person in PEOPLE:
        if person.answered_call is not None:
            _subscriber(person, at=story_day(now, 30 + len(person.email) % 9, 19))
    segment = Segment.objects.filter(name=CALL_SEGMENT).first() or save_segment(
        name=CALL_SEGMENT,
        description="Toutes les personnes qui acceptent d'être appelées à se mobiliser.",
        definition={"consents": {Purpose.MOBILIZATION: [Consent.Status.GRANTED]}},
        user=hq,
    )
    call = create_call(
        user=hq,
        title=CALL_TITLE,
        text_markdown=CALL_TEXT,
        roles=list(VolunteerRole.objects.filter(slug__in=CALL_ROLES)),
        segment=segment,
        subject="La campagne a besoin de vous : répondez à l'appel",
        body_markdown=default_mail_body(),
        from_address=demo_from_address(),
    )
    sent_at = story_day(now, CALL_DAYS, CALL_HOUR)
    launch_campaign(
        call.campaign,
        audience_queryset(call.campaign).filter(created_at__lt=sent_at),
        user=hq,
        now=sent_at,
    )
    settle_as_sent(call.campaign, at=sent_at, minutes=CALL_SEND_MINUTES)
    Call.objects.filter(pk=call.pk).update(created_at=sent_at - timedelta(hours=20))
    call.refresh_from_db()
    return call, True


def _subscriber(person: DemoPerson, *, at: datetime) -> None:
    """The person signed up to the base's news and mobilization on the public form, at `at`."""
    confirmation = confirm_signup(
        signup=SignupRequest(
            email=person.email,
            first_name=person.first_name,
            last_name=person.last_name,
            postcode=person.postcode,
            phone="",
            purposes=(Purpose.NEWS, Purpose.MOBILIZATION),
            ip=None,
            user_agent=USER_AGENT,
            requested_at=at,
        ),
        ip=None,
        user_agent=USER_AGENT,
    )
    if confirmation is not None and confirmation.created:
        backdate_contacts([confirmation.contact.pk], {confirmation.contact.pk: at})


def _answer_call(call: Call, *, sent_at: datetime, now: datetime) -> int:
    """The funnel of the call: of the people reached, some open its page over the three days
    (many in the first hours, fewer each day, nobody at night), some of them sign up there
    (through the volunteers' sign-up confirmation, naming the call). Returns the sign-ups."""
    rng = random.Random(SEED)
    reached = list(
        Delivery.objects.filter(
            campaign_id=call.campaign_id, status=Delivery.Status.ACCEPTED, contact__isnull=False
        )
        .exclude(email__endswith="@essaim.localhost")  # the demo's people answer on their own
        .order_by("pk")
        .values_list("pk", "contact_id", "email", "first_name", "last_change_at")
    )
    visitors = [row for row in reached if rng.randrange(100) < VISITS_PER_100]
    roles = list(CALL_ROLES)
    contacts = Contact.objects.in_bulk([row[1] for row in visitors])
    signups = 0
    limit = now - timedelta(minutes=20)
    for delivery_id, contact_id, email, first_name, mailed_at in visitors:
        # Most answer within hours of the mail; the rest over the next two days.
        if rng.random() < 0.75:
            delay = timedelta(hours=rng.expovariate(1 / VISIT_MEAN_HOURS))
        else:
            delay = timedelta(hours=rng.uniform(12, 46))
        visit = mailed_at + delay + timedelta(minutes=rng.randrange(2, 50))
        # Drawn whether used or not, so that the draws that follow (who signs up) do not
        # depend on the hour the demo is made.
        morning = 7 + rng.random() * 2
        if timezone.localtime(visit).hour < 7:  # asleep: they read it in the morning
            visit += timedelta(hours=7)
        if visit > limit:  # not yet: those who answer late answered this morning
            visit = story_day(now, 0, morning)
        visit = min(visit, limit)
        contact = contacts[contact_id]
        mark = timezone.now()
        record_visit(call, contact)
        CallEvent.objects.filter(call=call, contact=contact, at__gte=mark).update(at=visit)
        if rng.randrange(100) >= SIGNUPS_PER_100_VISITS:
            continue
        signup_at = min(visit + timedelta(minutes=rng.randrange(3, 40)), limit)
        enlistment = confirm_enlistment(
            signup=VolunteerSignup(
                email=email,
                first_name=first_name or contact.first_name,
                last_name=contact.last_name,
                postcode=contact.postcode,
                phone="",
                roles=tuple(rng.sample(roles, k=rng.choice((1, 1, 2)))),
                weekly_hours=rng.choice((1, 2, 3, 5)),
                windows=window_mask(((rng.randrange(7), rng.randrange(3)),)),
                skills=(),
                languages=("fr",),
                ip=None,
                user_agent=USER_AGENT,
                requested_at=signup_at - timedelta(minutes=2),
                call_id=call.pk,
                call_delivery=delivery_id,
            ),
            ip=None,
            user_agent=USER_AGENT,
        )
        if enlistment is None or not enlistment.profile_created:
            continue
        _backdate_answer(call, enlistment.volunteer, visit=visit, signup=signup_at)
        signups += 1
    return signups


def _backdate_volunteer(volunteer: Volunteer, *, at: datetime) -> None:
    """History: the volunteer's account, profile and volunteering consent date from `at`."""
    Volunteer.objects.filter(pk=volunteer.pk).update(created_at=at, updated_at=at)
    User.objects.filter(pk=volunteer.pk).update(date_joined=at)
    Consent.objects.filter(
        contact__volunteers__pk=volunteer.pk, purpose=Purpose.VOLUNTEERING
    ).update(created_at=at, updated_at=at, confirmed_at=at)


def _backdate_answer(
    call: Call, volunteer: Volunteer, *, visit: datetime, signup: datetime
) -> None:
    """History: the visit and the sign-up of one person who answered the call."""
    events = CallEvent.objects.filter(call=call, contact=volunteer.contact)
    events.filter(kind=CallEvent.Kind.VISIT).update(at=visit)
    events.filter(kind=CallEvent.Kind.SIGNUP).update(at=signup)
    _backdate_volunteer(volunteer, at=signup)


# --- Missions proved, reviewed; invitations ---------------------------------------------------

RETURN_NOTE = (
    "Le lien mène à la page d'accueil du forum, pas à votre message : pouvez-vous donner le "
    "lien direct vers votre réponse ?"
)
# What a proof of each mission of MISSIONS holds: a link and a note, in the volunteer's words.
PROOF_OF = (
    (
        "https://forum.exemple.fr/t/transports-du-quotidien/{n}",
        "Deux réponses dans le fil sur la ligne 9, en mon nom.",
    ),
    (
        "https://agenda.exemple.fr/evenements/reunion-publique-paris-11e-{n}",
        "Trois voisins invités par message personnel ; deux viennent samedi.",
    ),
)
# (person, mission index in MISSIONS, outcome, claimed, submitted, reviewed): hours after the
# call for those who answered it, hours before the first run (negative) for the others.
PROOFS: tuple[tuple[str, int, str, float, float, float | None], ...] = (
    ("camille.martin@essaim.localhost", 0, "accepted", 5, 9, 12),
    ("karim.benali@essaim.localhost", 0, "accepted", 14, 22, 26.5),
    ("lea.moreau@essaim.localhost", 0, "submitted", 27, 34, None),
    (DEMO_VOLUNTEER, 0, "returned", -9 * 24, -8 * 24, -7 * 24 + 3),
    (DEMO_VOLUNTEER, 1, "submitted", -4 * 24, -20, None),
)


def _prove_missions(*, team: Team, coordinator: User, sent_at: datetime, now: datetime) -> int:
    """Once (while the team's missions have no claim): the members claim them, prove their
    work, and the coordinator accepts, returns with a note, or has yet to review. Returns the
    proofs submitted."""
    missions = [
        Mission.objects.filter(team=team, title=title).order_by("-pk").first()
        for _kind, _role, title, _brief in MISSIONS
    ]
    if any(m is None for m in missions) or Claim.objects.filter(mission__team=team).exists():
        return 0
    published = now - timedelta(days=21)
    for mission in missions:
        assert mission is not None
        Mission.objects.filter(pk=mission.pk).update(created_at=published, published_at=published)
        notifications.backdate(kinds=[notices.MISSION_OFFERED], object_id=mission.pk, at=published)
    proved = 0
    for email, index, outcome, claimed_h, submitted_h, reviewed_h in PROOFS:
        mission = missions[index]
        volunteer = Volunteer.objects.filter(user__email=email).first()
        if mission is None or volunteer is None:
            continue
        origin = sent_at if claimed_h >= 0 else now
        claim = claim_mission(volunteer=volunteer, mission_id=mission.pk)
        url, note = PROOF_OF[index]
        submit_proof(claim=claim, urls=[url.format(n=1000 + claim.pk)], note=note)
        if outcome == "accepted":
            accept_claim(claim=claim, by=coordinator)
        elif outcome == "returned":
            return_claim(claim=claim, by=coordinator, feedback=RETURN_NOTE)
        # History: the claim, its proof and its review on their days.
        submitted = origin + timedelta(hours=submitted_h)
        reviewed = origin + timedelta(hours=reviewed_h) if reviewed_h is not None else None
        Claim.objects.filter(pk=claim.pk).update(
            claimed_at=origin + timedelta(hours=claimed_h),
            submitted_at=submitted,
            reviewed_at=reviewed,
        )
        Proof.objects.filter(claim=claim).update(submitted_at=submitted)
        # The notifications on their days too; what was reviewed was read by its reviewers then.
        notifications.backdate(
            kinds=[notices.PROOF_TO_REVIEW],
            object_id=claim.pk,
            at=submitted,
            read_at=reviewed,
        )
        if reviewed is not None:
            notifications.backdate(
                kinds=[notices.PROOF_ACCEPTED, notices.PROOF_RETURNED],
                object_id=mission.pk,
                at=reviewed,
                recipient_id=volunteer.pk,
            )
            if outcome == "accepted":
                RoleAssignment.objects.filter(volunteer=volunteer, role=mission.role).update(
                    last_accepted_work_at=reviewed
                )
        proved += 1
    return proved


# Whom the demo volunteer invited from their address book, in two sittings (days before the
# first run), and what became of it: "confirmed", "reported" (abuse) or "" (no answer yet).
INVITEES: tuple[tuple[int, tuple[tuple[str, str], ...]], ...] = (
    (
        16,
        (
            ("sophie.garnier.carnet@orange.fr", "confirmed"),
            ("marc.lefevre.carnet@gmail.com", "confirmed"),
            ("nadia.haddad.carnet@free.fr", "confirmed"),
            ("paul.robin.carnet@laposte.net", ""),
            ("julie.faure.carnet@gmail.com", "reported"),
        ),
    ),
    (
        6,
        (
            ("yann.kerbrat.carnet@gmail.com", "confirmed"),
            ("ana.dasilva.carnet@hotmail.fr", ""),
            ("louis.perrin.carnet@sfr.fr", ""),
        ),
    ),
)
INVITE_NOTE = "On en parlait dimanche : voici la campagne dont je t'ai parlé."


def _invite(*, now: datetime) -> int:
    """Once: the demo volunteer (a mondain) invites people from their address book; some
    confirm (crediting them points), one reports the invitation as unwanted. Returns the
    invitations made now."""
    volunteer = Volunteer.objects.filter(user__email=DEMO_VOLUNTEER).first()
    if volunteer is None or InvitationRequest.objects.filter(volunteer=volunteer).exists():
        return 0
    made = 0
    for days_ago, invitees in INVITEES:
        at = story_day(now, days_ago, 20.5)
        addresses = [email for email, _outcome in invitees]
        request_invitations(volunteer=volunteer, addresses=addresses, note=INVITE_NOTE)
        # History: that sitting's requests free no room in today's limit.
        InvitationRequest.objects.filter(volunteer=volunteer, created_at__gt=at).update(
            created_at=at
        )
        # The queued job's work, done here on the spot (a later run of the job finds them
        # invited already); the mails of the past are not sent again today.
        with override_settings(MAILERS=NO_MAIL):
            send_invitations(
                volunteer_id=volunteer.pk, emails=addresses, note=INVITE_NOTE, language="fr"
            )
        for n, (email, outcome) in enumerate(invitees):
            invitation = Invitation.objects.filter(email_hash=_hash(email)).first()
            if invitation is None:
                continue
            made += 1
            answered = at + timedelta(hours=3 + 17 * n)
            if invitation.contact_id is not None:
                backdate_contacts([invitation.contact_id], {invitation.contact_id: at})
            mark = timezone.now()
            if outcome == "confirmed":
                confirm_invitation(invitation=invitation, ip=None, user_agent=USER_AGENT)
            elif outcome == "reported":
                report_invitation(invitation=invitation, ip=None, user_agent=USER_AGENT)
            Invitation.objects.filter(pk=invitation.pk).update(
                created_at=at,
                sent_at=at + timedelta(minutes=2),
                confirmed_at=answered if outcome == "confirmed" else None,
                reported_at=answered if outcome == "reported" else None,
            )
            if invitation.contact_id is not None:
                _backdate_answer_of(invitation, since=mark, at=answered)
    return made


def _backdate_answer_of(invitation: Invitation, *, since: datetime, at: datetime) -> None:
    """History: what the invitee's answer wrote (since `since`) dates from `at`."""
    contact_id = invitation.contact_id
    if contact_id is None:
        return
    Suppression.objects.filter(email_hash=invitation.email_hash, created_at__gte=since).update(
        created_at=at
    )
    Consent.objects.filter(contact_id=contact_id, confirmed_at__gte=since).update(
        confirmed_at=at, updated_at=at
    )
    Consent.objects.filter(contact_id=contact_id, withdrawn_at__gte=since).update(
        withdrawn_at=at, updated_at=at
    )
    ContactEvent.objects.filter(contact_id=contact_id, at__gte=since).update(at=at)
