"""Campaign life: drafts, preview and test sends, approval, blackouts, launch (freeze + start),
pause, resume, cancel. Counts, progress and results: essaim.mailing.services.progress.

A launch is one transaction: the audience is frozen into the ledger, then checked (approval
above the threshold, blackout windows on the frozen départements); a refusal raises and the
whole freeze rolls back, so a refused launch changes nothing. Every launch, approval, pause,
resume and cancel is written to the audit log in the same transaction as the change.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from email import policy
from email.parser import BytesParser
from email.utils import formataddr, parseaddr
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from essaim.accounts.services import audit
from essaim.lib.text import InvalidValue, normalize_email
from essaim.mailing import links as mailing_links
from essaim.mailing import rules
from essaim.mailing.message import (
    FIELDS,
    LINK_FIELDS,
    CompiledMessage,
    Recipient,
    TemplateError,
    parse_subject,
    parse_template,
    slot_names,
)
from essaim.mailing.models import Campaign, Delivery
from essaim.mailing.sender.blackouts import BlackoutScope, blackout_scope
from essaim.mailing.services import notifications as notices
from essaim.mailing.services.audience import freeze_audience
from essaim.mailing.services.composer import Rendered, render_campaign
from essaim.mailing.services.progress import OPEN_STATES, held_by_claims
from essaim.people.models import Contact, Purpose, Segment
from essaim.people.services.segments import saved_segment_condition, saved_segment_queryset

S = Campaign.Status
D = Delivery.Status
MAX_TEST_ADDRESSES = 10


class CampaignStateError(Exception):
    """The campaign is not in a state that allows this."""


class CampaignRefused(Exception):
    """A launch, an approval or an edit that the rules refuse; `code` for the API and tests."""

    code = "refused"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ApprovalRequired(CampaignRefused):
    code = "approval_required"


class ApprovalRefused(CampaignRefused):
    code = "approval_refused"


class BlackedOut(CampaignRefused):
    code = "blackout"


class AudienceMissing(CampaignRefused):
    code = "no_audience"


class AudienceChanged(CampaignRefused):
    """The audience a launch would freeze is not the one the person confirmed (`expected`):
    `count` is the audience now, to ask again with."""

    code = "audience_changed"

    def __init__(self, message: str, *, count: int, expected: int) -> None:
        super().__init__(message)
        self.count = count
        self.expected = expected


class InvalidCampaign(CampaignRefused):
    """`field`: the field at fault (a form's field name, the API's too), or "" for the whole."""

    code = "invalid"

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


# --- Identities and drafts ------------------------------------------------------------------


def from_identities() -> list[tuple[str, str]]:
    """(name, address) of every configured sender identity (settings.MAILING_FROM_ADDRESSES)."""
    identities = []
    for raw in settings.MAILING_FROM_ADDRESSES:
        name, address = parseaddr(raw)
        if address:
            identities.append((name, address))
    return identities


def identity_label(name: str, address: str) -> str:
    return formataddr((name, address))


def _identity(from_address: str) -> tuple[str, str]:
    wanted = parseaddr(from_address)[1].lower()
    for name, address in from_identities():
        if address.lower() == wanted:
            return name, address
    raise InvalidCampaign(
        _("« %(address)s » n'est pas une adresse d'expédition configurée.")
        % {"address": from_address},
        field="from_address",
    )


def check_content(
    *, subject: str, preheader: str, body_markdown: str, links: frozenset[str] = frozenset()
) -> Rendered:
    """A message's templates rendered from its content; InvalidCampaign at the field at fault
    (the subject, the preview text, the body) when its personalization is not allowed."""
    try:
        parse_subject(subject)
    except TemplateError as exc:
        raise InvalidCampaign(str(exc), field="subject") from exc
    try:
        # The preview text is shown before the message opens: no slot there.
        parse_template(preheader, html=False, allow=frozenset())
    except TemplateError as exc:
        raise InvalidCampaign(str(exc), field="preheader") from exc
    try:
        return render_campaign(
            subject=subject, preheader=preheader, body_markdown=body_markdown, links=links
        )
    except TemplateError as exc:
        raise InvalidCampaign(str(exc), field="body_markdown") from exc


def save_draft(
    *,
    user: Any,
    campaign: Campaign | None = None,
    name: str,
    from_address: str,
    subject: str,
    body_markdown: str,
    reply_to: str = "",
    preheader: str = "",
    audience_all: bool = False,
    segment: Segment | None = None,
    exclude_segments: list[Segment] | tuple[Segment, ...] = (),
    scheduled_at: dt.datetime | None = None,
    purpose: str = Purpose.NEWS,
    links: frozenset[str] = frozenset(),
) -> Campaign:
    """Create or update a draft and render its templates from the Markdown.

    `links`: extra link slots a new campaign may use (a call for volunteers creates its
    campaign with `call_url`); an existing campaign may use those its app claims for it.
    Raises InvalidCampaign (unknown identity, bad personalization syntax, a campaign that is no
    longer a draft). Any edit withdraws an approval: one approves what will be sent."""
    from_name, from_email = _identity(from_address)
    if purpose not in Purpose.values:
        raise InvalidCampaign(_("Finalité inconnue."))
    claimed: frozenset[str] = frozenset()
    if campaign is not None:
        claimed = frozenset(mailing_links.builders(campaign, settings.SITE_URL))
        links = links | claimed
    rendered = check_content(
        subject=subject, preheader=preheader, body_markdown=body_markdown, links=links
    )
    missing = claimed - slot_names(rendered.text, allow=FIELDS | LINK_FIELDS | links)
    if missing:
        # A campaign an app made for its link (a call for volunteers) is pointless without it.
        raise InvalidCampaign(
            _("Ce message doit garder son lien personnel {{ %(name)s }}.") % {"name": min(missing)},
            field="body_markdown",
        )
    now = timezone.now()
    with transaction.atomic():
        if campaign is None:
            campaign = Campaign(created_by=user if getattr(user, "pk", None) else None)
        elif Campaign.objects.select_for_update().get(pk=campaign.pk).status != S.DRAFT:
            raise InvalidCampaign(_("Seul un brouillon peut être modifié."))
        campaign.name = name or subject
        campaign.from_name, campaign.from_email = from_name, from_email
        campaign.reply_to = reply_to
        campaign.subject = subject
        campaign.preheader = preheader
        campaign.body_markdown = body_markdown
        campaign.html_template = rendered.html
        campaign.text_template = rendered.text
        campaign.purpose = purpose
        campaign.audience_all = audience_all
        campaign.segment = None if audience_all else segment
        campaign.scheduled_at = scheduled_at
        campaign.approved_by = None
        campaign.approved_at = None
        campaign.updated_at = now
        campaign.save()
        campaign.exclude_segments.set([] if audience_all else list(exclude_segments))
    return campaign


def duplicate_campaign(campaign: Campaign, *, user: Any) -> Campaign:
    """A new draft with the campaign's message (sender, subject, preview text, body, purpose)
    and audience definition (all, or a segment minus its exclusions); nothing of its life: no
    ledger, no frozen count, no send time, no approval, the new author as creator.

    The templates are rendered again, without the links of the campaign's app (the copy is a
    plain campaign): a call's message with its `{{ call_url }}` is refused (InvalidCampaign)."""
    if campaign.body_markdown or not campaign.html_template:
        rendered = check_content(
            subject=campaign.subject,
            preheader=campaign.preheader,
            body_markdown=campaign.body_markdown,
        )
        html, text = rendered.html, rendered.text
    else:
        # Written straight as templates (scripts, benches): copied once they pass the checks.
        allow = FIELDS | LINK_FIELDS
        try:
            parse_subject(campaign.subject)
            parse_template(campaign.html_template, html=True, allow=allow)
            parse_template(campaign.text_template, html=False, allow=allow)
        except TemplateError as exc:
            raise InvalidCampaign(str(exc)) from exc
        html, text = campaign.html_template, campaign.text_template
    name = _("Copie de %(name)s") % {"name": campaign.name}
    now = timezone.now()
    with transaction.atomic():
        copy = Campaign.objects.create(
            name=name[:200],  # Campaign.name's max_length
            from_name=campaign.from_name,
            from_email=campaign.from_email,
            reply_to=campaign.reply_to,
            subject=campaign.subject,
            preheader=campaign.preheader,
            body_markdown=campaign.body_markdown,
            html_template=html,
            text_template=text,
            purpose=campaign.purpose,
            audience_all=campaign.audience_all,
            segment=None if campaign.audience_all else campaign.segment,
            created_by=user if getattr(user, "pk", None) else None,
            created_at=now,
            updated_at=now,
        )
        if not campaign.audience_all:
            copy.exclude_segments.set(list(campaign.exclude_segments.all()))
    return copy


