"""The world the permission matrix runs in: one object of each kind, owned so that "this team"
and "another team" mean something, and the cast of roles with a session and an API token each.

Everything belongs to Paris: the contact lives in the 75, the mission, kit, talking point, join
request and proof belong to the Paris team, whose coordinator is `coordinator` (account role
coordinator, zones ["75"]). `other_coordinator` runs the Lyon team (zones ["69"]): the
coordinator of another team. `volunteer` is a fellow member of the Paris team, not the owner of
the claim, proof and invitation (those are `member`'s): the matrix asks what a volunteer reaches
of someone else's things; each app's own tests cover a volunteer's own.

Links that carry a token (sign-up and enlistment confirmations, unsubscribe, magic login,
invitations) get a forged token: the token is the only key to those pages, and what matters here
is that a forged one opens nothing, changes nothing and shows nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from essaim.accounts.models import Membership, Notification, Role, User
from essaim.accounts.tests.factories import PASSWORD, UserFactory
from essaim.api.models import Scope
from essaim.api.services import create_token
from essaim.army.models import Invitation, RoleAssignment, Stage
from essaim.army.services.kits import add_kit_file
from essaim.army.services.missions import claim_mission
from essaim.army.services.proofs import submit_proof
from essaim.army.services.talking_points import add_talking_point
from essaim.army.tests.call_helpers import make_call
from essaim.army.tests.factories import make_team, make_volunteer
from essaim.army.tests.mission_helpers import image_upload, make_mission
from essaim.devmail.models import CaughtMessage
from essaim.lib.text import normalize_email
from essaim.mailing.models import CampaignTemplate
from essaim.mailing.tests.factories import CampaignFactory
from essaim.people.models import ImportBatch, Segment, Tag, email_hash
from essaim.people.services.imports.runner import imports_dir
from essaim.people.tests.factories import make_contact
from essaim.watch.models import (
    Alert,
    Evidence,
    Item,
    MergeSuggestion,
    Story,
    Synthesis,
    Watchlist,
    WatchlistMatch,
    WebhookEndpoint,
)
from essaim.watch.services.submissions import submit
from essaim.watch.tests.factories import FetchLogFactory, ItemFactory, SourceFactory

# The roles of the matrix, in the order of the table's columns.
WEB_ROLES = ("anonymous", "volunteer", "coordinator", "other_coordinator", "hq", "hq_admin")
# API columns: the same users through a token of theirs with every scope, then `read_only`, a
# token of the HQ admin limited to the "read" scope (the most a read-only token could reach).
API_ROLES = (*WEB_ROLES, "read_only")

FORGED_TOKEN = "jeton-forge.AbCdEf:1vXyZ:Zm9yZ2Vk"  # a forged link token, no secret


@dataclass
class World:
    """Object ids by the names the table uses in its kwargs, the session key and API token of
    each role, and the personal data a refused answer must never show."""

    objects: dict[str, Any] = field(default_factory=dict)
    sessions: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    secrets: list[str] = field(default_factory=list)
    baseline: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)


def _session_for(user: User) -> str:
    """A logged-in session as Client.force_login writes it; each test's client only gets the
    cookie, so a test that logs out or logs in as someone else cannot affect the next one."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    store = SessionStore()
    store[SESSION_KEY] = user._meta.pk.value_to_string(user)
    store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.save()
    assert store.session_key is not None
    return store.session_key


