"""Helpers of the calls' tests: a segment of mailable contacts, a call, a launched campaign whose
messages are built by the real message compiler, and the link each recipient gets."""

from __future__ import annotations

import re
from email import policy
from email.parser import BytesParser
from typing import Any

from django.conf import settings

from essaim.army.models import Call
from essaim.army.tests.factories import CallFactory
from essaim.mailing.message import CompiledMessage, Recipient
from essaim.mailing.models import Delivery
from essaim.mailing.services.campaigns import launch_campaign
from essaim.people.models import Contact, Segment
from essaim.people.tests.factories import make_contact

LINK_RE = re.compile(r"(https?://\S+/appel/\d+/(?:\?t=[A-Za-z0-9_-]+)?)")


def paris_segment(*people: tuple[str, str]) -> Segment:
    """Contacts in Paris with a mobilization consent, and the segment of Paris."""
    for email, first_name in people:
        make_contact(
            email,
            first_name=first_name,
            departement="75",
            postcode="75011",
            consents={"mobilization": "granted"},
        )
    return Segment.objects.create(name="Paris", definition={"departements": ["75"]})


def make_call(segment: Segment, user: Any = None, **changes: Any) -> Call:
    """CallFactory with the older positional signature, for the tests that still call it."""
    return CallFactory.create(segment=segment, user=user, **changes)


def launch(call: Call) -> list[Delivery]:
    launch_campaign(call.campaign)
    return list(Delivery.objects.filter(campaign=call.campaign).order_by("id"))


def mail_text(call: Call, delivery: Delivery) -> str:
    """The plain-text part of the message the sender builds for this ledger row."""
    message = CompiledMessage(call.campaign)
    raw = message.render(
        Recipient(
            delivery.pk,
            delivery.contact_id,
            delivery.email,
            delivery.email_hash,
            delivery.first_name,
        )
    )
    parsed = BytesParser(policy=policy.default).parsebytes(raw)
    part = parsed.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]


def link_of(call: Call, contact: Contact) -> str:
    """The path (with its token) of the link in the contact's message."""
    delivery = Delivery.objects.get(campaign=call.campaign, contact=contact)
    found = LINK_RE.search(mail_text(call, delivery))
    assert found is not None
    return found[1].removeprefix(settings.SITE_URL)