# --- Audience -------------------------------------------------------------------------------


def audience_queryset(campaign: Campaign) -> QuerySet[Contact]:
    """Who the campaign targets before consent and suppression: every contact, or the segment
    minus its exclusions (one query). Raises AudienceMissing."""
    if campaign.audience_all:
        return Contact.objects.all()
    if campaign.segment is None:
        raise AudienceMissing(_("Choisissez un segment, ou toute la base."))
    contacts = saved_segment_queryset(campaign.segment)
    for excluded in campaign.exclude_segments.all():
        contacts = contacts.exclude(saved_segment_condition(excluded))
    return contacts


def estimate_audience(campaign: Campaign) -> int:
    """How many people a launch now would freeze: mailable contacts, one per address hash."""
    contacts = audience_queryset(campaign)
    mailable = Contact.objects.filter(pk__in=contacts.values("pk")).mailable(campaign.purpose)
    return mailable.order_by().values("email_hash").distinct().count()


def needs_approval(count: int) -> bool:
    return count > settings.MAILING_APPROVAL_THRESHOLD


# --- Blackout windows -----------------------------------------------------------------------


def is_blacked_out(campaign: Campaign, now: dt.datetime | None = None) -> bool:
    """True when the campaign may not send (or launch) at `now`: a national window is open, or
    a zone window covers someone it would still mail (its unsent ledger rows once frozen, its
    audience before). Contacts of unknown département are not covered by a zone window."""
    scope = blackout_scope(now)
    if scope.national:
        return True
    if not scope.departements:
        return False
    if campaign.frozen_at is not None:
        return Delivery.objects.filter(
            campaign=campaign, status__in=OPEN_STATES, departement__in=scope.departements
        ).exists()
    return audience_queryset(campaign).filter(departement__in=scope.departements).exists()


