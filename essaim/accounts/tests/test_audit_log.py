"""The audit log reads as sentences: every action code written anywhere in the code has one
(registered by its app), the objects still there are linked, the others named by their number,
unknown codes read as a generic line; the page filters by who, family and dates, and sorts by
time either way (an unknown `?tri=` is the default order)."""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

import essaim
from essaim.accounts.models import AuditEvent
from essaim.accounts.services import audit, audit_log
from essaim.accounts.tests.factories import UserFactory
from essaim.army.models import RoleAssignment, Stage
from essaim.army.tests.factories import make_team, make_volunteer, seed_roles
from essaim.mailing.services.campaigns import launch_campaign
from essaim.mailing.tests.factories import CampaignFactory, make_audience
from essaim.people.models import Contact

pytestmark = pytest.mark.django_db
LOG = reverse("accounts:audit_log")
PARIS = ZoneInfo("Europe/Paris")


# --- Every code has its sentence --------------------------------------------------------------

# The functions whose `action=` argument is an audit code: audit() itself, and the API's
# read accounting, which passes its own on to it.
WRITERS = {"audit", "record_people_read"}


def written_codes() -> dict[str, str]:
    """Every constant action code passed to an audit writer in the code (tests aside), with the
    file it is written in; a conditional expression gives both of its codes."""
    codes: dict[str, str] = {}
    root = Path(essaim.__file__).parent
    for path in root.rglob("*.py"):
        if "tests" in path.parts or "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name not in WRITERS:
                continue
            for keyword in node.keywords:
                if keyword.arg != "action":
                    continue
                values = (
                    [keyword.value.body, keyword.value.orelse]
                    if isinstance(keyword.value, ast.IfExp)
                    else [keyword.value]
                )
                for value in values:
                    if isinstance(value, ast.Constant) and isinstance(value.value, str):
                        codes[value.value] = str(path.relative_to(root))
    return codes


def test_the_collector_finds_the_codes_of_every_app():
    codes = written_codes()
    # One of each writer, and both branches of a conditional code.
    assert {"contact.reveal", "campaign.launch", "army.join_approved", "army.join_declined"} <= set(
        codes
    )
    assert {"api_token.create", "2fa.enrol", "login.unlock", "contacts.read"} <= set(codes)
    assert len(codes) >= 40


def test_every_action_code_written_in_the_code_has_a_sentence_and_a_family():
    codes = written_codes()
    missing = {
        code: path for code, path in codes.items() if code not in audit_log.registered_codes()
    }
    assert missing == {}, "register a sentence for these codes (essaim/<app>/labels.py)"
    orphans = [code for code in codes if audit_log.family_of(code) is None]
    assert orphans == []


# --- Sentences --------------------------------------------------------------------------------


def sentence(event: AuditEvent, reader=None) -> str:
    (line,) = audit_log.lines([event], reader or UserFactory.create(hq=True))
    return str(line.sentence)


@pytest.fixture
def marie(db):
    return UserFactory.create(email="marie@qg.test", full_name="Marie Curie", hq=True)


def test_a_launch_says_who_which_campaign_how_many_and_when(marie):
    make_audience(3)
    at = dt.datetime(2026, 11, 12, 9, 0, tzinfo=PARIS)
    campaign = CampaignFactory.create(name="Lettre de novembre", scheduled_at=at)
    launch_campaign(campaign, Contact.objects.all(), user=marie, now=at - dt.timedelta(days=2))
    event = AuditEvent.objects.get(action="campaign.launch")
    url = reverse("mailing:campaign_detail", args=[campaign.pk])
    assert sentence(event) == (
        f'Marie Curie a lancé la campagne « <a href="{url}">Lettre de novembre</a> » vers 3 '
        "personnes (programmée le 12/11/2026 à 09:00)"
    )


def test_a_reveal_names_the_contact_and_links_to_it_while_it_exists(marie, paris_contact):
    event = audit(action="contact.reveal", actor=marie, obj=paris_contact)
    url = reverse("people:contact_detail", args=[paris_contact.pk])
    assert sentence(event) == (
        f'Marie Curie a révélé l\'adresse et le téléphone de <a href="{url}">Marie Curie</a>'
    ).replace("'", "&#x27;")
    pk = paris_contact.pk
    Contact.objects.filter(pk=pk).delete()
    # Gone: its number, no link.
    assert sentence(event) == f"Marie Curie a révélé l&#x27;adresse et le téléphone de n° {pk}"