def build_world() -> World:
    world = World()
    hq_admin = UserFactory.create(email="admin@qg.test", role=Role.HQ_ADMIN)
    hq = UserFactory.create(email="staff@qg.test", role=Role.HQ_STAFF)
    coordinator = UserFactory.create(
        email="coord.paris@equipe.test", role=Role.COORDINATOR, zones=["75"]
    )
    other_coordinator = UserFactory.create(
        email="coord.lyon@equipe.test", role=Role.COORDINATOR, zones=["69"]
    )

    paris = make_team("Paris 11e", departement="75", coordinators=[coordinator])
    make_team("Lyon 3e", departement="69", coordinators=[other_coordinator])
    volunteer = make_volunteer(
        "volontaire@equipe.test",
        roles={"tchatcheur": Stage.ACTIVE, "traceur": Stage.ACTIVE},
        teams=[paris],
        first_name="Valentin",
        password=PASSWORD,
    )
    member = make_volunteer(
        "membre.secret@exemple.fr",
        roles={"tchatcheur": Stage.ACTIVE},
        teams=[paris],
        first_name="Mireille",
    )
    applicant = make_volunteer("candidat.secret@exemple.fr", first_name="Anatole")
    request = Membership.objects.create(
        team=paris, user=applicant.user, state=Membership.State.REQUESTED
    )

    # The base: a contact of Paris (coordinator's zone), one of Lyon, a tag and a segment.
    contact = make_contact(
        "marie.curie@exemple.fr",
        first_name="Marie",
        last_name="Curiesecret",
        phone="+33612345678",
        postcode="75011",
        departement="75",
        consents={"news": "granted", "mobilization": "granted"},
        tags=["jeunes"],
    )
    # Lyon's contact is other_coordinator's own (their zone): its data is not among the secrets.
    make_contact(
        "louis.lumiere@exemple.fr",
        last_name="Lumieresecret",
        postcode="69003",
        departement="69",
        phone="+33478000000",
    )
    segment = Segment.objects.create(name="Paris", definition={"departements": ["75"]})
    report = imports_dir() / "matrice-lignes-invalides.csv"
    report.write_text("ligne;email\n3;jean.invalide.secret@exemple\n", encoding="utf-8")
    batch = ImportBatch.objects.create(
        created_by=hq,
        filename="adherents.csv",
        path=str(imports_dir() / "matrice.csv"),
        basis="membership",
        purposes=["news"],
        source="import",
        status=ImportBatch.Status.DONE,
        total_rows=2,
        processed_rows=2,
        invalid=1,
        report_path=str(report),
    )

    # Mailing and the army's calls.
    campaign = CampaignFactory.create()
    campaign_template = CampaignTemplate.objects.create(
        name="Appel du samedi", subject="Samedi", body_markdown="Rendez-vous samedi."
    )
    call = make_call(segment, user=hq)

    # Missions: a Paris mission, claimed and proved by `member`, with a kit file.
    mission = make_mission(by=coordinator, team=paris, title="Relayer le discours de Lille")
    claim = claim_mission(volunteer=member, mission_id=mission.pk)
    proof = submit_proof(
        claim=claim, urls=["https://forum.exemple.fr/t/1"], note="fait", screenshot=image_upload()
    )
    kit_file = add_kit_file(
        mission=mission,
        upload=SimpleUploadedFile(
            "tract.pdf", b"%PDF-1.4\n%\xe2\xe3\n1 0 obj\n<<>>\nendobj\n%%EOF\n"
        ),
        by=coordinator,
    )
    point = add_talking_point(
        title="Le pouvoir d'achat",
        body="Nos propositions, à dire avec vos mots.",
        tags=["economie"],
        team=paris,
        by=coordinator,
    )

    # An invitation sent by `member` (the invitee is only a hash until they confirm).
    invitee_key = normalize_email("ami.invite.secret@exemple.fr")[1]
    Invitation.objects.create(
        inviter=member, email_hash=email_hash(invitee_key), sent_at=timezone.now()
    )

    caught = CaughtMessage.objects.create(
        mail_from="equipe@campagne.test",
        rcpt_to=[contact.email],
        subject="Bonjour Marie",
        raw=(
            b"From: equipe@campagne.test\r\nTo: marie.curie@exemple.fr\r\n"
            b"Subject: Bonjour Marie\r\nMIME-Version: 1.0\r\n"
            b'Content-Type: multipart/alternative; boundary="b"\r\n\r\n'
            b"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nBonjour Marie Curiesecret\r\n"
            b"--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
            b"<p>Bonjour Marie Curiesecret</p>\r\n"
            b"--b--\r\n"
        ),
        received_at=timezone.now() - timedelta(minutes=1),
    )

    # The watch: a source with an item and a poll in its history.
    source = SourceFactory.create(url="https://blog.exemple.fr/feed/", created_by=hq)
    item = ItemFactory.create(source=source)
    FetchLogFactory.create(source=source)
    # A story of two echoes (one kept as evidence) and an item suggested for it.
    echo = ItemFactory.create(
        evidence=Evidence.objects.create(
            source=source, url=source.url, http_status=200, size=1, sha256="0" * 64, warc=b"x"
        )
    )
    story = Story.objects.create(title="Un sujet", first_item=item, first_source=source)
    Item.objects.filter(pk__in=[item.pk, echo.pk]).update(story=story)
    suggested = ItemFactory.create()
    suggestion = MergeSuggestion.objects.create(
        item=suggested,
        story=story,
        similar_item=item,
        similarity=0.5,
    )
    # Its own story, as the ingest would leave it.
    Item.objects.filter(pk=suggested.pk).update(story=Story.objects.create(title="Un autre"))
    watchlist = Watchlist.objects.create(name="Candidats", kind="names", query="Dupont")
    # The story is the triage's: the watchlist matched its first item.
    WatchlistMatch.objects.create(watchlist=watchlist, item=item, terms=["dupont"])
    # A Paris tracer's submission with a screenshot (who sent it is for HQ and the Paris
    # coordinator only).
    tracer = make_volunteer(
        "traceur.secret@exemple.fr",
        roles={"traceur": Stage.ACTIVE},
        teams=[paris],
        first_name="Tristansecret",
    )
    submission = submit(
        volunteer=tracer, url="https://tv.exemple.fr/emission/12", screenshot=image_upload()
    ).submission
    # Yesterday's synthesis, still a draft (the writers' only).
    synthesis = Synthesis.objects.create(date=timezone.localdate() - timedelta(days=1))
    # An alert on the story, as an urgent triage leaves it.
    alert = Alert.objects.create(kind=Alert.Kind.URGENT, story=story, title="Un sujet")
    webhook = WebhookEndpoint.objects.create(url="https://hooks.exemple.fr/essaim", secret="s")

    users = {
        "volunteer": volunteer.user,
        "coordinator": coordinator,
        "other_coordinator": other_coordinator,
        "hq": hq,
        "hq_admin": hq_admin,
    }
    world.sessions = {role: _session_for(user) for role, user in users.items()}
    issued = {
        role: create_token(user=user, name="matrice", scopes=Scope.values)
        for role, user in users.items()
    }
    world.tokens = {role: raw for role, (_row, raw) in issued.items()}
    world.tokens["read_only"] = create_token(user=hq_admin, name="lecture", scopes=["read"])[1]

    world.objects = {
        "contact": contact.pk,
        "segment": segment.pk,
        "tag": Tag.objects.get(name="jeunes").pk,
        "tag_name": "jeunes",
        "import": batch.pk,
        "campaign": campaign.pk,
        "campaign_template": campaign_template.pk,
        "call": call.pk,
        "team": paris.pk,
        "request": request.pk,
        "membership": Membership.objects.get(team=paris, user=member.user).pk,
        "member": member.pk,
        "assignment": RoleAssignment.objects.get(volunteer=member).pk,
        "mission": mission.pk,
        "claim": claim.pk,
        "proof": proof.pk,
        # The coordinator's: told of the proof to review when `member` submitted it.
        "notification": Notification.objects.get(recipient=coordinator, object_id=claim.pk).pk,
        "kit_file": kit_file.pk,
        "talking_point": point.pk,
        "caught": caught.pk,
        "source": source.pk,
        "item": item.pk,
        "story": story.pk,
        "suggestion": suggestion.pk,
        "evidence": echo.evidence_id,
        "watchlist": watchlist.pk,
        "submission": submission.pk,
        "synthesis": synthesis.pk,
        "alert": alert.pk,
        "webhook": webhook.pk,
        "staff_user": hq.pk,
        "api_token": issued["hq"][0].pk,
        "token": FORGED_TOKEN,
    }
    world.secrets = [
        contact.email,
        contact.phone,
        contact.last_name,
        member.user.email,
        applicant.user.email,
        "jean.invalide.secret@exemple",
        "ami.invite.secret@exemple.fr",
        tracer.user.email,
    ]
    return world
