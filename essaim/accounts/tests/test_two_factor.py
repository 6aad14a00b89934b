"""The staff's second factor: enrolment, the login step, recovery codes, resets, and the pages a
staff session reaches before it has passed.

Codes are computed here from the secret the enrolment page shows (RFC 6238: HMAC-SHA1, 30 s
steps, six digits), as the person's phone would.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import subprocess
import sys
import time
from datetime import timedelta
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.conf import settings as django_settings
from django.db.models import F
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from essaim.accounts.models import AuditEvent, User
from essaim.accounts.tests.factories import PASSWORD

LOGIN = "/comptes/connexion/"
ENROL = reverse("accounts:two_factor_enrol")
VERIFY = reverse("accounts:two_factor_verify")


@pytest.fixture
def required(settings: Any) -> None:
    settings.STAFF_2FA_REQUIRED = True


def totp(secret: str, at: float) -> str:
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    digest = hmac.new(key, int(at // 30).to_bytes(8, "big"), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = int.from_bytes(digest[offset : offset + 4], "big") & 0x7FFFFFFF
    return f"{number % 1_000_000:06d}"


def wrong_code(secret: str) -> str:
    now = time.time()
    near = {totp(secret, now + step * 30) for step in range(-2, 3)}
    return next(f"{n:06d}" for n in range(1, 100) if f"{n:06d}" not in near)


def password_login(user: User, *, address: str = "192.0.2.1", next_url: str = "") -> Client:
    client = Client(REMOTE_ADDR=address)
    data = {"username": user.email, "password": PASSWORD}
    if next_url:
        data["next"] = next_url
    client.post(LOGIN, data)
    return client


def enrol(client: Client) -> tuple[str, list[str]]:
    """Walk the enrolment as a person would; returns the secret and the recovery codes."""
    html = client.get(ENROL).content.decode()
    secret = re.search(r"<code class=\"secret\" data-secret>([A-Z2-7 ]+)</code>", html)[1]  # type: ignore[index]
    secret = secret.replace(" ", "")
    response = client.post(ENROL, {"code": totp(secret, time.time())})
    assert response.status_code == 302
    codes_page = client.get(response["Location"]).content.decode()
    codes = re.findall(r"<li><code>([a-z2-7]{4}-[a-z2-7]{4})</code></li>", codes_page)
    return secret, codes


def let_back_off_pass() -> None:
    """Move the devices' last failure a minute back (time passes, without sleeping)."""
    for model in (TOTPDevice, StaticDevice):
        model.objects.exclude(throttling_failure_timestamp=None).update(
            throttling_failure_timestamp=F("throttling_failure_timestamp") - timedelta(minutes=1)
        )


@pytest.fixture
def enrolled(hq: User, required: None) -> tuple[User, str, list[str]]:
    secret, codes = enrol(password_login(hq))
    return hq, secret, codes


# --- Enrolment -----------------------------------------------------------------------------------


