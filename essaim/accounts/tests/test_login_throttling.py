"""Login throttling: bursts of guesses on the site's login and the admin's, per address and per
account, the lockout page, the cool-off, and HQ's unlock.

Guesses are counted where they cost: a password hasher that counts how many passwords it was
asked to check (the project's fast test hasher, counting).
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any, ClassVar

import pytest
from axes.models import AccessAttempt
from django.conf import settings as django_settings
from django.contrib.auth.hashers import MD5PasswordHasher
from django.core.management import call_command
from django.db.models import F
from django.test import Client
from django.urls import reverse

from essaim.accounts.models import AuditEvent
from essaim.accounts.tests.factories import PASSWORD

LIMIT = django_settings.LOGIN_FAILURE_LIMIT
LOGIN = "/comptes/connexion/"
ADMIN_LOGIN = "/admin/login/"
ATTACKER = "203.0.113.66"


class CountingHasher(MD5PasswordHasher):
    """MD5 (the suite's hasher) that counts the passwords it hashes: once per password checked
    against an account (verify() hashes the guess), once per guess at an unknown account
    (ModelBackend hashes it anyway, to answer in the same time)."""

    checked: ClassVar[int] = 0

    def encode(self, password: str, salt: str) -> str:
        CountingHasher.checked += 1
        return super().encode(password, salt)


@pytest.fixture
def hasher(settings: Any, hq: Any, hq_admin: Any) -> type[CountingHasher]:
    settings.PASSWORD_HASHERS = [f"{__name__}.CountingHasher"]
    CountingHasher.checked = 0
    return CountingHasher


def burst(client: Client, url: str, guesses: list[dict[str, str]], **extra: Any) -> Counter[int]:
    statuses: Counter[int] = Counter()
    for data in guesses:
        statuses[client.post(url, data, **extra).status_code] += 1
    return statuses


def test_sixty_wrong_passwords_then_the_right_one_is_refused(hq, hasher):
    client = Client(REMOTE_ADDR=ATTACKER)
    guesses = [{"username": hq.email, "password": f"guess-{n}"} for n in range(60)]
    # The guess that reaches the limit is checked, then answered with the lockout page.
    assert burst(client, LOGIN, guesses) == {200: LIMIT - 1, 429: 60 - LIMIT + 1}
    assert hasher.checked == LIMIT

    response = client.post(LOGIN, {"username": hq.email, "password": PASSWORD})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    assert hasher.checked == LIMIT  # the right password was not even looked at


def test_a_burst_of_1000_guesses_from_one_address_is_held_to_the_limit(hq, hasher):
    client = Client(REMOTE_ADDR=ATTACKER)
    # Spread over many accounts, so that only the address's counter can stop it.
    guesses = [{"username": f"cible{n % 200}@qg.test", "password": "x" * 12} for n in range(1000)]
    assert burst(client, LOGIN, guesses) == {200: LIMIT - 1, 429: 1000 - LIMIT + 1}
    assert hasher.checked == LIMIT

    # The address is locked, even for a real account and its right password…
    response = client.post(LOGIN, {"username": hq.email, "password": PASSWORD})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    assert hasher.checked == LIMIT
    # …but the account is not: its owner logs in from elsewhere.
    elsewhere = Client(REMOTE_ADDR="198.51.100.7")
    response = elsewhere.post(LOGIN, {"username": hq.email, "password": PASSWORD})
    assert response.status_code == 302
    assert int(elsewhere.session["_auth_user_id"]) == hq.pk


def test_a_burst_of_1000_guesses_on_the_admin_login_is_held_to_the_limit(hq_admin, hasher):
    client = Client(REMOTE_ADDR=ATTACKER)
    guesses = [{"username": hq_admin.email, "password": f"guess-{n}"} for n in range(1000)]
    assert burst(client, ADMIN_LOGIN, guesses) == {200: LIMIT - 1, 429: 1000 - LIMIT + 1}
    assert hasher.checked == LIMIT

    response = client.post(ADMIN_LOGIN, {"username": hq_admin.email, "password": PASSWORD})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/").status_code == 302  # still sent to the admin's login


def test_one_account_guessed_from_1000_addresses_is_held_to_the_limit(hq, hq_admin, hasher):
    client = Client()
    statuses: Counter[int] = Counter()
    for n in range(1000):
        address = f"10.{n // 250}.{n % 250}.1"
        data = {"username": hq.email, "password": f"guess-{n}"}
        statuses[client.post(LOGIN, data, REMOTE_ADDR=address).status_code] += 1
    assert statuses == {200: LIMIT - 1, 429: 1000 - LIMIT + 1}
    assert hasher.checked == LIMIT

    fresh = Client(REMOTE_ADDR="198.51.100.9")
    response = fresh.post(LOGIN, {"username": hq.email, "password": PASSWORD})
    assert response.status_code == 429
    assert "_auth_user_id" not in fresh.session
    # The fresh address itself is not locked: another account logs in from it.
    response = fresh.post(LOGIN, {"username": hq_admin.email, "password": PASSWORD})
    assert response.status_code == 302


def test_the_case_of_the_address_does_not_give_fresh_guesses(hq, hasher):
    variants = [hq.email, hq.email.upper(), f"  {hq.email.title()} "]
    statuses: Counter[int] = Counter()
    for n in range(LIMIT):
        client = Client(REMOTE_ADDR=f"10.9.0.{n + 1}")
        data = {"username": variants[n % 3], "password": f"guess-{n}"}
        statuses[client.post(LOGIN, data).status_code] += 1
    assert statuses == {200: LIMIT - 1, 429: 1}
    response = Client(REMOTE_ADDR="10.9.1.1").post(
        LOGIN, {"username": hq.email, "password": PASSWORD}
    )
    assert response.status_code == 429


def lock(client: Client, email: str) -> None:
    for n in range(LIMIT):
        client.post(LOGIN, {"username": email, "password": f"guess-{n}"})


def test_the_lockout_page_says_when_to_retry_and_how_to_get_unlocked(hq, hasher):
    client = Client(REMOTE_ADDR=ATTACKER)
    lock(client, hq.email)
    response = client.post(LOGIN, {"username": hq.email, "password": PASSWORD})
    assert response.status_code == 429
    retry_after = int(response["Retry-After"])
    minutes = django_settings.LOGIN_LOCKOUT_MINUTES
    assert minutes * 60 - 60 < retry_after <= minutes * 60
    html = response.content.decode()
    assert "Trop de tentatives de connexion" in html
    assert f"Après {LIMIT} tentatives échouées" in html
    assert "Vous pourrez réessayer à " in html
    assert f"dans {minutes} minutes au plus" in html
    assert "administrateur du QG de débloquer votre compte" in html
    assert 'class="topbar"' in html  # in the site's layout
    # The generic 429 page's look (templates/429.html), with the lockout's own words and way out.
    assert '<p class="error-code">429</p>' in html
    assert "<h1>Trop de tentatives de connexion</h1>" in html
    assert "Vous avez fait trop de demandes" not in html
    assert f'<a href="{reverse("accounts:magic_request")}">Volontaire ?' in html
    assert "Retour à l'accueil" not in html


def test_the_failure_that_locks_is_audited_once(hq, hasher):
    client = Client(REMOTE_ADDR=ATTACKER)
    lock(client, hq.email)
    for _ in range(5):
        client.post(LOGIN, {"username": hq.email, "password": PASSWORD})
    events = list(AuditEvent.objects.filter(action="login.locked"))
    assert len(events) == 1
    assert (events[0].ip, events[0].details) == (
        ATTACKER,
        {"username": hq.email, "failures": LIMIT},
    )


def age_attempts(minutes: float) -> None:
    """Move every recorded failure `minutes` into the past (time passes, without sleeping)."""
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - timedelta(minutes=minutes))


def test_the_lock_lifts_after_the_cool_off(hq, hasher):
    client = Client(REMOTE_ADDR=ATTACKER)
    lock(client, hq.email)
    minutes = django_settings.LOGIN_LOCKOUT_MINUTES

    age_attempts(minutes - 1)
    response = client.post(LOGIN, {"username": hq.email, "password": PASSWORD})
    assert response.status_code == 429

    age_attempts(2)
    response = client.post(LOGIN, {"username": hq.email, "password": PASSWORD})
    assert response.status_code == 302
    assert int(client.session["_auth_user_id"]) == hq.pk


def test_a_shorter_cool_off_is_a_setting(hq, hasher, settings):
    settings.LOGIN_LOCKOUT_MINUTES = 5
    settings.AXES_COOLOFF_TIME = timedelta(minutes=5)
    client = Client(REMOTE_ADDR=ATTACKER)
    lock(client, hq.email)
    age_attempts(6)
    response = client.post(LOGIN, {"username": hq.email, "password": PASSWORD})
    assert response.status_code == 302


def unlock_button(kind: str, value: str) -> str:
    return (
        f'<input type="hidden" name="kind" value="{kind}">'
        f'<input type="hidden" name="value" value="{value}">'
    )


def test_an_hq_admin_sees_the_locks_and_unlocks_an_account_and_an_address(
    hq, admin_client_, hasher
):
    lock(Client(REMOTE_ADDR="192.0.2.10"), hq.email)  # the account (and that address)
    attacker = Client(REMOTE_ADDR=ATTACKER)
    for n in range(LIMIT):  # the attacker's address, on other accounts
        attacker.post(LOGIN, {"username": f"cible{n}@qg.test", "password": "x" * 12})
    html = admin_client_.get(reverse("accounts:security")).content.decode()
    assert unlock_button("username", hq.email) in html
    assert unlock_button("ip", ATTACKER) in html

    response = admin_client_.post(
        reverse("accounts:security_unlock"), {"kind": "username", "value": hq.email}
    )
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="login.unlock")
    assert (event.actor_email, event.details) == (
        "admin@qg.test",
        {"kind": "username", "value": hq.email, "removed": 1},
    )
    html = admin_client_.get(reverse("accounts:security")).content.decode()
    assert unlock_button("username", hq.email) not in html
    assert unlock_button("ip", ATTACKER) in html

    # The account works again; the attacker's address is still locked, for it too.
    right = {"username": hq.email, "password": PASSWORD}
    assert Client(REMOTE_ADDR="198.51.100.7").post(LOGIN, right).status_code == 302
    assert Client(REMOTE_ADDR=ATTACKER).post(LOGIN, right).status_code == 429

    admin_client_.post(reverse("accounts:security_unlock"), {"kind": "ip", "value": ATTACKER})
    assert Client(REMOTE_ADDR=ATTACKER).post(LOGIN, right).status_code == 302
    assert AuditEvent.objects.filter(action="login.unlock").count() == 2


def test_only_hq_admins_see_or_lift_locks(hq, hq_client, coordinator_client, hasher):
    lock(Client(REMOTE_ADDR=ATTACKER), hq.email)
    before = list(AccessAttempt.objects.values_list("pk", "failures_since_start"))
    for client in (hq_client, coordinator_client):
        assert client.get(reverse("accounts:security")).status_code == 403
        response = client.post(
            reverse("accounts:security_unlock"), {"kind": "username", "value": hq.email}
        )
        assert response.status_code == 403
    assert list(AccessAttempt.objects.values_list("pk", "failures_since_start")) == before
    assert not AuditEvent.objects.filter(action="login.unlock").exists()


def test_an_empty_unlock_unlocks_nothing(hq, admin_client_, hasher):
    lock(Client(REMOTE_ADDR=ATTACKER), hq.email)
    count = AccessAttempt.objects.count()
    for data in ({"kind": "username", "value": " "}, {"kind": "other", "value": "x"}, {}):
        response = admin_client_.post(reverse("accounts:security_unlock"), data)
        assert response.status_code == 302
    assert AccessAttempt.objects.count() == count == 1


def test_the_command_line_unlocks_too(hq, hasher):
    lock(Client(REMOTE_ADDR=ATTACKER), hq.email)
    call_command("axes_reset_username", hq.email, stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert not AccessAttempt.objects.filter(username=hq.email).exists()
    response = Client(REMOTE_ADDR=ATTACKER).post(
        LOGIN, {"username": hq.email, "password": PASSWORD}
    )
    assert response.status_code == 302
