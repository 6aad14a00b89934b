"""A contact's page reads as words, not codes: every kind of timeline event written anywhere in
the code has a label, and the data of events (withdrawn purposes, suppression, proof references,
addresses, browsers, the values before a change, reasons, roles) read as words too."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

import essaim
from essaim.army.tests.factories import seed_roles
from essaim.mailing.services.bounces import EVENTS as BOUNCE_EVENTS
from essaim.people.models import Consent
from essaim.people.services import timeline
from essaim.people.services.signup import confirm_signup
from essaim.people.tests.factories import ContactEventFactory, make_contact

pytestmark = pytest.mark.django_db


def written_kinds() -> set[str]:
    """The kinds the code writes: record_event(contact, "kind", …), ContactEvent(kind="…"),
    confirm_signup(event="…") and its default, and the bounce intake's table of kinds."""
    kinds: set[str] = set(BOUNCE_EVENTS.values())
    kinds.add(inspect.signature(confirm_signup).parameters["event"].default)
    root = Path(essaim.__file__).parent
    for path in root.rglob("*.py"):
        if "tests" in path.parts or "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            found = []
            if name == "record_event" and len(node.args) >= 2:
                found.append(node.args[1])
            if ast.unparse(node.func) in {"ContactEvent", "ContactEvent.objects.create"}:
                found += [k.value for k in node.keywords if k.arg == "kind"]
            if name == "confirm_signup":
                found += [k.value for k in node.keywords if k.arg == "event"]
            kinds |= {
                v.value for v in found if isinstance(v, ast.Constant) and isinstance(v.value, str)
            }
    return kinds


def test_every_kind_of_event_written_in_the_code_has_a_label():
    kinds = written_kinds()
    assert {"created", "unsubscribed", "invitation_confirmed", "hard_bounce", "reveal"} <= kinds
    assert {"signup_confirmed", "volunteer_signup_confirmed", "suppression_lifted"} <= kinds
    assert kinds - timeline.registered_kinds() == set()


def test_an_unknown_kind_reads_as_words():
    assert timeline.event_label("some_new_thing") == "Autre événement (some new thing)"


def hint_of(html: str, label: str) -> str:
    entry = html.split(f"<strong>{label}</strong>")[1].split("</li>")[0]
    return entry.split('<span class="hint">')[1].split("</span>")[0]


def test_an_unsubscription_reads_as_words(hq_client):
    contact = make_contact("lea@exemple.fr")
    ContactEventFactory.create(
        contact=contact,
        kind="unsubscribed",
        data={
            "scope": "all",
            "withdrawn": ["news", "mobilization"],
            "suppressed": True,
            "channel": "one_click",
            "source_ref": "42",
            "ip": "203.0.113.7",
            "user_agent": "Firefox/128",
        },
    )
    html = hq_client.get(reverse("people:contact_detail", args=[contact.pk])).content.decode()
    assert hint_of(html, "Désinscription") == (
        "consentements retirés : Actualités, Mobilisation · campagne : n° 42 · "
        "adresse bloquée : oui · portée : tout · canal : désinscription en un clic (messagerie) · "
        "adresse IP : 203.0.113.7 · navigateur : Firefox/128"
    )


def test_a_change_a_lifted_suppression_and_requested_roles_read_as_words(hq_client):
    seed_roles()
    contact = make_contact("lea@exemple.fr")
    ContactEventFactory.create(
        contact=contact,
        kind="updated",
        data={"fields": ["first_name", "region"], "before": {"first_name": "Lea", "region": "11"}},
    )
    ContactEventFactory.create(
        contact=contact, kind="suppression_lifted", data={"reason": "own confirmed sign-up"}
    )
    ContactEventFactory.create(
        contact=contact, kind="volunteer_roles_requested", data={"roles": ["traceur", "mondain"]}
    )
    html = hq_client.get(reverse("people:contact_detail", args=[contact.pk])).content.decode()
    assert hint_of(html, "Modification") == (
        "champs : prénom, région · avant : prénom : Lea, région : Île-de-France"
    )
    assert hint_of(html, "Blocage de l&#x27;adresse levé") == (
        "motif : Nouvelle inscription confirmée par la personne"
    )
    assert hint_of(html, "Rôles de volontaire demandés") == "rôles : Traceur, Mondain"
    for code in ("own confirmed sign-up", "first_name", "traceur", "withdrawn", "suppressed"):
        assert code not in html


def test_a_consents_proof_and_withdrawal_reason_read_as_words(hq_client):
    contact = make_contact("lea@exemple.fr", consents={}, departement="75", region="11")
    Consent.objects.create(
        contact=contact,
        purpose="news",
        status="withdrawn",
        basis="explicit_consent",
        source="invitation",
        source_ref="volunteer:12",
        withdrawn_reason="hard_bounce",
        withdrawn_at=timezone.now(),
    )
    html = hq_client.get(reverse("people:contact_detail", args=[contact.pk])).content.decode()
    assert "<td>volontaire n° 12</td>" in html
    assert "(Adresse invalide)" in html
    assert "<dd>75 — Paris</dd>" in html and "<dd>Île-de-France</dd>" in html
    assert "volunteer:12" not in html and "hard_bounce" not in html
