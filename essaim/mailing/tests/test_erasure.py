"""A GDPR erasure blanks the mailing ledger's copies of the address and keeps the counts."""

from __future__ import annotations

from django.urls import reverse

from essaim.mailing.models import BounceReport, Delivery
from essaim.mailing.services.bounces import record_report
from essaim.mailing.services.progress import campaign_results, delivery_counts
from essaim.mailing.tests.factories import accepted_campaign, make_audience
from essaim.mailing.tests.support import report
from essaim.people.models import Contact, Suppression


def test_erasure_blanks_the_ledger_copies_of_the_address_and_keeps_the_counts(hq_client, db):
    contacts = make_audience(2, prefix="marie")
    first, second = accepted_campaign(contacts), accepted_campaign(contacts, name="Relance")
    erased, kept = contacts
    Delivery.objects.filter(campaign=first, contact=erased).update(
        status=Delivery.Status.REJECTED, smtp_code=550, smtp_reply="550 5.7.1 <marie0@exemple.fr>"
    )
    Delivery.objects.filter(campaign=first, contact=kept).update(smtp_reply="250 2.0.0 queued")
    bounced = Delivery.objects.get(campaign=second, contact=erased)
    away, gone = report("out_of_office.eml", bounced), report("gmail_no_such_user.eml", bounced)
    record_report(delivery_id=bounced.pk, raw=away)
    record_report(delivery_id=bounced.pk, raw=gone)
    other = Delivery.objects.get(campaign=second, contact=kept)
    record_report(delivery_id=other.pk, raw=report("out_of_office.eml", other))
    before = [(delivery_counts(c), campaign_results(c)) for c in (first, second)]
    hashed = erased.email_hash

    response = hq_client.post(reverse("people:contact_erase", kwargs={"pk": erased.pk}))

    assert response.status_code == 302
    assert not Contact.objects.filter(pk=erased.pk).exists()
    rows = Delivery.objects.filter(email_hash=hashed).order_by("campaign_id")
    assert [(r.campaign_id, r.contact_id, r.email, r.first_name, r.status) for r in rows] == [
        (first.pk, None, "", "", "rejected"),
        (second.pk, None, "", "", "bounced"),
    ]
    assert rows[0].smtp_reply == ""
    assert rows[1].smtp_reply.startswith("5.1.1 smtp; 550-5.1.1 The email account")
    assert "@" not in rows[1].smtp_reply
    reports = BounceReport.objects.filter(email_hash=hashed).order_by("pk")
    assert [
        (r.kind, r.status, bytes(r.raw), r.recipient, r.diagnostic, r.mail_from, r.size)
        for r in reports
    ] == [
        ("ignored", "", b"", "", "", "", len(away)),
        ("hard_bounce", "5.1.1", b"", "", "", "", len(gone)),
    ]
    kept_rows = Delivery.objects.filter(contact=kept).order_by("campaign_id")
    assert [(c.email, c.smtp_reply) for c in kept_rows] == [
        ("marie1@exemple.fr", "250 2.0.0 queued"),
        ("marie1@exemple.fr", ""),
    ]
    untouched = BounceReport.objects.get(delivery=other)
    assert b"marie1@exemple.fr" in bytes(untouched.raw)
    assert [(delivery_counts(c), campaign_results(c)) for c in (first, second)] == before
    assert Suppression.objects.get(email_hash=hashed).reason == "erasure"


def test_a_bulk_erasure_blanks_the_ledger_copies_of_each_address_and_keeps_the_counts(db):
    from essaim.people.services.gdpr import erase_contacts

    contacts = make_audience(5, prefix="lot")
    campaign = accepted_campaign(contacts)
    bounced = Delivery.objects.get(campaign=campaign, contact=contacts[0])
    record_report(delivery_id=bounced.pk, raw=report("gmail_no_such_user.eml", bounced))
    before = (delivery_counts(campaign), campaign_results(campaign))
    erased = contacts[:4]
    hashes = [c.email_hash for c in erased]

    count = erase_contacts(
        Contact.objects.filter(pk__in=[c.pk for c in erased]), chunk_size=3, scope="selected"
    )

    assert count == 4
    assert list(Contact.objects.values_list("pk", flat=True)) == [contacts[4].pk]
    rows = Delivery.objects.filter(email_hash__in=hashes)
    assert sorted((r.contact_id, r.email, r.first_name) for r in rows) == [(None, "", "")] * 4
    assert Delivery.objects.get(contact=contacts[4]).email == "lot4@exemple.fr"
    gone = BounceReport.objects.get(email_hash=hashes[0])
    assert (bytes(gone.raw), gone.recipient, gone.mail_from) == (b"", "", "")
    assert (delivery_counts(campaign), campaign_results(campaign)) == before
    # The bounced address was on the list already: it stays once, now for the erasure.
    assert set(Suppression.objects.values_list("email_hash", "reason")) == {
        (h, "erasure") for h in hashes
    }


def test_access_report_holds_the_ledger_rows_and_reports_about_the_person(db):
    from essaim.people.services.gdpr import access_report

    contacts = make_audience(2, prefix="marie")
    campaign = accepted_campaign(contacts, subject="Rendez-vous dimanche")
    person, other = contacts
    delivery = Delivery.objects.get(campaign=campaign, contact=person)
    record_report(delivery_id=delivery.pk, raw=report("gmail_no_such_user.eml", delivery))
    other_delivery = Delivery.objects.get(campaign=campaign, contact=other)
    record_report(delivery_id=other_delivery.pk, raw=report("out_of_office.eml", other_delivery))

    report_ = access_report(person)

    assert [
        (m["campaign"], m["subject"], m["email"], m["status"]) for m in report_["campaign_messages"]
    ] == [(campaign.pk, "Rendez-vous dimanche", "marie0@exemple.fr", "bounced")]
    assert [(r["kind"], r["status"], r["suppressed"]) for r in report_["delivery_reports"]] == [
        ("hard_bounce", "5.1.1", True)
    ]
    assert "raw" not in report_["delivery_reports"][0]  # may quote other people's addresses
    assert report_["volunteering"] == []
