"""Campaign services: drafts and Markdown, preview and test sends, approval, blackouts, launch,
pause/resume and cancel. A refused action changes nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from essaim.accounts.models import AuditEvent
from essaim.mailing.message import TemplateError
from essaim.mailing.models import Campaign, Delivery, DeliveryClaim
from essaim.mailing.services import campaigns as svc
from essaim.mailing.services.composer import markdown_to_html, sanitize_html
from essaim.mailing.services.progress import campaign_progress
from essaim.mailing.tests.factories import BlackoutWindowFactory
from essaim.mailing.tests.support import ledger_counts
from essaim.people.models import Segment
from essaim.people.tests.factories import make_contact

pytestmark = pytest.mark.django_db

IDENTITY = "equipe@essaim.localhost"


def draft(user: Any, **fields: Any) -> Campaign:
    values: dict[str, Any] = {
        "name": "Appel",
        "from_address": IDENTITY,
        "subject": "Nous avons besoin de vous",
        "body_markdown": 'Bonjour {{ first_name|default:"ami·e" }},\n\nRendez-vous **samedi**.',
        "audience_all": True,
    }
    values.update(fields)
    return svc.save_draft(user=user, **values)


def nothing_frozen(campaign: Campaign) -> bool:
    campaign.refresh_from_db()
    return (
        campaign.status == Campaign.Status.DRAFT
        and campaign.audience_count is None
        and not Delivery.objects.filter(campaign=campaign).exists()
    )


# --- Markdown and personalization ---------------------------------------------------------


def test_markdown_becomes_html_and_text_with_slots_and_unsubscribe_footer(hq: Any) -> None:
    campaign = draft(hq, body_markdown="# Titre\n\nVoir [le site](https://essaim.fr).")

    assert "<h1>Titre</h1>" in campaign.html_template
    assert '<a href="https://essaim.fr" rel="noopener noreferrer">le site</a>' in (
        campaign.html_template
    )
    assert '<a href="{{ unsubscribe_url }}"' in campaign.html_template
    assert campaign.text_template == (
        "# Titre\n\nVoir le site (https://essaim.fr).\n\n-- \n"
        "Pour ne plus recevoir nos messages : {{ unsubscribe_url }}\n"
    )


def test_markdown_sanitizing_removes_script_tags_and_javascript_links() -> None:
    html = markdown_to_html(
        "<script>alert(1)</script>\n\n[clic](javascript:alert(2)) "
        '<a href="javascript:alert(3)">x</a> [ok](JaVaScRiPt:alert(5)) <img src=x onerror=alert(6)>'
    )

    # Raw HTML stays text, and a javascript: link is not a link.
    assert html == (
        "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>\n"
        '<p>[clic](javascript:alert(2)) &lt;a href="javascript:alert(3)"&gt;x&lt;/a&gt; '
        "[ok](JaVaScRiPt:alert(5)) &lt;img src=x onerror=alert(6)&gt;</p>\n"
    )


def test_sanitizer_strips_scripts_handlers_styles_and_javascript_urls() -> None:
    dirty = (
        '<script>alert(1)</script><a href="javascript:alert(2)" onclick="x">y</a>'
        '<img src="javascript:a" onerror="b"><p style="color:red">z</p>'
        '<a href="https://essaim.fr">ok</a>'
    )

    assert sanitize_html(dirty) == (
        '<a rel="noopener noreferrer">y</a><img><p>z</p>'
        '<a href="https://essaim.fr" rel="noopener noreferrer">ok</a>'
    )


def test_first_name_cannot_be_a_link_target() -> None:
    with pytest.raises(TemplateError):
        markdown_to_html("[ici]({{ first_name }})")


def test_template_syntax_other_than_the_whitelisted_fields_is_refused(hq: Any) -> None:
    with pytest.raises(svc.InvalidCampaign):
        draft(hq, body_markdown="{% load static %}{{ request.user }}")
    assert Campaign.objects.count() == 0


def test_unknown_sender_identity_is_refused(hq: Any) -> None:
    with pytest.raises(svc.InvalidCampaign):
        draft(hq, from_address="pirate@ailleurs.test")
    assert Campaign.objects.count() == 0


# --- Preview and test sends ---------------------------------------------------------------


def test_preview_escapes_html_and_script_in_first_names(hq: Any) -> None:
    contact = make_contact("x@exemple.fr", first_name="<script>alert(1)</script>")
    campaign = draft(hq)

    preview = svc.preview_campaign(campaign, contact)

    assert "Bonjour &lt;script&gt;alert(1)&lt;/script&gt;," in preview.html
    assert "<script>" not in preview.html
    assert preview.text.startswith("Bonjour <script>alert(1)</script>,")


def test_preview_without_contact_uses_the_default_first_name(hq: Any) -> None:
    preview = svc.preview_campaign(draft(hq))

    assert "Bonjour ami·e," in preview.html
    assert preview.subject == "Nous avons besoin de vous"


def test_test_send_goes_through_django_mail_and_never_touches_the_ledger(
    hq: Any, smtp_recorder: Any
) -> None:
    make_contact("membre@exemple.fr")
    campaign = draft(hq)

    sent = svc.send_test(campaign, addresses=["a@test.fr", "b@test.fr"], user=hq)

    assert sent == 2
    assert sorted(r for m in smtp_recorder.messages for r in m.rcpt_to) == [
        "a@test.fr",
        "b@test.fr",
    ]
    message = smtp_recorder.to("a@test.fr")[0]
    assert message.message["Subject"] == "[TEST] Nous avons besoin de vous"
    assert "Bonjour ami·e," in message.text
    assert Delivery.objects.count() == 0
    assert nothing_frozen(campaign)
    assert AuditEvent.objects.filter(action="campaign.test_send").count() == 1


def test_test_addresses_are_capped_and_validated() -> None:
    with pytest.raises(svc.InvalidCampaign):
        svc.parse_test_addresses(",".join(f"t{i}@test.fr" for i in range(11)))
    with pytest.raises(svc.InvalidCampaign):
        svc.parse_test_addresses("pas-une-adresse")
    assert svc.parse_test_addresses("a@test.fr; b@TEST.fr\n") == ["a@test.fr", "b@test.fr"]


# --- Audience -----------------------------------------------------------------------------


def test_launch_freezes_segment_minus_exclusions(hq: Any) -> None:
    make_contact("paris@exemple.fr", departement="75")
    make_contact("paris-exclu@exemple.fr", departement="75", tags=["exclu"])
    make_contact("lyon@exemple.fr", departement="69")
    paris = Segment.objects.create(name="Paris", definition={"departements": ["75"]})
    tag_id = make_contact("autre@exemple.fr", departement="13", tags=["exclu"]).tags.get().pk
    excluded = Segment.objects.create(name="Exclus", definition={"tags": {"any": [tag_id]}})
    campaign = draft(hq, audience_all=False, segment=paris, exclude_segments=[excluded])

    assert svc.estimate_audience(campaign) == 1
    count = svc.launch_campaign(campaign, user=hq)

    assert count == 1
    assert list(Delivery.objects.values_list("email", "departement")) == [
        ("paris@exemple.fr", "75")
    ]
    assert campaign.status == Campaign.Status.SENDING


def test_a_draft_without_audience_cannot_launch(hq: Any) -> None:
    campaign = draft(hq, audience_all=False, segment=None)

    with pytest.raises(svc.AudienceMissing):
        svc.launch_campaign(campaign, user=hq)
    assert nothing_frozen(campaign)


# --- Approval above the threshold ---------------------------------------------------------


@pytest.fixture
def big(settings: Any, hq: Any) -> Campaign:
    settings.MAILING_APPROVAL_THRESHOLD = 2
    for i in range(3):
        make_contact(f"p{i}@exemple.fr")
    return draft(hq)


def test_launch_above_threshold_without_approval_is_refused_and_freezes_nothing(
    big: Campaign, hq: Any
) -> None:
    with pytest.raises(svc.ApprovalRequired):
        svc.launch_campaign(big, user=hq)
    assert nothing_frozen(big)
    assert not AuditEvent.objects.filter(action="campaign.launch").exists()


def test_author_cannot_approve_their_own_campaign(big: Campaign, hq: Any) -> None:
    with pytest.raises(svc.ApprovalRefused):
        svc.approve_campaign(big, user=hq)
    big.refresh_from_db()
    assert big.approved_by is None
    assert not AuditEvent.objects.filter(action="campaign.approve").exists()


@pytest.mark.parametrize("who", ["coordinator", "volunteer"])
def test_coordinators_and_volunteers_cannot_approve(
    big: Campaign, who: str, request: pytest.FixtureRequest
) -> None:
    with pytest.raises(svc.ApprovalRefused):
        svc.approve_campaign(big, user=request.getfixturevalue(who))
    big.refresh_from_db()
    assert big.approved_by is None


def test_second_hq_user_approves_then_launch_goes_ahead(
    big: Campaign, hq: Any, hq_admin: Any
) -> None:
    svc.approve_campaign(big, user=hq_admin)
    count = svc.launch_campaign(big, user=hq)

    assert count == 3
    assert (big.status, big.approved_by, big.audience_count) == ("sending", hq_admin, 3)
    launch = AuditEvent.objects.get(action="campaign.launch")
    assert (launch.actor, launch.details["audience"], launch.details["approved_by"]) == (
        hq,
        3,
        hq_admin.email,
    )
    assert AuditEvent.objects.get(action="campaign.approve").actor == hq_admin


def test_editing_a_draft_withdraws_its_approval(big: Campaign, hq: Any, hq_admin: Any) -> None:
    svc.approve_campaign(big, user=hq_admin)
    svc.save_draft(
        user=hq,
        campaign=big,
        name=big.name,
        from_address=IDENTITY,
        subject="Autre objet",
        body_markdown="Autre texte",
        audience_all=True,
    )

    assert big.approved_by is None
    with pytest.raises(svc.ApprovalRequired):
        svc.launch_campaign(big, user=hq)


# --- Blackout windows ---------------------------------------------------------------------


def test_a_national_blackout_blocks_launch(hq: Any) -> None:
    make_contact("p@exemple.fr", departement="75")
    campaign = draft(hq)
    BlackoutWindowFactory.create()  # national: no zone

    assert svc.is_blacked_out(campaign)
    with pytest.raises(svc.BlackedOut):
        svc.launch_campaign(campaign, user=hq)
    assert nothing_frozen(campaign)


def test_a_zone_blackout_blocks_launch_only_when_the_audience_lives_there(hq: Any) -> None:
    make_contact("p@exemple.fr", departement="75")
    campaign = draft(hq)
    BlackoutWindowFactory.create(departements=["69"])
    assert not svc.is_blacked_out(campaign)

    BlackoutWindowFactory.create(departements=["75"])
    assert svc.is_blacked_out(campaign)
    with pytest.raises(svc.BlackedOut):
        svc.launch_campaign(campaign, user=hq)
    assert nothing_frozen(campaign)


def test_a_window_that_has_ended_blocks_nothing(hq: Any) -> None:
    make_contact("p@exemple.fr", departement="75")
    now = timezone.now()
    BlackoutWindowFactory.create(
        starts_at=now - dt.timedelta(days=2), ends_at=now - dt.timedelta(days=1), reason="passé"
    )
    campaign = draft(hq)

    assert svc.launch_campaign(campaign, user=hq) == 1


def test_is_blacked_out_after_launch_looks_at_unsent_rows_only(hq: Any) -> None:
    make_contact("p@exemple.fr", departement="75")
    campaign = draft(hq)
    svc.launch_campaign(campaign, user=hq)
    BlackoutWindowFactory.create(departements=["75"])
    assert svc.is_blacked_out(campaign)

    Delivery.objects.update(status=Delivery.Status.ACCEPTED)
    assert not svc.is_blacked_out(campaign)


def test_a_launch_scheduled_into_a_window_is_refused(hq: Any) -> None:
    make_contact("p@exemple.fr")
    now = timezone.now()
    BlackoutWindowFactory.create(
        starts_at=now + dt.timedelta(days=1), ends_at=now + dt.timedelta(days=2), reason="veille"
    )
    campaign = draft(hq, scheduled_at=now + dt.timedelta(days=1, hours=1))

    with pytest.raises(svc.BlackedOut):
        svc.launch_campaign(campaign, user=hq)
    assert nothing_frozen(campaign)


# --- Scheduling, pause, resume, cancel ----------------------------------------------------


def test_a_future_send_time_schedules_the_campaign(hq: Any) -> None:
    make_contact("p@exemple.fr")
    campaign = draft(hq, scheduled_at=timezone.now() + dt.timedelta(hours=2))

    svc.launch_campaign(campaign, user=hq)

    assert (campaign.status, campaign.started_at) == ("scheduled", None)


def test_pause_and_resume_follow_the_state_machine(hq: Any) -> None:
    make_contact("p@exemple.fr")
    campaign = draft(hq)
    with pytest.raises(svc.CampaignStateError):
        svc.pause_campaign(campaign, user=hq)  # a draft cannot pause
    with pytest.raises(svc.CampaignStateError):
        svc.resume_campaign(campaign, user=hq)
    svc.launch_campaign(campaign, user=hq)

    svc.pause_campaign(campaign, user=hq)
    assert campaign.status == "paused"
    with pytest.raises(svc.CampaignStateError):
        svc.pause_campaign(campaign, user=hq)
    svc.resume_campaign(campaign, user=hq)
    assert campaign.status == "sending"
    assert [e.action for e in AuditEvent.objects.order_by("pk")] == [
        "campaign.launch",
        "campaign.pause",
        "campaign.resume",
    ]


def test_resuming_before_the_send_time_goes_back_to_scheduled(hq: Any) -> None:
    make_contact("p@exemple.fr")
    campaign = draft(hq, scheduled_at=timezone.now() + dt.timedelta(hours=2))
    svc.launch_campaign(campaign, user=hq)
    svc.pause_campaign(campaign, user=hq)

    svc.resume_campaign(campaign, user=hq)

    assert (campaign.status, campaign.started_at) == ("scheduled", None)


def test_cancel_turns_unsent_rows_into_cancelled_and_keeps_settled_ones(hq: Any) -> None:
    for i in range(5):
        make_contact(f"p{i}@exemple.fr")
    campaign = draft(hq)
    svc.launch_campaign(campaign, user=hq)
    first, second, third, _fourth, fifth = Delivery.objects.order_by("pk")
    Delivery.objects.filter(pk=first.pk).update(status=Delivery.Status.ACCEPTED)
    Delivery.objects.filter(pk=second.pk).update(status=Delivery.Status.CLAIMED)
    Delivery.objects.filter(pk=third.pk).update(
        status=Delivery.Status.DEFERRED, next_attempt_at=timezone.now()
    )
    # The fifth is held, unwritten, by a sender's live claim: on its way, its sender settles it.
    DeliveryClaim.objects.create(
        campaign=campaign, sender_id="s", first_id=fifth.pk, last_id=fifth.pk
    )
    DeliveryClaim.objects.create(  # an ended claim holds nothing
        campaign=campaign, sender_id="s", first_id=0, last_id=fifth.pk, ended_at=timezone.now()
    )

    cancelled = svc.cancel_campaign(campaign, user=hq)

    assert cancelled == 2
    assert campaign.status == "cancelled"
    assert ledger_counts(campaign) == {"accepted": 1, "claimed": 2, "cancelled": 2}
    event = AuditEvent.objects.get(action="campaign.cancel")
    assert (event.actor, event.details) == (hq, {"cancelled_rows": 2})
    with pytest.raises(svc.CampaignStateError):
        svc.cancel_campaign(campaign, user=hq)


def test_a_running_campaign_cannot_be_edited_nor_relaunched(hq: Any) -> None:
    make_contact("p@exemple.fr")
    campaign = draft(hq)
    svc.launch_campaign(campaign, user=hq)

    with pytest.raises(svc.InvalidCampaign):
        svc.save_draft(
            user=hq,
            campaign=campaign,
            name="x",
            from_address=IDENTITY,
            subject="Changé",
            body_markdown="x",
            audience_all=True,
        )
    with pytest.raises(svc.CampaignStateError):
        svc.launch_campaign(campaign, user=hq)
    campaign.refresh_from_db()
    assert (campaign.subject, Delivery.objects.count()) == ("Nous avons besoin de vous", 1)


def test_progress_rate_and_time_left_come_from_the_previous_reading() -> None:
    counts = dict.fromkeys(Delivery.Status.values, 0) | {"accepted": 60, "pending": 40}
    progress = campaign_progress(Campaign(), counts, previous=(40, 1000.0), now=1010.0)

    assert (progress.total, progress.settled, progress.percent) == (100, 60, 60)
    assert (progress.rate, progress.seconds_left) == (2.0, 20)


def test_the_unsubscribe_footer_is_in_the_recipients_language_whatever_the_authors():
    from django.utils import translation

    from essaim.mailing.services.composer import render_campaign

    with translation.override("en"):
        rendered = render_campaign(subject="Objet", preheader="", body_markdown="Bonjour")
    assert "Pour ne plus recevoir nos messages" in rendered.text