def blackout_message(scope: BlackoutScope) -> str:
    return _("Envoi interdit en ce moment (%(reasons)s).") % {"reasons": ", ".join(scope.reasons)}


# --- Approval and launch --------------------------------------------------------------------


def _check_approver(campaign: Campaign, user: Any) -> None:
    if not rules.can_manage_campaigns(user):
        raise ApprovalRefused(_("Seul un membre du QG peut approuver une campagne."))
    if campaign.created_by_id is not None and campaign.created_by_id == user.pk:
        raise ApprovalRefused(_("L'auteur d'une campagne ne peut pas l'approuver lui-même."))


def approve_campaign(campaign: Campaign, *, user: Any, request: Any = None) -> None:
    """A second HQ user approves a draft (needed above MAILING_APPROVAL_THRESHOLD)."""
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if locked.status != S.DRAFT:
            raise CampaignStateError(f"campaign {campaign.pk} is {locked.status}, not draft")
        _check_approver(locked, user)
        now = timezone.now()
        Campaign.objects.filter(pk=locked.pk).update(approved_by=user, approved_at=now)
        notices.approval_settled(campaign_id=locked.pk)
        audit(
            action="campaign.approve",
            actor=user,
            request=request,
            obj=locked,
            estimate=estimate_audience(locked),
        )
    campaign.refresh_from_db()


def launch_campaign(
    campaign: Campaign,
    contacts: QuerySet[Contact] | None = None,
    *,
    user: Any = None,
    request: Any = None,
    now: dt.datetime | None = None,
    expected: int | None = None,
) -> int:
    """Freeze the audience into the ledger and hand the campaign to the senders (or schedule it
    when `scheduled_at` is in the future). Returns the audience.

    `contacts` overrides the campaign's own audience (scripts, benches). Refused — with nothing
    written — when the frozen audience is not `expected` (the count the person confirmed:
    AudienceChanged), when a blackout window covers the frozen audience at the send time, or
    when the audience is above the threshold without the approval of an HQ user other than the
    author; then HQ is told that an approval waits (request_approval), outside the launch's
    rollback.
    """
    try:
        return _launch(
            campaign,
            contacts,
            user=user,
            request=request,
            now=now or timezone.now(),
            expected=expected,
        )
    except ApprovalRequired:
        request_approval(campaign, user=user)
        raise


