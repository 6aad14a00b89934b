"""The 403, 404, 429 and 500 pages (and the CSRF refusal): in the layout, translated, with a way
back; a 403 logs one line; the favicon is linked and /favicon.ico answers."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import translation

from essaim.accounts.models import AuditEvent

pytestmark = [pytest.mark.django_db, pytest.mark.urls("essaim.accounts.tests.error_urls")]

AUDIT_LOG = reverse("accounts:audit_log")
MAGIC = reverse("accounts:magic_request")
FAVICON_LINK = '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">'
STYLESHEET = '<link rel="stylesheet" href="/static/css/essaim.css">'
MENU = '<nav aria-label="Navigation principale">'
BACK = '<button type="button" class="secondary" data-history-back hidden>'
HOME = '<a class="button" href="/">'


@pytest.fixture(autouse=True)
def production(settings: Any) -> Iterator[None]:
    # Django shows its technical pages instead of ours while DEBUG is on (the test settings').
    settings.DEBUG = False
    cache.clear()
    yield
    translation.deactivate()


def english(client: Client) -> Client:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def page(response: Any, status: int) -> str:
    assert response.status_code == status
    assert response["Content-Type"] == "text/html; charset=utf-8"
    return response.content.decode()


# --- 404 ---------------------------------------------------------------------------------


def test_404_is_in_the_layout_with_the_users_menu(hq_client: Client) -> None:
    html = page(hq_client.get("/nulle-part/"), 404)
    assert '<html lang="fr">' in html
    assert "<title>Page introuvable · Essaim</title>" in html
    assert '<p class="error-code">404</p>' in html
    assert "<h1>Page introuvable</h1>" in html
    assert "Cette page n'existe pas ou ne vous est pas accessible." in html
    assert MENU in html
    assert f'<a href="{reverse("people:contact_list")}">Contacts</a>' in html
    assert "staff@qg.test" in html
    assert f"{BACK}Revenir à la page précédente</button>" in html
    assert f"{HOME}Retour à l'accueil</a>" in html
    assert FAVICON_LINK in html


def test_404_for_an_anonymous_visitor_has_no_menu(client: Client) -> None:
    html = page(client.get("/nulle-part/"), 404)
    assert "<h1>Page introuvable</h1>" in html
    assert MENU not in html
    assert "Se déconnecter" not in html
    assert f"{HOME}Retour à l'accueil</a>" in html


def test_404_in_english_from_the_browser(client: Client) -> None:
    html = page(client.get("/nulle-part/", HTTP_ACCEPT_LANGUAGE="en"), 404)
    assert '<html lang="en">' in html
    assert "<title>Page not found · Essaim</title>" in html
    assert "<h1>Page not found</h1>" in html
    assert "This page does not exist or is not open to you." in html
    assert f"{BACK}Back to the previous page</button>" in html
    assert f"{HOME}Back to the home page</a>" in html
    assert "introuvable" not in html


def test_404_in_english_from_the_language_cookie_keeps_the_menu(hq_client: Client) -> None:
    html = page(english(hq_client).get("/nulle-part/"), 404)
    assert "<h1>Page not found</h1>" in html
    assert '<nav aria-label="Main navigation">' in html
    assert f'<a href="{reverse("people:contact_list")}">Contacts</a>' in html


def test_an_object_outside_ones_reach_gets_the_same_404_page(hq_client: Client) -> None:
    html = page(hq_client.get(reverse("people:contact_detail", args=[999999])), 404)
    assert "<h1>Page introuvable</h1>" in html
    assert MENU in html


def test_the_api_keeps_its_json_404(hq_client: Client) -> None:
    response = hq_client.get("/api/nulle-part")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "not_found"


# --- 403 ---------------------------------------------------------------------------------


def test_403_is_in_the_layout_with_the_users_menu(volunteer_client: Client) -> None:
    before = AuditEvent.objects.count()
    html = page(volunteer_client.get(AUDIT_LOG), 403)
    assert "<title>Accès refusé · Essaim</title>" in html
    assert '<p class="error-code">403</p>' in html
    assert "<h1>Accès refusé</h1>" in html
    assert "Votre rôle ne donne pas accès à cette page ou à cette action." in html
    assert MENU in html
    assert "volontaire@equipe.test" in html
    assert f'<a href="{reverse("army:my_missions")}">Mes missions</a>' in html
    assert f"{BACK}Revenir à la page précédente</button>" in html
    assert f"{HOME}Retour à l'accueil</a>" in html
    assert FAVICON_LINK in html
    # The refusal's reason stays in the code: the page shows none of it, and nothing was read.
    assert "Journal d'audit" not in html.split("</header>")[1]
    assert AuditEvent.objects.count() == before


def test_403_for_an_anonymous_visitor_offers_to_log_in(client: Client) -> None:
    html = page(client.get("/essai/refus/"), 403)
    assert "<h1>Accès refusé</h1>" in html
    assert MENU not in html
    assert '<a href="/comptes/connexion/?next=/essai/refus/">Se connecter</a>' in html
    assert "réservé au QG" not in html


def test_403_in_english(volunteer_client: Client, client: Client) -> None:
    html = page(english(volunteer_client).get(AUDIT_LOG), 403)
    assert "<title>Access denied · Essaim</title>" in html
    assert "<h1>Access denied</h1>" in html
    assert "Your role does not give access to this page or action." in html
    assert '<nav aria-label="Main navigation">' in html
    html = page(client.get("/essai/refus/", HTTP_ACCEPT_LANGUAGE="en"), 403)
    assert "<h1>Access denied</h1>" in html
    assert ">Log in</a>" in html


def test_a_403_is_one_warning_line_without_traceback(volunteer_client: Client, caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="django.request"):
        assert volunteer_client.get(AUDIT_LOG).status_code == 403
    [record] = [r for r in caplog.records if r.name == "django.request"]
    assert record.levelname == "WARNING"
    assert record.getMessage() == f"Forbidden (Permission denied): {AUDIT_LOG}"
    assert record.exc_info is None
    formatted = logging.Formatter("%(levelname)s %(name)s %(message)s").format(record)
    assert formatted == f"WARNING django.request Forbidden (Permission denied): {AUDIT_LOG}"
    assert "Traceback" not in caplog.text


def test_a_500_keeps_its_traceback_in_the_log(caplog) -> None:
    with caplog.at_level(logging.ERROR, logger="django.request"):
        Client(raise_request_exception=False).get("/essai/panne/")
    [record] = [r for r in caplog.records if r.name == "django.request"]
    assert record.getMessage() == "Internal Server Error: /essai/panne/"
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], RuntimeError)
    assert "Traceback" in caplog.text


# --- The CSRF refusal ------------------------------------------------------------------------


def test_a_form_without_its_csrf_token_gets_the_styled_refusal(hq: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(hq)
    html = page(client.post(reverse("accounts:logout")), 403)
    assert "<h1>Formulaire expiré</h1>" in html
    assert "Rien n'a été enregistré." in html
    assert MENU in html
    assert f"{BACK}Revenir à la page précédente</button>" in html
    # Still logged in: the refused form did nothing.
    assert page(client.get(reverse("home")), 200).count("staff@qg.test") == 1


def test_the_csrf_refusal_in_english_for_an_anonymous_visitor() -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post(reverse("accounts:login"), HTTP_ACCEPT_LANGUAGE="en")
    html = page(response, 403)
    assert "<h1>Form expired</h1>" in html
    assert "Nothing was saved." in html
    assert MENU not in html


# --- 429 ---------------------------------------------------------------------------------


def ask_twice(client: Client, email: str, **headers: Any) -> Any:
    assert client.post(MAGIC, {"email": email}, **headers).status_code == 302
    return client.post(MAGIC, {"email": email}, **headers)


def test_429_is_in_the_layout_with_when_to_retry(client: Client, settings: Any) -> None:
    settings.MAGIC_LINK_RATE_LIMIT = "1/h"
    response = ask_twice(client, "ada@exemple.fr")
    html = page(response, 429)
    assert 0 < int(response["Retry-After"]) <= 3600
    assert "<title>Trop de demandes · Essaim</title>" in html
    assert '<p class="error-code">429</p>' in html
    assert "<h1>Trop de demandes</h1>" in html
    assert "Vous avez fait trop de demandes en peu de temps. Réessayez dans" in html
    assert "inscriptions" not in html
    assert MENU not in html
    assert f"{HOME}Retour à l'accueil</a>" in html
    assert FAVICON_LINK in html


def test_429_for_a_logged_in_user_keeps_the_menu(hq_client: Client, settings: Any) -> None:
    settings.MAGIC_LINK_RATE_LIMIT = "1/h"
    html = page(ask_twice(hq_client, "grace@exemple.fr"), 429)
    assert "<h1>Trop de demandes</h1>" in html
    assert MENU in html


def test_429_in_english(client: Client, settings: Any) -> None:
    settings.MAGIC_LINK_RATE_LIMIT = "1/h"
    response = ask_twice(client, "hedy@exemple.fr", HTTP_ACCEPT_LANGUAGE="en")
    html = page(response, 429)
    assert "<h1>Too many requests</h1>" in html
    minutes = (int(response["Retry-After"]) + 59) // 60
    unit = "minute" if minutes == 1 else "minutes"
    retry = f"Try again in {minutes} {unit}."
    assert f"You have made too many requests in a short time. {retry}" in html


# --- 500 ---------------------------------------------------------------------------------


def test_500_is_styled_with_a_way_home_and_needs_no_context() -> None:
    response = Client(raise_request_exception=False).get("/essai/panne/")
    html = page(response, 500)
    assert '<html lang="fr">' in html
    assert "<title>Erreur du serveur · Essaim</title>" in html
    assert STYLESHEET in html
    assert FAVICON_LINK in html
    assert '<p class="error-code">500</p>' in html
    assert "<h1>Erreur du serveur</h1>" in html
    assert "Une erreur inattendue nous a empêchés de répondre." in html
    assert f"{HOME}Retour à l'accueil</a>" in html
    assert "boom" not in html


def test_500_for_a_logged_in_user_in_english(hq: Any) -> None:
    client = english(Client(raise_request_exception=False))
    client.force_login(hq)
    html = page(client.get("/essai/panne/"), 500)
    assert '<html lang="en">' in html
    assert "<h1>Server error</h1>" in html
    assert "An unexpected error kept us from answering." in html
    assert f"{HOME}Back to the home page</a>" in html
    # Rendered without a context: no menu, and no personal data either.
    assert MENU not in html
    assert "staff@qg.test" not in html


# --- Favicon -----------------------------------------------------------------------------


def test_favicon_ico_redirects_to_the_svg_icon(client: Client) -> None:
    response = client.get("/favicon.ico")
    assert response.status_code == 302
    assert response["Location"] == "/static/favicon.svg"
    icon = client.get(response["Location"])
    assert icon.status_code == 200
    assert icon["Content-Type"] == "image/svg+xml"
    body = icon.getvalue()
    assert body.startswith(b'<svg xmlns="http://www.w3.org/2000/svg"')
    assert b"#b3261e" in body  # the site's accent colour (essaim.css --accent)


def test_favicon_ico_refuses_a_post(client: Client) -> None:
    assert client.post("/favicon.ico").status_code == 405


def test_every_page_links_the_favicon(client: Client) -> None:
    html = page(client.get(reverse("accounts:login")), 200)
    assert FAVICON_LINK in html
