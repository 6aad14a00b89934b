"""The living style guide shows every component, drawn by the includes the pages use, beside its
markup; only HQ reaches it."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from essaim.accounts.views.style_guide import SECTIONS

pytestmark = pytest.mark.django_db

GUIDE = reverse("accounts:style_guide")


def test_the_guide_shows_each_section_with_its_example_and_its_markup(hq_client: Client) -> None:
    response = hq_client.get(GUIDE)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>Guide de style</h1>" in html
    for anchor, title, _name in SECTIONS:
        assert f'<section class="guide-section" id="{anchor}"' in html
        assert f'<h2 id="{anchor}-title">{title}</h2>'.replace("'", "&#x27;") in html
    assert html.count('<div class="guide-example">') == len(SECTIONS)
    assert html.count('<pre class="guide-code"><code>') == len(SECTIONS)
    # Rendered by the real includes: a stat tile, a status pill, an empty state, pagination.
    # Sample figures and dates in the reader's language's formats, not written in French.
    assert '<span class="figure">182\u202f340</span>' in html
    assert "<td>05/03/2027</td>" in html and '<td class="num">220\u202f000</td>' in html
    assert '<h3 class="card-title">Appel du 12 mars</h3>' in html
    assert '<span class="badge status-sending">En cours d&#x27;envoi</span>' in html
    assert '<p class="empty-title">Aucune campagne pour l\'instant</p>' in html
    assert '<nav class="pager" aria-label="Pagination">' in html
    # ... and the markup beside them is the include call, escaped.
    assert (
        "{% include &quot;includes/stat.html&quot; with "
        "value=example_numbers.reachable|floatformat:&quot;g&quot;" in html
    )


def test_the_guide_form_shows_errors_at_their_field(hq_client: Client) -> None:
    html = hq_client.get(GUIDE).content.decode()
    # Required fields are marked; the error sits in the field's own group, before its control.
    name_group = html.split('<div class="form-field is-required has-error">')[1].split("</div>")[0]
    assert '<label for="id_name">Nom de la campagne\xa0:</label>' in name_group
    assert html.count('<div class="form-field is-required has-error">') == 2
    assert '<div class="form-field is-required has-error is-checkbox">' in html
    email_group = html.split('<label for="id_email">')[1].split('<input type="email"')[0]
    assert "Saisissez une adresse de courriel valide." in email_group
    assert 'aria-invalid="true"' in html


def test_the_guide_shows_the_confirmation_as_a_dialog_and_as_its_page(hq_client: Client) -> None:
    html = hq_client.get(GUIDE).content.decode()
    section = html.split('<section class="guide-section" id="confirmation"')[1].split("</section>")[
        0
    ]
    example = section.split('<pre class="guide-code">')[0]
    assert '<a class="button" href="#confirmation" data-dialog-open="guide-confirm">' in example
    dialog = example.split('<dialog id="guide-confirm" class="confirm-dialog" ')[1]
    dialog = dialog.split("</dialog>")[0]
    assert 'aria-labelledby="guide-confirm-title"' in dialog
    title = "Publier et prévenir 37 volontaires ?"
    assert f'<h2 class="confirm-title" id="guide-confirm-title">{title}</h2>' in dialog
    assert '<input type="hidden" name="confirm" value="1">' in dialog
    # Without script: the same include, framed as a card, here in the danger tone.
    page = example.split("</dialog>")[1]
    assert '<form method="post" action="#confirmation" class="confirm card">' in page
    assert '<button type="submit" class="danger">Effacer</button>' in page


@pytest.mark.parametrize("fixture", ["volunteer_client", "coordinator_client"])
def test_the_guide_is_refused_outside_hq(fixture: str, request: pytest.FixtureRequest) -> None:
    client: Client = request.getfixturevalue(fixture)
    assert client.get(GUIDE).status_code == 403


def test_an_anonymous_visitor_is_sent_to_the_login(client: Client) -> None:
    response = client.get(GUIDE)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('accounts:login')}?next={GUIDE}"


def test_the_guide_draws_numbers_and_dates_in_english_for_an_english_reader(
    hq_client: Client,
) -> None:
    html = hq_client.get(GUIDE, headers={"accept-language": "en"}).content.decode()
    assert '<span class="figure">182,340</span>' in html
    assert "<td>03/05/2027</td>" in html


def test_the_guide_table_sorts_by_its_headers(hq_client: Client) -> None:
    html = hq_client.get(GUIDE, {"tri": "nom"}).content.decode()
    table = html.split('<table class="table">')[1].split("</table>")[0]
    assert '<th scope="col" aria-sort="ascending"><a class="sort" href="?tri=-nom">Nom' in table
    names = [cell.split(">")[1].split("<")[0] for cell in table.split('<a href="#tableaux"')[1:]]
    assert names == ["Appel aux volontaires", "Meeting de Lyon", "Relance J-3"]
