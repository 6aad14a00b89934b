"""Deleting a segment or a tag asks first, through the one confirmation component: the list's
link fetches the question into a dialog (htmx) or leads to a page of its own (without script);
only the question's POST, with confirm=1, deletes."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from essaim.people.models import ContactTag, Segment, Tag
from essaim.people.tests.factories import SegmentFactory, TagFactory, make_contact

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


def test_the_segment_list_links_each_deletion_to_its_question_in_a_dialog(
    hq_client: Client,
) -> None:
    segment = SegmentFactory.create(name="Jeunes")
    url = reverse("people:segment_delete", args=[segment.pk])

    page = hq_client.get(reverse("people:segment_list")).content.decode()

    assert (
        f'<a href="{url}" hx-get="{url}" hx-target="#delete-dialog" hx-swap="innerHTML" '
        'data-dialog-open="delete-dialog">Supprimer<span class="visually-hidden"> « Jeunes »'
        "</span></a>"
    ) in page
    assert '<dialog id="delete-dialog" class="confirm-dialog"' in page
    assert "data-confirm=" not in page


def test_deleting_a_segment_asks_first_and_a_bare_post_deletes_nothing(hq_client: Client) -> None:
    segment = SegmentFactory.create(name="Jeunes")
    url = reverse("people:segment_delete", args=[segment.pk])

    in_dialog = hq_client.get(url, headers=HTMX).content.decode()
    own_page = hq_client.get(url)
    bare = hq_client.post(url)

    assert in_dialog.startswith('\n<form method="post" action="' + url + '" class="confirm">')
    assert (
        '<h2 class="confirm-title" id="delete-dialog-title">Supprimer le segment « Jeunes » ?'
        in (in_dialog)
    )
    assert '<input type="hidden" name="confirm" value="1">' in in_dialog
    assert '<button type="submit" class="danger">Supprimer</button>' in in_dialog
    assert '<a class="button secondary" href="/base/segments/" data-dialog-close>' in in_dialog
    assert own_page.status_code == 200 and bare.status_code == 200
    assert "<h1>Jeunes</h1>" in own_page.content.decode()
    assert 'class="confirm card"' in own_page.content.decode()
    assert list(Segment.objects.values_list("name", flat=True)) == ["Jeunes"]


def test_the_confirmed_post_deletes_the_segment(hq_client: Client) -> None:
    segment = SegmentFactory.create(name="Jeunes")
    response = hq_client.post(reverse("people:segment_delete", args=[segment.pk]), {"confirm": "1"})
    assert response["Location"] == reverse("people:segment_list")
    assert Segment.objects.count() == 0


def test_deleting_a_tag_says_how_many_contacts_carry_it(hq_client: Client) -> None:
    tag = TagFactory.create(name="ancien")
    make_contact("a@x.fr", tags=[tag])
    make_contact("b@x.fr", tags=[tag])
    lone = TagFactory.create(name="seul")
    make_contact("c@x.fr", tags=[lone])

    two = hq_client.get(reverse("people:tag_delete", args=[tag.pk]), headers=HTMX)
    one = hq_client.get(reverse("people:tag_delete", args=[lone.pk]), headers=HTMX)
    bare = hq_client.post(reverse("people:tag_delete", args=[tag.pk]))

    title = '<h2 class="confirm-title" id="delete-dialog-title">'
    assert f"{title}Supprimer « ancien », posée sur 2 contacts ?</h2>" in two.content.decode()
    assert "Supprimer « seul », posée sur 1 contact ?</h2>" in one.content.decode()
    assert bare.status_code == 200
    assert sorted(Tag.objects.values_list("name", flat=True)) == ["ancien", "seul"]
    assert ContactTag.objects.count() == 3


def test_the_tag_list_has_no_browser_confirm_left(hq_client: Client) -> None:
    tag = TagFactory.create(name="ancien")
    url = reverse("people:tag_delete", args=[tag.pk])
    page = hq_client.get(reverse("people:tag_list")).content.decode()
    assert f'<a href="{url}" hx-get="{url}" hx-target="#delete-dialog"' in page
    assert "data-confirm=" not in page


@pytest.mark.parametrize("who", ["coordinator_client", "volunteer_client"])
def test_only_hq_is_asked_and_nothing_changes_for_the_others(
    who: str, request: pytest.FixtureRequest
) -> None:
    client: Any = request.getfixturevalue(who)
    segment = SegmentFactory.create(name="Jeunes")
    tag = TagFactory.create(name="ancien")
    for name, pk in (("people:segment_delete", segment.pk), ("people:tag_delete", tag.pk)):
        assert client.get(reverse(name, args=[pk])).status_code == 403
        assert client.post(reverse(name, args=[pk]), {"confirm": "1"}).status_code == 403
    assert Segment.objects.count() == 1 and Tag.objects.count() == 1
