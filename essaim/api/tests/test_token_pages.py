"""The API token pages (HQ): list, create with the secret shown once, change, revoke; HQ staff
manage their own tokens, an HQ admin everyone's; nobody else gets in."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from essaim.accounts.models import AuditEvent
from essaim.api.models import ApiToken
from essaim.api.services import authenticate, create_token

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limits")]
LIST = reverse("api_tokens:list")
CREATE = reverse("api_tokens:create")


def tokens() -> list[tuple[Any, ...]]:
    return list(
        ApiToken.objects.order_by("pk").values_list(
            "user__email", "name", "scopes", "networks", "rate_per_minute",
            "daily_people_budget", "revoked_at",
        )
    )  # fmt: skip


def test_hq_staff_create_a_token_and_see_its_secret_once(hq_client, hq):
    response = hq_client.post(
        CREATE,
        {"name": "CRM", "scopes": ["read", "contacts:read"], "networks": "192.0.2.1/24\n"},
        REMOTE_ADDR="192.0.2.9",
    )
    assert response.status_code == 200
    token = ApiToken.objects.get()
    [raw] = [w for w in response.content.decode().split('"') if w.startswith("ess_")]
    assert authenticate(raw) == token
    assert "no-store" in response["Cache-Control"]
    assert tokens() == [
        ("staff@qg.test", "CRM", ["contacts:read", "read"], ["192.0.2.0/24"], None, None, None)
    ]
    event = AuditEvent.objects.get()
    assert (event.action, event.actor, event.ip, event.details["networks"]) == (
        "api_token.create",
        hq,
        "192.0.2.9",
        ["192.0.2.0/24"],
    )
    listing = hq_client.get(LIST).content.decode()
    assert token.prefix in listing and raw not in listing


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (
            {"name": "x", "scopes": ["read"], "networks": "10.0.0.300/8"},
            "10.0.0.300/8 n&#x27;est pas un réseau IPv4 ou IPv6 (CIDR).",
        ),
        ({"name": "x", "networks": ""}, "Ce champ est obligatoire."),
        ({"name": "", "scopes": ["read"]}, "Ce champ est obligatoire."),
        (
            {"name": "x", "scopes": ["admin"]},
            "Sélectionnez un choix valide. admin n’en fait pas partie.",
        ),
    ],
)
def test_a_bad_form_makes_no_token(hq_client, data, error):
    response = hq_client.post(CREATE, data)
    assert response.status_code == 200
    assert error in response.content.decode()
    assert ApiToken.objects.count() == 0 and AuditEvent.objects.count() == 0


def test_only_an_hq_admin_sets_a_tokens_rate_and_budget(hq_client, admin_client_):
    limits = {"rate_per_minute": "5", "daily_people_budget": "100000"}
    hq_client.post(CREATE, {"name": "staff", "scopes": ["read"], **limits})
    admin_client_.post(CREATE, {"name": "admin", "scopes": ["read"], **limits})
    assert [t[4:6] for t in tokens()] == [(None, None), (5, 100000)]
    assert "daily_people_budget" not in hq_client.get(LIST).content.decode()


def test_hq_staff_see_only_their_tokens_and_an_admin_sees_everyones(
    hq_client, admin_client_, hq, hq_admin, coordinator
):
    mine, _ = create_token(user=hq, name="mine")
    theirs, _ = create_token(user=coordinator, name="theirs")
    staff_page = hq_client.get(LIST).content.decode()
    assert mine.prefix in staff_page and theirs.prefix not in staff_page
    admin_page = admin_client_.get(LIST).content.decode()
    assert mine.prefix in admin_page and theirs.prefix in admin_page
    assert "coord.paris@equipe.test" in admin_page


def test_the_list_shows_last_use_and_people_read_today(hq_client, hq, settings):
    settings.API_DAILY_PEOPLE_BUDGET = 5000
    token, _ = create_token(user=hq, name="CRM")
    ApiToken.objects.filter(pk=token.pk).update(
        people_read=1234, people_read_on=timezone.localdate(), last_used_ip="2001:db8::7",
        last_used_at=timezone.now(),
    )  # fmt: skip
    page = hq_client.get(LIST).content.decode()
    assert "<td>1\u202f234 sur 5\u202f000</td>" in page
    assert "2001:db8::7" in page


def test_a_token_is_changed_and_the_change_audited(hq_client, hq):
    token, _ = create_token(user=hq, name="CRM")
    url = reverse("api_tokens:edit", args=[token.pk])
    assert hq_client.get(url).status_code == 200
    response = hq_client.post(url, {"scopes": ["contacts:read"], "networks": "2001:db8::/32"})
    assert response.status_code == 302
    assert tokens()[0][2:4] == (["contacts:read"], ["2001:db8::/32"])
    event = AuditEvent.objects.get(action="api_token.update")
    assert event.details == {
        "prefix": token.prefix,
        "before": {"scopes": ["read", "write"], "networks": []},
        "after": {"scopes": ["contacts:read"], "networks": ["2001:db8::/32"]},
    }


def test_hq_staff_cannot_touch_anothers_token(hq_client, hq_admin):
    token, _ = create_token(user=hq_admin, name="admin's")
    before = tokens()
    edit = reverse("api_tokens:edit", args=[token.pk])
    assert hq_client.get(edit).status_code == 404
    assert hq_client.post(edit, {"scopes": ["contacts:read"]}).status_code == 404
    assert (
        hq_client.post(reverse("api_tokens:revoke", args=[token.pk]), {"confirm": "1"}).status_code
        == 404
    )
    assert tokens() == before
    assert AuditEvent.objects.exclude(action="api_token.create").count() == 0


def test_a_token_is_revoked_once_and_audited(hq_client, admin_client_, hq):
    token, raw = create_token(user=hq, name="CRM")
    revoke = reverse("api_tokens:revoke", args=[token.pk])
    # An HQ admin may revoke anyone's.
    assert admin_client_.post(revoke, {"confirm": "1"}).status_code == 302
    assert hq_client.post(revoke, {"confirm": "1"}).status_code == 302
    assert authenticate(raw) is None
    assert AuditEvent.objects.filter(action="api_token.revoke").count() == 1
    assert hq_client.get(reverse("api_tokens:edit", args=[token.pk])).status_code == 404


def test_revoking_asks_first_and_a_bare_post_revokes_nothing(hq_client, hq):
    token, raw = create_token(user=hq, name="CRM")
    revoke = reverse("api_tokens:revoke", args=[token.pk])

    listing = hq_client.get(LIST).content.decode()
    question = hq_client.get(revoke, headers={"HX-Request": "true"}).content.decode()
    bare = hq_client.post(revoke)

    assert f'<a href="{revoke}" hx-get="{revoke}" hx-target="#revoke-dialog"' in listing
    assert '<dialog id="revoke-dialog" class="confirm-dialog"' in listing
    assert "data-confirm=" not in listing
    assert f'id="revoke-dialog-title">Révoquer le jeton {token.prefix} ?</h2>' in question
    assert '<button type="submit" class="danger">Révoquer</button>' in question
    assert bare.status_code == 200 and f"<h1>{token.prefix} · CRM</h1>" in bare.content.decode()
    assert authenticate(raw) is not None
    assert AuditEvent.objects.filter(action="api_token.revoke").count() == 0
    # Once revoked, its question is not asked again: back to the list.
    hq_client.post(revoke, {"confirm": "1"})
    assert hq_client.get(revoke)["Location"] == LIST


@pytest.mark.parametrize("who", ["coordinator_client", "volunteer_client"])
def test_no_one_but_hq_reaches_the_token_pages(request, who, hq):
    client = request.getfixturevalue(who)
    token, _ = create_token(user=hq, name="CRM")
    before = tokens()
    assert client.get(LIST).status_code == 403
    assert client.post(CREATE, {"name": "x", "scopes": ["contacts:read"]}).status_code == 403
    assert (
        client.post(reverse("api_tokens:revoke", args=[token.pk]), {"confirm": "1"}).status_code
        == 403
    )
    assert tokens() == before
    assert reverse("api_tokens:list") not in client.get("/").content.decode()


def test_an_anonymous_visitor_is_sent_to_login(db):
    response = Client().post(CREATE, {"name": "x", "scopes": ["read"]})
    assert response.status_code == 302 and "/comptes/connexion/" in response["Location"]
    assert ApiToken.objects.count() == 0


def test_hq_finds_the_token_pages_in_the_menu(hq_client):
    assert f'href="{LIST}"' in hq_client.get("/").content.decode()
