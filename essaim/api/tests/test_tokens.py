"""API tokens: issued once, stored as a hash, acting as their user, revocable, rate-limited."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from essaim.accounts.models import AuditEvent
from essaim.api.models import ApiToken
from essaim.api.services import authenticate, create_token, revoke_token, touch
from essaim.api.testing import Api, api_for
from essaim.people.models import Contact

pytestmark = pytest.mark.usefixtures("fresh_rate_limits")

TOKEN_RE = re.compile(r"^ess_([a-z0-9]{8})_[A-Za-z0-9_-]{43}$")
CONTACTS = "/api/v1/contacts"


def test_a_token_is_stored_as_its_sha256_and_shown_prefix_only(hq):
    token, raw = create_token(user=hq, name="CRM sync")
    match = TOKEN_RE.match(raw)
    assert match is not None
    assert (token.prefix, token.token_hash, token.name, token.scopes) == (
        match[1],
        hashlib.sha256(raw.encode()).hexdigest(),
        "CRM sync",
        ["read", "write"],
    )
    stored = ApiToken.objects.filter(pk=token.pk).values()[0]
    assert raw not in str(stored)
    assert raw.split("_", 2)[2] not in str(stored)


def test_two_tokens_never_share_a_prefix_or_a_secret(hq):
    raws = [create_token(user=hq, name=f"t{i}")[1] for i in range(20)]
    assert len({r[4:12] for r in raws}) == 20
    assert len(set(raws)) == 20


def test_creating_a_token_is_audited_without_the_secret(hq):
    token, raw = create_token(user=hq, name="CRM sync")
    event = AuditEvent.objects.get()
    assert (event.action, event.object_type, event.object_id, event.details) == (
        "api_token.create",
        "api.apitoken",
        str(token.pk),
        {
            "prefix": token.prefix,
            "name": "CRM sync",
            "user": hq.email,
            "scopes": ["read", "write"],
        },
    )
    assert raw not in str(event.details)


def test_revoking_a_token_is_audited_once(hq):
    token, _ = create_token(user=hq, name="CRM sync")
    assert revoke_token(prefix=token.prefix)[1] is True
    assert revoke_token(prefix=token.prefix)[1] is False
    assert list(AuditEvent.objects.order_by("id").values_list("action", flat=True)) == [
        "api_token.create",
        "api_token.revoke",
    ]


def test_a_token_acts_as_its_user(hq_api, paris_contact):
    response = hq_api.get(CONTACTS)
    assert response.status_code == 200
    assert [c["email"] for c in response.json()["items"]] == ["Marie.Curie@exemple.fr"]


def test_a_revoked_token_is_refused(revoked_api, paris_contact):
    response = revoked_api.get(CONTACTS)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


def test_a_token_of_a_deactivated_user_is_refused(hq, hq_api, paris_contact):
    hq.is_active = False
    hq.save(update_fields=["is_active"])
    assert hq_api.get(CONTACTS).status_code == 401


@pytest.mark.parametrize(
    "header",
    [
        "",
        "Bearer",
        "Bearer ess_abcdefgh_not-a-real-secret",
        "Bearer not-even-our-format",
        "Token ess_abcdefgh_x",
        "Basic dXNlcjpwYXNz",
    ],
)
def test_a_missing_malformed_or_unknown_token_gets_401(db, paris_contact, header):
    from django.test import Client

    headers = {"Authorization": header} if header else {}
    response = Client().get(CONTACTS, headers=headers)
    assert response.status_code == 401
    assert response.json() == {
        "error": {
            "code": "unauthorized",
            "message": "A valid API token is required (Authorization: Bearer <token>).",
            "details": None,
        }
    }
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_a_token_that_differs_by_one_character_is_refused(hq, paris_contact):
    _, raw = create_token(user=hq, name="x")
    forged = raw[:-1] + ("A" if raw[-1] != "A" else "B")
    assert authenticate(forged) is None
    assert Api(forged).get(CONTACTS).status_code == 401


def test_a_session_cookie_does_not_open_the_api(hq_client, paris_contact):
    assert hq_client.get(CONTACTS).status_code == 401


def test_last_use_is_recorded_on_first_use(hq, paris_contact):
    token, raw = create_token(user=hq, name="x")
    before = timezone.now()
    Api(raw).get(CONTACTS)
    token.refresh_from_db()
    assert token.last_used_at is not None and token.last_used_at >= before


def test_last_use_is_written_at_most_once_a_minute(hq, paris_contact, django_assert_num_queries):
    token, raw = create_token(user=hq, name="x")
    recent = timezone.now() - timedelta(seconds=30)
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=recent)
    Api(raw).get(CONTACTS)
    token.refresh_from_db()
    assert token.last_used_at == recent
    stale = timezone.now() - timedelta(seconds=61)
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=stale)
    Api(raw).get(CONTACTS)
    token.refresh_from_db()
    assert token.last_used_at > stale


def test_concurrent_uses_write_last_use_once(hq):
    create_token(user=hq, name="x")
    first, second = ApiToken.objects.get(), ApiToken.objects.get()  # two requests' copies
    now = timezone.now()
    assert (touch(first, now=now), touch(second, now=now)) == (True, False)


def test_a_read_only_token_reads_but_cannot_write(hq, paris_contact):
    api = api_for(hq, scopes=["read"])
    assert api.get("/api/v1/tags").status_code == 200
    response = api.put(
        CONTACTS,
        {"email": "new@exemple.fr", "consents": [{"purpose": "news", "basis": "membership"}]},
    )
    assert response.status_code == 403
    assert response.json()["error"]["message"] == "This token lacks the 'write' scope."
    assert Contact.objects.count() == 1


def test_an_unknown_scope_is_refused(hq):
    with pytest.raises(ValueError, match="unknown scope"):
        create_token(user=hq, name="x", scopes=["admin"])
    assert ApiToken.objects.count() == 0


# --- Rate limit -------------------------------------------------------------------------------


def test_a_token_over_its_rate_gets_429_with_retry_after(settings, hq_api, paris_contact):
    settings.API_RATE_LIMIT = "3/m"
    statuses = [hq_api.get(CONTACTS).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = hq_api.get(CONTACTS)
    body = response.json()["error"]
    assert (body["code"], body["details"]) == ("rate_limited", None)
    assert body["message"].startswith("Rate limit of 3/m reached for this token; retry in ")
    assert 1 <= int(response["Retry-After"]) <= 60


def test_the_rate_limit_is_per_token(settings, hq, hq_api, paris_contact):
    settings.API_RATE_LIMIT = "2/m"
    for _ in range(3):
        hq_api.get(CONTACTS)
    assert hq_api.get(CONTACTS).status_code == 429
    assert api_for(hq).get(CONTACTS).status_code == 200


def test_an_empty_rate_limit_setting_disables_the_limit(settings, hq_api, paris_contact):
    settings.API_RATE_LIMIT = ""
    assert {hq_api.get(CONTACTS).status_code for _ in range(5)} == {200}


# --- The command ------------------------------------------------------------------------------


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("api_token", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_the_command_prints_a_working_token_once(hq, paris_contact):
    out, err = run("create", "--user", "STAFF@qg.test", "--name", "CRM sync")
    raw = out.strip()
    assert TOKEN_RE.match(raw)
    token = ApiToken.objects.get()
    assert (token.user, token.name, token.prefix) == (hq, "CRM sync", raw[4:12])
    assert "not be shown again" in err and raw not in err
    assert Api(raw).get("/api/v1/tags").status_code == 200
    # Reading contacts is never granted unless asked for.
    assert token.scopes == ["read", "write"]
    assert Api(raw).get(CONTACTS).status_code == 403


def test_the_command_grants_the_scopes_and_networks_asked_for(hq):
    run("create", "--user", hq.email, "--name", "CRM", "--scope", "contacts:read")
    run("create", "--user", hq.email, "--name", "BI", "--network", "10.1.2.3/8")
    assert list(ApiToken.objects.order_by("pk").values_list("scopes", "networks")) == [
        (["contacts:read"], []),
        (["read", "write"], ["10.0.0.0/8"]),
    ]


def test_the_command_refuses_a_bad_network(hq):
    with pytest.raises(
        CommandError, match=re.escape("'10.0.0.300/8' is not an IPv4 or IPv6 network")
    ):
        run("create", "--user", hq.email, "--name", "x", "--network", "10.0.0.300/8")
    assert ApiToken.objects.count() == 0


def test_the_command_creates_read_only_tokens(hq):
    run("create", "--user", hq.email, "--name", "BI", "--read-only")
    assert ApiToken.objects.get().scopes == ["read"]


def test_the_command_refuses_an_unknown_user(db):
    with pytest.raises(CommandError, match=re.escape("No user with the address nobody@x.fr")):
        run("create", "--user", "nobody@x.fr", "--name", "x")
    assert ApiToken.objects.count() == 0


def test_the_command_lists_tokens_without_their_secret(hq):
    token, raw = create_token(user=hq, name="CRM sync")
    out, _ = run("list")
    assert token.prefix in out and "CRM sync" in out and hq.email in out and "live" in out
    assert raw not in out and token.token_hash not in out


def test_the_command_revokes_by_prefix(hq, paris_contact):
    token, raw = create_token(user=hq, name="CRM sync")
    out, _ = run("revoke", token.prefix)
    assert out.strip() == f"Revoked {token.prefix} (CRM sync, {hq.email})."
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert Api(raw).get(CONTACTS).status_code == 401
    assert run("revoke", raw)[0].strip() == f"{token.prefix} was already revoked."
    assert "revoked" in run("list")[0]


def test_the_command_refuses_an_unknown_prefix(db):
    with pytest.raises(CommandError, match=re.escape("No token with the prefix 'zzzzzzzz'")):
        run("revoke", "zzzzzzzz")


def test_a_malformed_rate_limit_setting_fails_the_system_checks(settings):
    from essaim.api.apps import check_rate_limit

    settings.API_RATE_LIMIT = "600 per minute"
    assert [e.id for e in check_rate_limit()] == ["api.E001"]
    settings.API_RATE_LIMIT = "600/m"
    assert check_rate_limit() == []