def test_a_coordinator_reading_the_log_gets_no_link_to_a_contact_outside_their_zones(
    marie, coordinator, lyon_contact
):
    event = audit(action="contact.reveal", actor=marie, obj=lyon_contact)
    assert "<a " not in sentence(event, reader=coordinator)
    assert "<a " in sentence(event, reader=marie)


def test_a_tag_deletion_counts_with_plurals(marie):
    event = audit(
        action="tag.delete",
        actor=marie,
        object_type="people.tag",
        object_id=4,
        name="jeunes",
        contacts=1,
    )
    assert sentence(event) == (
        "Marie Curie a supprimé l&#x27;étiquette « jeunes » (portée par 1 contact)"
    )
    event = audit(
        action="tag.delete",
        actor=marie,
        object_type="people.tag",
        object_id=5,
        name="adhérents",
        contacts=12000,
    )
    assert sentence(event) == (
        "Marie Curie a supprimé l&#x27;étiquette « adhérents » (portée par 12\u202f000 contacts)"
    )


def test_a_role_move_names_the_volunteer_the_role_and_the_stages(marie):
    seed_roles()
    volunteer = make_volunteer("lea@exemple.fr", first_name="Léa", roles={"traceur": "applied"})
    assignment = RoleAssignment.objects.get(volunteer=volunteer)
    event = audit(
        action="army.role_moved",
        actor=marie,
        obj=assignment,
        volunteer=volunteer.pk,
        role=assignment.role_id,
        from_stage=Stage.APPLIED,
        to_stage=Stage.TRAINED,
    )
    url = reverse("army:accepted_work", args=[volunteer.pk])
    assert sentence(event) == (
        f'Marie Curie a fait passer <a href="{url}">Léa</a> de « Candidat » à « Formé » dans le '
        "rôle « Traceur »"
    )


def test_a_join_decision_names_the_member_and_the_team(marie):
    team = make_team("Paris centre")
    member = UserFactory.create(full_name="Louise Michel")
    event = audit(action="army.join_approved", actor=marie, obj=team, member=member.pk)
    url = reverse("army:team_dashboard", args=[team.pk])
    assert sentence(event) == (
        f'Marie Curie a accepté Louise Michel dans l\'équipe « <a href="{url}">Paris centre</a> »'
    ).replace("'", "&#x27;")


def test_a_lock_has_no_actor_and_says_the_account_and_the_failures(db):
    event = audit(
        action="login.locked", object_type="accounts.user", username="x@qg.test", failures=10
    )
    assert sentence(event) == "Connexion bloquée pour « x@qg.test » après 10 échecs"


def test_the_command_line_is_named_as_the_actor(paris_contact):
    event = audit(action="contact.access_export", obj=paris_contact, via="command")
    assert sentence(event).startswith("La ligne de commande a exporté les données de <a href=")


def test_an_unknown_code_reads_as_a_generic_line_never_a_dump(marie):
    event = audit(
        action="frobnicate.now",
        actor=marie,
        object_type="mailing.campaign",
        object_id=77,
        secret_detail="x",
    )
    assert sentence(event) == "Marie Curie a fait « frobnicate.now » sur n° 77"
    bare = audit(action="frobnicate.later")
    assert sentence(bare) == "Essaim a fait « frobnicate.later »"
    (line,) = audit_log.lines([event], marie)
    assert (line.known, str(line.family)) == (False, "Autres")


def test_names_and_details_are_escaped(marie):
    campaign = CampaignFactory.create(name="<script>alert(1)</script>")
    event = audit(action="campaign.pause", actor=marie, obj=campaign)
    html = sentence(event)
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    event = audit(action="tag.delete", actor=marie, name="<b>x</b>", contacts=0)
    assert "&lt;b&gt;x&lt;/b&gt;" in sentence(event)


def test_a_page_costs_the_same_queries_whatever_its_length(marie, django_assert_max_num_queries):
    campaigns = [CampaignFactory.create(name=f"C{i}") for i in range(20)]
    events = [audit(action="campaign.pause", actor=marie, obj=c) for c in campaigns]
    # The actors, then the campaigns: two queries for twenty entries.
    with django_assert_max_num_queries(2):
        lines = audit_log.lines(events, marie)
    assert len(lines) == 20


# --- The page ---------------------------------------------------------------------------------