def test_a_staff_member_enrols_end_to_end_and_then_logs_in_with_a_code(hq, required):
    client = Client(REMOTE_ADDR="192.0.2.1")
    response = client.post(LOGIN, {"username": hq.email, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"].startswith(ENROL)

    html = client.get(ENROL).content.decode()
    assert "<svg" in html and 'class="segno"' in html  # the QR code, drawn inline
    secret = re.search(r"data-secret>([A-Z2-7 ]+)<", html)[1].replace(" ", "")  # type: ignore[index]
    assert len(secret) == 32  # 20 random bytes
    device = TOTPDevice.objects.get(user=hq)
    assert not device.confirmed
    assert client.get(reverse("home")).status_code == 302  # nothing else yet

    response = client.post(ENROL, {"code": totp(secret, time.time())})
    assert response.status_code == 302
    codes_url = response["Location"]
    codes_page = client.get(codes_url).content.decode()
    codes = re.findall(r"<li><code>([a-z2-7]{4}-[a-z2-7]{4})</code></li>", codes_page)
    assert len(codes) == len(set(codes)) == 10
    # Shown once: the page does not show them again.
    assert client.get(codes_url).status_code == 302
    device.refresh_from_db()
    assert device.confirmed
    assert StaticToken.objects.filter(device__user=hq).count() == 10
    assert client.get(reverse("home")).status_code == 200
    assert list(AuditEvent.objects.filter(action="2fa.enrol").values_list("actor", flat=True)) == [
        hq.pk
    ]

    # The next login asks for a code after the password.
    client.post(reverse("accounts:logout"))
    client = password_login(hq, next_url="/base/contacts/")
    assert client.get(reverse("home"))["Location"].startswith(VERIFY)
    response = client.post(
        VERIFY, {"code": totp(secret, time.time() + 30), "next": "/base/contacts/"}
    )
    assert (response.status_code, response["Location"]) == (302, "/base/contacts/")
    assert client.get(reverse("home")).status_code == 200


def test_a_wrong_first_code_does_not_enrol(hq, required):
    client = password_login(hq)
    html = client.get(ENROL).content.decode()
    secret = re.search(r"data-secret>([A-Z2-7 ]+)<", html)[1].replace(" ", "")  # type: ignore[index]
    response = client.post(ENROL, {"code": wrong_code(secret)})
    assert response.status_code == 200
    assert "Ce code n&#x27;est pas valide" in response.content.decode()
    assert not TOTPDevice.objects.filter(user=hq, confirmed=True).exists()
    assert not StaticToken.objects.exists()
    assert client.get(reverse("home")).status_code == 302
    assert AuditEvent.objects.filter(action="2fa.failed", details__stage="enrol").count() == 1


def test_the_enrolment_page_keeps_its_secret_across_reloads(hq, required):
    client = password_login(hq)
    first = re.search(r"data-secret>([A-Z2-7 ]+)<", client.get(ENROL).content.decode())
    second = re.search(r"data-secret>([A-Z2-7 ]+)<", client.get(ENROL).content.decode())
    assert first and second and first[1] == second[1]
    assert TOTPDevice.objects.filter(user=hq).count() == 1


# --- The login step ------------------------------------------------------------------------------


def test_a_wrong_code_is_refused_counted_and_audited(enrolled):
    hq, secret, _ = enrolled
    client = password_login(hq, address="192.0.2.44")
    response = client.post(VERIFY, {"code": wrong_code(secret)})
    assert response.status_code == 200
    assert "Ce code n&#x27;est pas valide" in response.content.decode()
    assert client.get(reverse("home")).status_code == 302
    event = AuditEvent.objects.get(action="2fa.failed", details__stage="login")
    assert (event.actor, event.ip, event.details["kind"]) == (hq, "192.0.2.44", "totp")
    # Counted as a failed login of the account, like a wrong password.
    assert AccessAttempt.objects.get(username=hq.email).failures_since_start == 1


def test_wrong_codes_lock_the_login_like_wrong_passwords(enrolled):
    hq, secret, _ = enrolled
    limit = django_settings.LOGIN_FAILURE_LIMIT
    client = password_login(hq, address="192.0.2.45")
    statuses = [client.post(VERIFY, {"code": wrong_code(secret)}).status_code for _ in range(limit)]
    assert statuses == [200] * (limit - 1) + [429]
    # The half-open session is closed: the right code cannot be tried any more.
    assert "_auth_user_id" not in client.session
    response = client.post(VERIFY, {"code": totp(secret, time.time() + 30)})
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)
    # And the password step is locked for the account.
    again = Client(REMOTE_ADDR="192.0.2.46")
    assert again.post(LOGIN, {"username": hq.email, "password": PASSWORD}).status_code == 429


def test_a_recovery_code_works_once(enrolled):
    hq, _, codes = enrolled
    client = password_login(hq)
    response = client.post(VERIFY, {"code": codes[3].upper().replace("-", " ")})
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 200
    event = AuditEvent.objects.get(action="2fa.recovery_used")
    assert (event.actor, event.details) == (hq, {"left": 9})

    client.post(reverse("accounts:logout"))
    client = password_login(hq)
    response = client.post(VERIFY, {"code": codes[3]})
    assert response.status_code == 200
    assert client.get(reverse("home")).status_code == 302
    assert AuditEvent.objects.filter(action="2fa.failed", details__kind="recovery").count() == 1
    # Right after a failure the codes wait out django-otp's back-off (1 s, then 2, 4…)…
    response = client.post(VERIFY, {"code": codes[4]})
    assert "attendez quelques secondes" in response.content.decode()
    # …then another one works.
    let_back_off_pass()
    assert client.post(VERIFY, {"code": codes[4]}).status_code == 302


def test_an_enrolled_member_is_asked_for_a_code_even_with_the_setting_off(enrolled, settings):
    hq, secret, _ = enrolled
    settings.STAFF_2FA_REQUIRED = False
    client = password_login(hq)
    assert client.get(reverse("home"))["Location"].startswith(VERIFY)
    assert client.post(VERIFY, {"code": totp(secret, time.time() + 30)}).status_code == 302
    assert client.get(reverse("home")).status_code == 200


def test_the_next_address_of_the_code_step_stays_on_this_site(enrolled):
    hq, secret, _ = enrolled
    client = password_login(hq)
    response = client.post(
        VERIFY, {"code": totp(secret, time.time() + 30), "next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("home")


# --- What a session reaches before its second factor ---------------------------------------------


def _plain_urls(patterns: list[Any], prefix: str = "") -> list[str]:
    """Every named route of the site that takes no argument, with its namespace."""
    names: list[str] = []
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            namespace = f"{prefix}{pattern.namespace}:" if pattern.namespace else prefix
            names += _plain_urls(pattern.url_patterns, namespace)
        elif (
            isinstance(pattern, URLPattern)
            and pattern.name
            and not pattern.pattern.converters
            and "(?P<" not in str(pattern.pattern)
        ):
            names.append(f"{prefix}{pattern.name}")
    return names


def test_a_staff_member_without_a_device_reaches_nothing_but_enrolment(coordinator, required):
    client = password_login(coordinator)
    open_to_them = {
        reverse("accounts:two_factor_enrol"),
        reverse("accounts:two_factor_codes"),
        reverse("accounts:logout"),
        reverse("set_language"),
    }
    checked = 0
    for name in _plain_urls(get_resolver().url_patterns):
        url = reverse(name)
        if url in open_to_them or url.startswith("/api/"):
            continue
        for method in (client.get, client.post):
            response = method(url)
            assert response.status_code == 302, (name, url)
            assert response["Location"].startswith(ENROL), (name, url)
        checked += 1
    assert checked > 40  # every app's pages were tried, the admin's included
    assert client.get("/admin/")["Location"].startswith(ENROL)
    assert client.get("/armee/missions/1/")["Location"].startswith(ENROL)


def test_the_django_admin_login_leads_to_the_code_step_too(hq_admin, required):
    client = Client(REMOTE_ADDR="192.0.2.1")
    response = client.post("/admin/login/", {"username": hq_admin.email, "password": PASSWORD})
    assert response.status_code == 302
    response = client.get("/admin/")
    assert response.status_code == 302 and response["Location"].startswith(ENROL)
    assert client.get("/admin/accounts/user/")["Location"].startswith(ENROL)


def test_switching_the_setting_on_catches_sessions_already_open(hq_client, settings):
    assert hq_client.get(reverse("home")).status_code == 200
    settings.STAFF_2FA_REQUIRED = True
    assert hq_client.get(reverse("home"))["Location"].startswith(ENROL)


def test_the_api_is_left_to_its_tokens(coordinator, required):
    client = password_login(coordinator)
    response = client.get("/api/health")
    assert response.status_code == 200
    assert client.get("/api/v1/contacts").status_code == 401  # no token: refused, not redirected


def test_a_volunteer_logs_in_as_before(volunteer, required):
    client = password_login(volunteer)
    assert client.get(reverse("home")).status_code == 200
    assert client.get(reverse("army:team_list")).status_code == 200
    assert not TOTPDevice.objects.exists()


def test_with_the_setting_off_staff_log_in_with_the_password_alone(hq, settings):
    settings.STAFF_2FA_REQUIRED = False
    client = Client(REMOTE_ADDR="192.0.2.1")
    response = client.post(LOGIN, {"username": hq.email, "password": PASSWORD})
    assert (response.status_code, response["Location"]) == (302, reverse("home"))
    assert client.get(reverse("home")).status_code == 200
    assert client.get("/admin/").status_code == 302  # HQ staff are not admins: their login


def test_the_requirement_is_on_by_default_and_off_in_the_demo():
    code = "from django.conf import settings; print(settings.STAFF_2FA_REQUIRED)"
    results = {}
    for demo in ("0", "1"):
        env = {
            "PATH": "/usr/bin:/bin",
            "DJANGO_SETTINGS_MODULE": "essaim.settings",
            "ESSAIM_SKIP_DOTENV": "1",
            "DEBUG": "1",
            "DEMO": demo,
        }
        done = subprocess.run(
            [sys.executable, "-c", f"import django; django.setup(); {code}"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        results[demo] = done.stdout.strip().splitlines()[-1]
    assert results == {"0": "True", "1": "False"}


# --- Recovery codes and resets -------------------------------------------------------------------


def test_new_recovery_codes_need_the_password_and_retire_the_old_ones(enrolled):
    hq, secret, old_codes = enrolled
    client = password_login(hq)
    client.post(VERIFY, {"code": totp(secret, time.time() + 30)})
    url = reverse("accounts:two_factor_regenerate")

    client.post(url, {"password": "not-my-password"})
    assert sorted(StaticToken.objects.values_list("token", flat=True)) == sorted(
        c.replace("-", "") for c in old_codes
    )
    assert not AuditEvent.objects.filter(action="2fa.recovery_regenerated").exists()

    response = client.post(url, {"password": PASSWORD})
    page = client.get(response["Location"]).content.decode()
    new_codes = re.findall(r"<li><code>([a-z2-7]{4}-[a-z2-7]{4})</code></li>", page)
    assert len(new_codes) == 10 and not set(new_codes) & set(old_codes)
    assert AuditEvent.objects.filter(action="2fa.recovery_regenerated").count() == 1

    client.post(reverse("accounts:logout"))
    client = password_login(hq)
    assert client.post(VERIFY, {"code": old_codes[0]}).status_code == 200
    let_back_off_pass()
    assert client.post(VERIFY, {"code": new_codes[0]}).status_code == 302


def test_resetting_ones_own_device_needs_the_password_then_asks_to_enrol_again(enrolled):
    hq, secret, _ = enrolled
    client = password_login(hq)
    client.post(VERIFY, {"code": totp(secret, time.time() + 30)})
    url = reverse("accounts:two_factor_reset")

    client.post(url, {"password": "not-my-password"})
    assert TOTPDevice.objects.filter(user=hq, confirmed=True).count() == 1

    response = client.post(url, {"password": PASSWORD})
    assert response["Location"].startswith(ENROL)
    assert not TOTPDevice.objects.filter(user=hq).exists()
    assert not StaticToken.objects.filter(device__user=hq).exists()
    assert client.get(reverse("home"))["Location"].startswith(ENROL)
    event = AuditEvent.objects.get(action="2fa.reset")
    assert (event.actor, event.object_id, event.details) == (hq, str(hq.pk), {"by_admin": False})


def test_an_hq_admin_resets_a_staff_members_second_factor(enrolled, hq_admin):
    hq, _, _ = enrolled
    # The admin passed their own second factor first.
    admin_secret, _ = enrol(password_login(hq_admin, address="192.0.2.2"))
    admin = password_login(hq_admin, address="192.0.2.2")
    admin.post(VERIFY, {"code": totp(admin_secret, time.time() + 30)})
    page = admin.get(reverse("accounts:security")).content.decode()
    reset_url = reverse("accounts:security_reset_two_factor", args=[hq.pk])
    assert reset_url in page

    assert admin.post(reset_url).status_code == 302
    assert not TOTPDevice.objects.filter(user=hq).exists()
    assert TOTPDevice.objects.filter(user=hq_admin, confirmed=True).count() == 1
    event = AuditEvent.objects.get(action="2fa.reset")
    assert (event.actor, event.object_id, event.details) == (
        hq_admin,
        str(hq.pk),
        {"by_admin": True},
    )
    # hq's next login goes to enrolment.
    assert password_login(hq).get(reverse("home"))["Location"].startswith(ENROL)


def test_only_hq_admins_reset_someone_elses_second_factor(hq_client, coordinator):
    device = TOTPDevice.objects.create(user=coordinator, confirmed=True)
    url = reverse("accounts:security_reset_two_factor", args=[coordinator.pk])
    other = Client()
    other.force_login(coordinator)  # a coordinator cannot reset even their own from here
    other_device_session_refused = other.post(url)
    assert other_device_session_refused["Location"].startswith(VERIFY)
    assert hq_client.post(url).status_code == 403
    assert hq_client.get(reverse("accounts:security")).status_code == 403
    assert TOTPDevice.objects.filter(pk=device.pk, confirmed=True).exists()
    assert not AuditEvent.objects.filter(action="2fa.reset").exists()


def test_the_django_admin_offers_no_way_around_the_audited_pages(admin_client_):
    for url in (
        "/admin/otp_totp/totpdevice/",
        "/admin/otp_static/staticdevice/",
        "/admin/axes/accessattempt/",
    ):
        assert admin_client_.get(url).status_code == 404, url


def test_a_session_waiting_for_a_code_whose_device_was_reset_goes_to_enrolment(enrolled):
    hq, _, _ = enrolled
    client = password_login(hq)
    assert client.get(reverse("home"))["Location"].startswith(VERIFY)
    TOTPDevice.objects.filter(user=hq).delete()  # as an HQ admin's reset does
    response = client.get(VERIFY)
    assert response.status_code == 302 and response["Location"].startswith(ENROL)
    assert client.get(reverse("home"))["Location"].startswith(ENROL)


# --- Codes in other digits ------------------------------------------------------------------------

ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
NOT_CODES = ["²", "١٢٣", "", " 12", "-1", "1" * 30, "②③④⑤⑥⑦"]


@pytest.mark.parametrize("code", [*NOT_CODES, "now-in-arabic-indic"])
def test_a_code_in_anything_but_ascii_digits_does_not_log_in(enrolled, code):
    hq, secret, _ = enrolled
    if code == "now-in-arabic-indic":
        code = totp(secret, time.time() + 30).translate(ARABIC_INDIC)
    client = password_login(hq)
    response = client.post(VERIFY, {"code": code})
    assert response.status_code == 200
    assert client.get(reverse("home")).status_code == 302
    # The right code, in ASCII digits, still works afterwards.
    let_back_off_pass()
    response = client.post(VERIFY, {"code": totp(secret, time.time() + 30)})
    assert (response.status_code, client.get(reverse("home")).status_code) == (302, 200)


@pytest.mark.parametrize("code", [*NOT_CODES, "now-in-arabic-indic"])
def test_a_first_code_in_anything_but_ascii_digits_does_not_enrol(hq, required, code):
    client = password_login(hq)
    html = client.get(ENROL).content.decode()
    secret = re.search(r"data-secret>([A-Z2-7 ]+)<", html)[1].replace(" ", "")  # type: ignore[index]
    if code == "now-in-arabic-indic":
        code = totp(secret, time.time()).translate(ARABIC_INDIC)
    response = client.post(ENROL, {"code": code})
    assert response.status_code == 200
    assert not TOTPDevice.objects.filter(user=hq, confirmed=True).exists()
    assert not StaticToken.objects.exists()