def request_approval(campaign: Campaign, *, user: Any = None) -> int:
    """Tell the HQ members who may approve the campaign (all but its author and `user`) that
    it waits for them; returns how many were told. Asking again tells them again."""
    return notices.approval_requested(
        campaign_id=campaign.pk,
        author_id=campaign.created_by_id,
        actor_id=getattr(user, "pk", None),
    )


def _launch(
    campaign: Campaign,
    contacts: QuerySet[Contact] | None,
    *,
    user: Any,
    request: Any,
    now: dt.datetime,
    expected: int | None,
) -> int:
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if locked.status != S.DRAFT:
            raise CampaignStateError(f"campaign {campaign.pk} is {locked.status}, not draft")
        send_at = max(now, locked.scheduled_at) if locked.scheduled_at else now
        scope = blackout_scope(send_at)
        if scope.national:  # before freezing: no need to write a million rows to refuse
            raise BlackedOut(blackout_message(scope))
        source = contacts if contacts is not None else audience_queryset(locked)
        count = freeze_audience(locked, source)
        # Counted by the freeze itself, under the campaign's lock: a segment that grew since the
        # person's confirmation is asked about again, never sent to more than they agreed to.
        if expected is not None and count != expected:
            raise AudienceChanged(
                _("Le public a changé depuis votre confirmation."), count=count, expected=expected
            )
        if (
            scope.departements
            and Delivery.objects.filter(
                campaign=locked, departement__in=scope.departements
            ).exists()
        ):
            raise BlackedOut(blackout_message(scope))
        if needs_approval(count):
            approver = locked.approved_by
            if approver is None:
                raise ApprovalRequired(
                    _(
                        "%(count)s destinataires : au-delà de %(limit)s, un second membre du QG "
                        "doit approuver la campagne."
                    )
                    % {"count": count, "limit": settings.MAILING_APPROVAL_THRESHOLD}
                )
            _check_approver(locked, approver)
        later = send_at > now
        locked.status = S.SCHEDULED if later else S.SENDING
        locked.started_at = None if later else now
        locked.updated_at = now
        locked.save(update_fields=["status", "started_at", "updated_at"])
        notices.approval_settled(campaign_id=locked.pk)
        audit(
            action="campaign.launch",
            actor=user,
            request=request,
            obj=locked,
            audience=count,
            approved_by=locked.approved_by.email if locked.approved_by else "",
            scheduled_at=send_at.isoformat() if later else "",
        )
    campaign.refresh_from_db()
    return count


# --- Pause, resume, cancel ------------------------------------------------------------------


def _move(campaign: Campaign, *, allowed: set[str], to: str, **stamps: Any) -> None:
    now = timezone.now()
    changed = Campaign.objects.filter(pk=campaign.pk, status__in=allowed).update(
        status=to, updated_at=now, **{k: now for k in stamps}
    )
    if not changed:
        campaign.refresh_from_db(fields=["status"])
        raise CampaignStateError(f"campaign {campaign.pk} is {campaign.status}, not {allowed}")
    campaign.refresh_from_db()


def pause_campaign(campaign: Campaign, *, user: Any = None, request: Any = None) -> None:
    """Senders stop starting messages of this campaign within a poll interval (~0.25 s)."""
    with transaction.atomic():
        _move(campaign, allowed={S.SENDING, S.SCHEDULED}, to=S.PAUSED, paused_at=True)
        if user is not None or request is not None:
            audit(action="campaign.pause", actor=user, request=request, obj=campaign)


def resume_campaign(campaign: Campaign, *, user: Any = None, request: Any = None) -> None:
    """Back to sending, or to scheduled when it was paused before its send time."""
    now = timezone.now()
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if locked.status != S.PAUSED:
            raise CampaignStateError(f"campaign {campaign.pk} is {locked.status}, not paused")
        later = locked.scheduled_at is not None and locked.scheduled_at > now
        locked.status = S.SCHEDULED if later else S.SENDING
        locked.started_at = locked.started_at or (None if later else now)
        locked.updated_at = now
        locked.save(update_fields=["status", "started_at", "updated_at"])
        if user is not None or request is not None:
            audit(action="campaign.resume", actor=user, request=request, obj=locked)
    campaign.refresh_from_db()


def unsent_count(campaign: Campaign) -> int:
    """How many of the campaign's messages have not left yet (waiting or deferred): what a
    cancellation now would stop, give or take the ones a sender is handing to the relay."""
    return Delivery.objects.filter(campaign=campaign, status__in=[D.PENDING, D.DEFERRED]).count()


