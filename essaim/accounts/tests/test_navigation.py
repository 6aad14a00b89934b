"""The menu: grouped by pillar, only what the role may use, the current place marked."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


def groups(client: Client, path: str = "/") -> dict[str, list[str]]:
    response = client.get(path)
    assert response.status_code == 200
    return {g.label: [item.label for item in g.items] for g in response.context["nav_groups"]}


def test_hq_sees_every_pillar_in_order(hq_client: Client) -> None:
    assert groups(hq_client) == {
        "": ["Accueil"],
        "Base": ["Contacts", "Segments", "Étiquettes", "Imports"],
        "Campagnes": ["Campagnes", "Modèles de message"],
        "Armée": ["Équipes", "Missions", "Appels", "Invitations signalées"],
        "Veille": [
            "Sujets",
            "Tri",
            "Alertes",
            "Sources",
            "Listes de veille",
            "Recherche",
            "Synthèse",
            "Signalements",
        ],
        "Administration": ["Journal d'audit", "Jetons d'API", "Guide de style"],
        "Compte": ["Notifications", "Double authentification"],
    }


def test_a_volunteer_sees_no_base_no_campaign_no_administration(volunteer_client: Client) -> None:
    assert groups(volunteer_client) == {
        "": ["Accueil"],
        "Armée": ["Équipes", "Mes missions", "Mes invitations"],
        "Veille": ["Signaler"],
        "Compte": ["Notifications", "Mon espace"],
    }


def test_a_coordinator_runs_missions_and_sees_the_contacts_of_its_zone(
    coordinator_client: Client,
) -> None:
    assert groups(coordinator_client) == {
        "": ["Accueil"],
        "Base": ["Contacts"],
        "Armée": ["Équipes", "Missions"],
        "Veille": [
            "Sujets",
            "Tri",
            "Alertes",
            "Listes de veille",
            "Recherche",
            "Synthèse",
            "Signalements",
        ],
        "Compte": ["Notifications", "Double authentification"],
    }


def test_the_flat_menu_is_the_grouped_one(hq_client: Client) -> None:
    response = hq_client.get("/")
    flat = [(item.label, item.url) for g in response.context["nav_groups"] for item in g.items]
    assert response.context["nav_items"] == flat


def test_the_current_page_is_marked_and_a_page_below_it_marks_its_entry(hq_client: Client) -> None:
    contacts = reverse("people:contact_list")
    html = hq_client.get(contacts).content.decode()
    assert f'<a href="{contacts}" aria-current="page">Contacts</a>' in html
    assert html.count("aria-current=") == 1
    # A page under /base/segments/ marks Segments as the place, not as the page.
    segments = reverse("people:segment_list")
    html = hq_client.get(reverse("people:segment_create")).content.decode()
    assert f'<a href="{segments}" aria-current="location">Segments</a>' in html
    assert html.count("aria-current=") == 1
    # The home page is current only on itself.
    assert 'aria-current="page">Accueil</a>' in hq_client.get("/").content.decode()
    assert ">Accueil</a>" in html
    assert 'aria-current="page">Accueil' not in html


def test_the_menu_folds_behind_a_button_and_each_pillar_folds(hq_client: Client) -> None:
    html = hq_client.get("/").content.decode()
    assert '<a class="skip-link" href="#main">Aller au contenu</a>' in html
    assert 'aria-controls="site-nav" hidden data-menu-button>' in html
    assert '<div id="site-nav" class="sidenav">' in html
    assert html.count('<details class="nav-group" open>') == 6
    assert '<main id="main" tabindex="-1">' in html


def test_an_anonymous_visitor_gets_no_menu(client: Client) -> None:
    html = client.get(reverse("accounts:login")).content.decode()
    assert "site-nav" not in html
    assert "nav-group" not in html


def test_a_new_pillar_adds_its_group_and_entries_from_its_ready(hq_client: Client) -> None:
    """What the watch will do: register a group of its own, and an entry in another's."""
    from essaim.accounts.services import navigation

    watch = navigation.Group("watch", "Veille", 50)
    saved = dict(navigation._registry)
    try:
        navigation.register_menu("watch", watch, lambda user: [("Flux", "/veille/"), None])
        navigation.register_menu(
            "watch",
            navigation.ADMINISTRATION,
            lambda user: [("Capteurs", "/veille/capteurs/")],
            order=45,
        )
        groups = hq_client.get(reverse("home")).context["nav_groups"]
    finally:
        navigation._registry.clear()
        navigation._registry.update(saved)
    labels = [group.label for group in groups]
    assert labels == ["", "Base", "Campagnes", "Armée", "Veille", "Administration", "Compte"]
    assert [(i.label, i.url) for i in groups[4].items] == [("Flux", "/veille/")]
    assert [i.label for i in groups[5].items] == [
        "Journal d'audit",
        "Jetons d'API",
        "Guide de style",
        "Capteurs",
    ]
