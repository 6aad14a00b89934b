"""Tags page (HQ): counts, create, rename, delete; segments keep working through a rename and
block a delete."""

from __future__ import annotations

import pytest
from django.urls import reverse

from essaim.accounts.models import AuditEvent
from essaim.people.models import ContactTag, Tag
from essaim.people.services.segments import segment_queryset
from essaim.people.tests.factories import SegmentFactory, TagFactory, make_contact

pytestmark = pytest.mark.django_db
URL = reverse("people:tag_list")


def rename(pk: int) -> str:
    return reverse("people:tag_rename", args=[pk])


def delete(pk: int) -> str:
    return reverse("people:tag_delete", args=[pk])


def test_hq_sees_tags_with_their_contact_counts(hq_client, django_assert_num_queries):
    jeunes = TagFactory.create(name="jeunes")
    TagFactory.create(name="vide")
    for i in range(3):
        make_contact(f"c{i}@x.fr", tags=[jeunes])
    assert reverse("people:tag_list") in hq_client.get(reverse("home")).content.decode()
    with django_assert_num_queries(4):  # session, user, tags with counts, the menu's counts
        response = hq_client.get(URL)
    html = response.content.decode()
    assert "<td>jeunes</td>\n      <td>3</td>" in html
    assert "<td>vide</td>\n      <td>0</td>" in html


def test_hq_creates_a_tag_with_a_clean_name(hq_client):
    response = hq_client.post(URL, {"name": "  pétition   école "})
    assert response.status_code == 302
    assert list(Tag.objects.values_list("name", flat=True)) == ["pétition école"]


def test_duplicate_or_empty_names_are_refused(hq_client):
    TagFactory.create(name="jeunes")
    hq_client.post(URL, {"name": "jeunes"})
    hq_client.post(URL, {"name": "   "})
    assert list(Tag.objects.values_list("name", flat=True)) == ["jeunes"]
    response = hq_client.post(URL, {"name": "jeunes"}, follow=True)
    assert "Une étiquette porte déjà ce nom." in response.content.decode()


def test_rename_keeps_contacts_and_segments(hq_client):
    tag = TagFactory.create(name="jeune")
    contact = make_contact("a@x.fr", tags=[tag])
    segment = SegmentFactory.create(definition={"tags": {"any": [tag.pk]}})
    assert hq_client.post(rename(tag.pk), {"name": "jeunes"}).status_code == 302
    tag.refresh_from_db()
    assert tag.name == "jeunes"
    assert list(contact.tags.values_list("name", flat=True)) == ["jeunes"]
    assert list(segment_queryset(segment.definition)) == [contact]


def test_rename_to_a_taken_name_changes_nothing(hq_client):
    TagFactory.create(name="jeunes")
    other = TagFactory.create(name="retraités")
    hq_client.post(rename(other.pk), {"name": "jeunes"})
    other.refresh_from_db()
    assert other.name == "retraités"


def test_delete_removes_the_tag_from_contacts_and_is_logged(hq_client, hq):
    tag = TagFactory.create(name="ancien")
    contact = make_contact("a@x.fr", tags=[tag, "garder"])
    assert hq_client.post(delete(tag.pk), {"confirm": "1"}).status_code == 302
    assert not Tag.objects.filter(name="ancien").exists()
    assert list(contact.tags.values_list("name", flat=True)) == ["garder"]
    event = AuditEvent.objects.get()
    assert (event.action, event.actor, event.object_id, event.details) == (
        "tag.delete",
        hq,
        str(tag.pk),
        {"name": "ancien", "contacts": 1},
    )


def test_a_tag_used_by_a_segment_cannot_be_deleted(hq_client):
    tag = TagFactory.create(name="jeunes")
    make_contact("a@x.fr", tags=[tag])
    SegmentFactory.create(name="Jeunesse", definition={"tags": {"none": [tag.pk]}})
    response = hq_client.post(delete(tag.pk), {"confirm": "1"}, follow=True)
    assert "sert dans les segments Jeunesse" in response.content.decode()
    assert Tag.objects.filter(pk=tag.pk).exists()
    assert ContactTag.objects.count() == 1
    assert AuditEvent.objects.count() == 0


@pytest.mark.parametrize("who", ["coordinator_client", "volunteer_client"])
def test_only_hq_manages_tags_and_a_refusal_changes_nothing(request, who):
    tag = TagFactory.create(name="jeunes")
    make_contact("a@x.fr", tags=[tag])
    client = request.getfixturevalue(who)
    assert reverse("people:tag_list") not in client.get(reverse("home")).content.decode()
    assert client.get(URL).status_code == 403
    assert client.post(URL, {"name": "nouveau"}).status_code == 403
    assert client.post(rename(tag.pk), {"name": "autre"}).status_code == 403
    assert client.post(delete(tag.pk), {"confirm": "1"}).status_code == 403
    assert list(Tag.objects.values_list("name", flat=True)) == ["jeunes"]
    assert ContactTag.objects.count() == 1
    assert AuditEvent.objects.count() == 0


def test_anonymous_visitor_is_sent_to_login(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_tag_names_are_escaped(hq_client):
    TagFactory.create(name="<script>x</script>")
    html = hq_client.get(URL).content.decode()
    assert "<script>x</script>" not in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html