def rows(client: Client, **params: str) -> list[str]:
    html = client.get(LOG, params).content.decode()
    return [row.split("</td>")[1].split(">", 1)[1] for row in html.split("<tr>")[2:]]


@pytest.fixture
def history(marie, hq, monkeypatch):
    """Three entries a day apart, by two people of two families. Written at those times (the
    log is append-only: PostgreSQL refuses to back-date a row)."""
    base = timezone.now() - dt.timedelta(days=3)
    entries: list[tuple[Any, str, dict[str, Any]]] = [
        (marie, "login.unlock", {"kind": "ip", "value": "203.0.113.9", "removed": 2}),
        (hq, "tag.delete", {"name": "jeunes", "contacts": 2}),
        (marie, "tag.delete", {"name": "vieux", "contacts": 1}),
    ]
    events = []
    now = timezone.now
    for i, (actor, action, details) in enumerate(entries):
        monkeypatch.setattr(timezone, "now", lambda i=i: base + dt.timedelta(days=i))
        events.append(audit(action=action, actor=actor, **details))
    monkeypatch.setattr(timezone, "now", now)
    return events


@pytest.mark.usefixtures("history")
def test_the_page_shows_sentences_newest_first_and_oldest_first_on_request(hq_client, marie):
    newest = rows(hq_client)
    assert [r.split(" a ")[0] for r in newest] == ["Marie Curie", "staff", "Marie Curie"]
    assert "supprimé l&#x27;étiquette « vieux »" in newest[0]
    assert rows(hq_client, tri="quand") == list(reversed(newest))
    # An unknown order is the default one, not an error.
    for bogus in ("qui", "-at", "quand;DROP TABLE accounts_auditevent"):
        response = hq_client.get(LOG, {"tri": bogus})
        assert response.status_code == 200
        assert rows(hq_client, tri=bogus) == newest
    html = hq_client.get(LOG).content.decode()
    assert '<th scope="col" aria-sort="descending"><a class="sort" href="?tri=quand">' in html
    assert "campaign.launch ·" not in html and "approved_by=" not in html


@pytest.mark.usefixtures("history")
def test_filters_by_who_by_family_and_by_dates(hq_client, marie):
    assert len(rows(hq_client, qui="curie")) == 2
    assert len(rows(hq_client, qui="MARIE@qg.test")) == 2
    assert len(rows(hq_client, famille="security")) == 1
    assert len(rows(hq_client, famille="base", qui="marie")) == 1
    day = timezone.localdate() - dt.timedelta(days=2)
    assert len(rows(hq_client, du=day.isoformat())) == 2
    assert len(rows(hq_client, du=day.isoformat(), au=day.isoformat())) == 1
    assert rows(hq_client, qui="personne") == []
    html = hq_client.get(LOG, {"qui": "personne"}).content.decode()
    assert "Aucun événement ne correspond à ces filtres" in html


@pytest.mark.usefixtures("history")
def test_bad_filters_are_shown_at_their_field_and_filter_nothing(hq_client):
    response = hq_client.get(LOG, {"du": "pas-une-date", "famille": "inconnue"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Saisissez une date valide." in html
    assert len(rows(hq_client, du="pas-une-date", famille="inconnue")) == 3
    later = timezone.localdate()
    html = hq_client.get(LOG, {"du": later.isoformat(), "au": "2020-01-01"}).content.decode()
    assert "La fin de la période précède son début." in html


def test_an_empty_log_says_so(hq_client):
    html = hq_client.get(LOG).content.decode()
    assert '<p class="empty-title">Le journal est vide</p>' in html
    html = hq_client.get(LOG, {"famille": "campaigns"}).content.decode()
    assert '<p class="empty-title">Aucun événement ne correspond à ces filtres</p>' in html


def test_pages_of_fifty_go_on_in_the_order_asked(hq_client, marie):
    for i in range(55):
        audit(action="tag.delete", actor=marie, name=f"t{i:02d}", contacts=0)
    first = hq_client.get(LOG, {"tri": "quand"}).content.decode()
    assert "« t00 »" in first and "« t49 »" in first and "« t50 »" not in first
    assert "Suivants →" in first
    after = first.split('rel="next" href="?')[1].split('"')[0].replace("&amp;", "&")
    second = hq_client.get(f"{LOG}?{after}").content.decode()
    assert "« t50 »" in second and "« t54 »" in second and "« t49 »" not in second