def cancel_campaign(campaign: Campaign, *, user: Any = None, request: Any = None) -> int:
    """Stop for good: rows not yet sent become `cancelled` in one UPDATE (claimed ones are
    settled by their senders, who see the status within a poll interval). Returns the rows
    cancelled here."""
    with transaction.atomic():
        _move(
            campaign,
            allowed={S.DRAFT, S.SCHEDULED, S.SENDING, S.PAUSED},
            to=S.CANCELLED,
            cancelled_at=True,
        )
        notices.approval_settled(campaign_id=campaign.pk)
        # After the campaign's row changed: claims in flight (which share-lock it) are committed
        # and visible, and no new one starts. Their rows are on their way: their senders settle
        # them.
        unsent = Delivery.objects.filter(campaign=campaign, status__in=[D.PENDING, D.DEFERRED])
        held = held_by_claims(campaign)
        cancelled = (unsent if held is None else unsent.exclude(held)).update(
            status=D.CANCELLED, next_attempt_at=None, last_change_at=timezone.now()
        )
        if user is not None or request is not None:
            audit(
                action="campaign.cancel",
                actor=user,
                request=request,
                obj=campaign,
                cancelled_rows=cancelled,
            )
    return cancelled


# --- Preview and test sends -----------------------------------------------------------------


@dataclass(frozen=True)
class Preview:
    subject: str
    html: str
    text: str


def preview_campaign(campaign: Campaign, contact: Contact | None = None) -> Preview:
    """The message exactly as the sender builds it (essaim.mailing.message), for `contact` or
    for a contact without a first name. Its unsubscribe link is a dead one: a preview or a test
    must never let its reader unsubscribe the previewed contact."""
    message = CompiledMessage(campaign)
    recipient = Recipient(
        delivery_id=0,
        contact_id=0,
        email=contact.email if contact is not None else "apercu@essaim.localhost",
        email_hash="apercu",
        first_name=contact.first_name if contact is not None else "",
    )
    parsed = BytesParser(policy=policy.default).parsebytes(message.render(recipient))
    html_part = parsed.get_body(preferencelist=("html",))
    text_part = parsed.get_body(preferencelist=("plain",))
    return Preview(
        subject=str(parsed["Subject"]),
        html=html_part.get_content() if html_part is not None else "",  # type: ignore[attr-defined]
        text=text_part.get_content() if text_part is not None else "",  # type: ignore[attr-defined]
    )


def parse_test_addresses(raw: str) -> list[str]:
    """Addresses separated by commas, semicolons or line breaks; InvalidCampaign otherwise."""
    parts = [p.strip() for p in raw.replace(";", ",").replace("\n", ",").split(",") if p.strip()]
    if not parts:
        raise InvalidCampaign(_("Indiquez au moins une adresse."))
    if len(parts) > MAX_TEST_ADDRESSES:
        raise InvalidCampaign(
            _("Au plus %(n)s adresses par envoi de test.") % {"n": MAX_TEST_ADDRESSES}
        )
    addresses = []
    for part in parts:
        try:
            addresses.append(normalize_email(part)[0])
        except InvalidValue as exc:
            raise InvalidCampaign(f"{part} : {exc}") from exc
    return addresses


def send_test(
    campaign: Campaign,
    *,
    addresses: list[str],
    contact: Contact | None = None,
    user: Any = None,
    request: Any = None,
) -> int:
    """Send the rendered campaign to a few addresses through Django's transactional mail
    (MAILERS), one message each, subject marked [TEST]. Never touches the ledger: test
    recipients are not the audience and the bulk relay's reputation is not spent on them."""
    preview = preview_campaign(campaign, contact)
    sender = formataddr((campaign.from_name, campaign.from_email))
    for address in addresses:
        message = EmailMultiAlternatives(
            f"[TEST] {preview.subject}",
            preview.text,
            from_email=sender,
            to=[address],
            reply_to=[campaign.reply_to] if campaign.reply_to else None,
            headers={"Auto-Submitted": "auto-generated"},
        )
        message.attach_alternative(preview.html, "text/html")
        message.send()
    audit(
        action="campaign.test_send",
        actor=user,
        request=request,
        obj=campaign,
        addresses=addresses,
    )
    return len(addresses)
