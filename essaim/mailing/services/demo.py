"""The mailing's part of the demo: campaigns sent over the last weeks with their results, one
draft and one scheduled.

Each campaign is written by the composer's service and launched by the launch service (the
audience frozen into the ledger as a real launch does, from the contacts who were in the base on
that day); its bounces and complaints come in through the bounce intake's service (real delivery
status and feedback reports), its unsubscribes through the base's unsubscribe service. Only the
sending itself is not run (it needs the relay and the `sender` process): the ledger rows are
settled as the sender settles them, and, as for every piece of history, the timestamps are then
moved back to their day with plain UPDATEs.

Idempotent: a campaign whose name exists is left as it is.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from essaim.accounts.models import User
from essaim.accounts.services import DEMO_HQ_ADMIN, ensure_demo_accounts
from essaim.mailing.models import BounceReport, Campaign, Delivery
from essaim.mailing.services.bounces import record_report, verp_signer
from essaim.mailing.services.campaigns import (
    approve_campaign,
    estimate_audience,
    from_identities,
    identity_label,
    launch_campaign,
    needs_approval,
    save_draft,
)
from essaim.people.models import Consent, Contact, ContactEvent, Purpose, Suppression
from essaim.people.services.demo import story_day
from essaim.people.services.unsubscribe import unsubscribe, unsubscribe_target

D = Delivery.Status
SEND_MINUTES = 24  # how long the sender took over one campaign of the demo
SEND_STEPS = 12  # the ledger is settled in this many slices over SEND_MINUTES


@dataclass(frozen=True)
class PastCampaign:
    name: str
    subject: str
    body: str
    purpose: str
    days_ago: int
    hour: int
    # People among those mailed for the first time by this campaign (new addresses are the ones
    # that bounce) whose address bounced, who complained, who unsubscribed.
    bounced: int
    complained: int
    unsubscribed: int


PAST = (
    PastCampaign(
        "Lettre n°1 — la campagne est lancée",
        "La campagne est lancée : on compte sur vous",
        'Bonjour {{ first_name|default:"à toutes et à tous" }},\n\n'
        "La campagne est lancée. Dans les semaines qui viennent, nous vous écrirons pour vous "
        "dire où nous en sommes et comment agir près de chez vous.\n\n"
        "Merci d'être là.\n",
        Purpose.NEWS,
        42,
        18,
        4,
        1,
        3,
    ),
    PastCampaign(
        "Réunion publique du 11e",
        "Samedi, réunion publique dans le 11e",
        'Bonjour {{ first_name|default:"à toutes et à tous" }},\n\n'
        "Samedi à 15 h, salle Olympe-de-Gouges, venez débattre de nos propositions pour le "
        "quartier. Amenez vos questions et vos voisins.\n",
        Purpose.NEWS,
        27,
        12,
        3,
        1,
        4,
    ),
    PastCampaign(
        "Lettre n°2 — nos propositions pour l'école",
        "Nos propositions pour l'école, en cinq points",
        'Bonjour {{ first_name|default:"à toutes et à tous" }},\n\n'
        "Voici nos cinq propositions pour l'école, issues de la pétition que vous avez été "
        "nombreux à signer. Lisez-les, discutez-en, faites-les connaître.\n",
        Purpose.NEWS,
        10,
        18,
        2,
        0,
        5,
    ),
)
DRAFT = (
    "Lettre n°3 — la dernière ligne droite",
    "La dernière ligne droite",
    'Bonjour {{ first_name|default:"à toutes et à tous" }},\n\n'
    "Plus que quelques jours. Voici comment nous aider d'ici dimanche.\n",
)
SCHEDULED = (
    "Rappel : on vote dimanche",
    "Dimanche, on vote : votre bureau et vos horaires",
    'Bonjour {{ first_name|default:"à toutes et à tous" }},\n\n'
    "Dimanche, les bureaux de vote ouvrent à 8 h. Pensez à votre pièce d'identité, et "
    "proposez à un proche de venir avec vous.\n",
    4,  # days from now, at 18:00
)


def demo_from_address() -> str:
    return identity_label(*from_identities()[0])


# One transaction: the step is all or nothing (a run that fails leaves no half story that the
# next run would take as done), and SQLite syncs it to disk once rather than at every service's
# commit.
@transaction.atomic
def seed_demo_mailing() -> str:
    """Write the demo's campaigns (see the module's docstring); returns a summary line."""
    hq = ensure_demo_accounts()[DEMO_HQ_ADMIN]
    now = timezone.now()
    sent = 0
    for past in PAST:
        if not Campaign.objects.filter(name=past.name).exists():
            send_past_campaign(past, by=hq, now=now)
            sent += 1
    name, subject, body = DRAFT
    if not Campaign.objects.filter(name=name).exists():
        save_draft(
            user=hq,
            name=name,
            from_address=demo_from_address(),
            subject=subject,
            body_markdown=body,
            audience_all=True,
        )
    name, subject, body, days = SCHEDULED
    if not Campaign.objects.filter(name=name).exists():
        send_at = timezone.localtime(now + dt.timedelta(days=days)).replace(
            hour=18, minute=0, second=0, microsecond=0
        )
        campaign = save_draft(
            user=hq,
            name=name,
            from_address=demo_from_address(),
            subject=subject,
            body_markdown=body,
            audience_all=True,
            scheduled_at=send_at,
        )
        _launch(campaign, by=hq)
    return f"{sent} past campaigns sent with their results, a draft and a scheduled one"


def _launch(
    campaign: Campaign,
    *,
    by: User,
    contacts: object = None,
    at: dt.datetime | None = None,
) -> int:
    """Launch as HQ does; above the approval threshold (a large --contacts) the demo's HQ
    account approves a campaign left without an author, since nobody approves their own."""
    if needs_approval(estimate_audience(campaign)):
        Campaign.objects.filter(pk=campaign.pk).update(created_by=None)
        campaign.refresh_from_db()
        approve_campaign(campaign, user=by)
    return launch_campaign(campaign, contacts, user=by, now=at)  # type: ignore[arg-type]


def settle_as_sent(campaign: Campaign, *, at: dt.datetime, minutes: int = SEND_MINUTES) -> None:
    """Every ledger row accepted by the relay, in SEND_STEPS slices over `minutes` from `at`,
    as the sender leaves them; the campaign done. History: the dates are `at` and after."""
    ids = list(
        Delivery.objects.filter(campaign=campaign).order_by("pk").values_list("pk", flat=True)
    )
    size = max(1, -(-len(ids) // SEND_STEPS))
    for step in range(0, len(ids), size):
        chunk = ids[step : step + size]
        Delivery.objects.filter(pk__gte=chunk[0], pk__lte=chunk[-1], campaign=campaign).update(
            status=D.ACCEPTED,
            attempts=1,
            smtp_code=250,
            smtp_reply="250 2.0.0 Ok: queued",
            last_change_at=at + dt.timedelta(minutes=minutes * (step // size + 1) / SEND_STEPS),
        )
    Campaign.objects.filter(pk=campaign.pk).update(
        status=Campaign.Status.DONE,
        created_at=at - dt.timedelta(days=2, hours=3),
        frozen_at=at,
        started_at=at,
        finished_at=at + dt.timedelta(minutes=minutes),
        updated_at=at + dt.timedelta(minutes=minutes),
    )
    campaign.refresh_from_db()


def send_past_campaign(past: PastCampaign, *, by: User, now: dt.datetime) -> Campaign:
    at = story_day(now, past.days_ago, past.hour)
    campaign = save_draft(
        user=by,
        name=past.name,
        from_address=demo_from_address(),
        subject=past.subject,
        body_markdown=past.body,
        audience_all=True,
        purpose=past.purpose,
    )
    # The audience of that day: who was in the base then (and may be mailed now, which the
    # story keeps true: its later unsubscribes and bounces come after).
    _launch(campaign, by=by, contacts=Contact.objects.filter(created_at__lt=at), at=at)
    settle_as_sent(campaign, at=at)
    earlier = Delivery.objects.filter(campaign__started_at__lt=at).exclude(campaign=campaign)
    first_time = list(
        Delivery.objects.filter(campaign=campaign, contact__isnull=False)
        .exclude(email_hash__in=earlier.values("email_hash"))
        .order_by("pk")
        .values_list("pk", "contact_id", "email", "email_hash")
    )
    wanted = past.bounced + past.complained + past.unsubscribed
    every = max(1, len(first_time) // (wanted + 1))
    picked = first_time[every - 1 :: every][:wanted]
    for n, (delivery_id, contact_id, email, hashed) in enumerate(picked):
        when = at + dt.timedelta(minutes=40 + 97 * n)
        mark = timezone.now()
        if n < past.bounced:
            record_report(delivery_id=delivery_id, raw=_dsn(delivery_id, email, when))
        elif n < past.bounced + past.complained:
            record_report(delivery_id=delivery_id, raw=_arf(delivery_id, email, past, when))
        else:
            unsubscribe(
                unsubscribe_target(contact_id, hashed),
                purposes=None,
                channel="one_click",
                source_ref=str(campaign.pk),
            )
        _backdate_exit(delivery_id, contact_id, hashed, since=mark, at=when)
    return campaign


def _backdate_exit(
    delivery_id: int, contact_id: int, hashed: str, *, since: dt.datetime, at: dt.datetime
) -> None:
    """Move what a report or an unsubscribe wrote just now (since `since`) back to `at`."""
    BounceReport.objects.filter(delivery_id=delivery_id, received_at__gte=since).update(
        received_at=at
    )
    Delivery.objects.filter(pk=delivery_id, last_change_at__gte=since).update(last_change_at=at)
    Suppression.objects.filter(email_hash=hashed, created_at__gte=since).update(created_at=at)
    Consent.objects.filter(contact_id=contact_id, withdrawn_at__gte=since).update(
        withdrawn_at=at, updated_at=at
    )
    ContactEvent.objects.filter(contact_id=contact_id, at__gte=since).update(at=at)


def _verp(delivery_id: int) -> str:
    return verp_signer().address(delivery_id)


def _dsn(delivery_id: int, email: str, at: dt.datetime) -> bytes:
    """A delivery status notification (RFC 3464) as Postfix sends for an unknown mailbox."""
    date = at.strftime("%a, %d %b %Y %H:%M:%S +0000")
    verp = _verp(delivery_id)
    return (
        f"Return-Path: <>\r\nDate: {date}\r\n"
        "From: MAILER-DAEMON@mx.exemple.fr (Mail Delivery System)\r\n"
        f"Subject: Undelivered Mail Returned to Sender\r\nTo: {verp}\r\n"
        f"Message-Id: <demo-dsn-{delivery_id}@mx.exemple.fr>\r\n"
        "Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        f"<{email}>: host mx.exemple.fr said: 550 5.1.1 User unknown\r\n\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.exemple.fr\r\n\r\n"
        f"Final-Recipient: rfc822; {email}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        f"Diagnostic-Code: smtp; 550 5.1.1 <{email}>: Recipient address rejected: "
        "User unknown\r\n\r\n--B--\r\n"
    ).encode()


def _arf(delivery_id: int, email: str, past: PastCampaign, at: dt.datetime) -> bytes:
    """A feedback report (RFC 5965): the recipient pressed "this is spam"."""
    date = at.strftime("%a, %d %b %Y %H:%M:%S +0000")
    verp = _verp(delivery_id)
    return (
        f"Return-Path: <>\r\nFrom: feedback@arf.mail.yahoo.com\r\nTo: {verp}\r\n"
        f"Subject: FW: {past.subject}\r\nDate: {date}\r\n"
        f"Message-ID: <demo-arf-{delivery_id}@arf.mail.yahoo.com>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=feedback-report; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nAn abuse report.\r\n\r\n"
        "--B\r\nContent-Type: message/feedback-report\r\n\r\n"
        "Feedback-Type: abuse\r\nUser-Agent: Yahoo!-Mail-Feedback/2.0\r\nVersion: 1\r\n"
        f"Original-Mail-From: <{verp}>\r\nOriginal-Rcpt-To: <{email}>\r\n\r\n"
        "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"From: Campagne <equipe@essaim.localhost>\r\nTo: {email}\r\n"
        f"Subject: {past.subject}\r\n\r\n--B--\r\n"
    ).encode()
