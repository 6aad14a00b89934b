"""Volunteers log in by email: a signed link that works once, for a short time."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from essaim.accounts.services import make_login_token
from essaim.accounts.tests.factories import UserFactory
from essaim.army.tests.factories import make_volunteer

REQUEST = reverse("accounts:magic_request")
SENT = reverse("accounts:magic_sent")
LINK_RE = re.compile(r"(https?://\S+/comptes/connexion/lien/\S+/)")


@pytest.fixture(autouse=True)
def fresh_rate_limits(db: Any) -> None:
    cache.clear()


@pytest.fixture
def ask(django_capture_on_commit_callbacks: Any, smtp_recorder: Any) -> Any:
    def post(email: str, ip: str = "198.51.100.4") -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return Client().post(REQUEST, {"email": email}, REMOTE_ADDR=ip)

    return post


def link_in(mail: Any) -> str:
    url = LINK_RE.search(str(mail.text))
    assert url is not None, mail.text
    return url[1].removeprefix(settings.SITE_URL)


def test_a_volunteer_gets_a_link_that_logs_in_once(ask, smtp_recorder):
    volunteer = make_volunteer("louise@exemple.fr")
    response = ask("Louise@Exemple.fr")
    assert (response.status_code, response["Location"]) == (302, SENT)
    [mail] = smtp_recorder.messages
    assert (mail.rcpt_to, mail.message["Subject"]) == (
        ["louise@exemple.fr"],
        "Votre lien de connexion",
    )
    path = link_in(mail)
    browser = Client()
    assert "Me connecter" in browser.get(path).content.decode()
    assert "_auth_user_id" not in browser.session  # opening the link (a mail scanner) is not enough
    response = browser.post(path)
    assert (response.status_code, response["Location"]) == (302, reverse("army:profile"))
    assert browser.session["_auth_user_id"] == str(volunteer.pk)
    again = Client()
    assert again.post(path).status_code == 400
    assert "_auth_user_id" not in again.session


def test_unknown_and_staff_addresses_get_the_same_answer_and_no_mail(ask, smtp_recorder, hq):
    make_volunteer("louise@exemple.fr")
    answers = [
        ask(email, ip=f"192.0.2.{n}")
        for n, email in enumerate(["louise@exemple.fr", "inconnu@exemple.fr", hq.email])
    ]
    assert {(a.status_code, a["Location"]) for a in answers} == {(302, SENT)}
    assert [m.rcpt_to for m in smtp_recorder.messages] == [["louise@exemple.fr"]]


def test_a_staff_account_cannot_log_in_with_a_link(db):
    staff = UserFactory.create(email="qg@exemple.fr", role="hq_staff")
    browser = Client()
    assert (
        browser.post(reverse("accounts:magic_login", args=[make_login_token(staff)])).status_code
        == 400
    )
    assert "_auth_user_id" not in browser.session


def test_a_deactivated_volunteer_cannot_log_in_with_an_old_link(db):
    volunteer = make_volunteer()
    token = make_login_token(volunteer.user)
    volunteer.user.is_active = False
    volunteer.user.save(update_fields=["is_active"])
    assert Client().post(reverse("accounts:magic_login", args=[token])).status_code == 400


def test_a_link_expires(db, settings):
    token = make_login_token(make_volunteer().user)
    settings.MAGIC_LINK_MAX_AGE = 0
    time.sleep(1)
    assert Client().post(reverse("accounts:magic_login", args=[token])).status_code == 400


def test_a_forged_link_is_refused(db):
    volunteer = make_volunteer()
    forged = make_login_token(volunteer.user)[:-2] + "xx"
    assert Client().post(reverse("accounts:magic_login", args=[forged])).status_code == 400
    assert Client().get(reverse("accounts:magic_login", args=["nimportequoi"])).status_code == 400


def test_asking_is_rate_limited(ask, smtp_recorder, settings):
    settings.MAGIC_LINK_RATE_LIMIT = "2/h"
    make_volunteer("louise@exemple.fr")
    codes = [ask("louise@exemple.fr", ip=f"192.0.2.{n}").status_code for n in range(3)]
    assert codes == [302, 302, 429]
    assert len(smtp_recorder.messages) == 2


def test_a_bad_address_is_refused_with_a_clear_error(ask, smtp_recorder):
    response = ask("pas une adresse")
    assert response.status_code == 200
    assert "Cette adresse e-mail n’est pas valide." in response.content.decode().replace(
        "&#x27;", "’"
    ).replace("'", "’")
    assert smtp_recorder.messages == []


def test_the_login_page_links_to_the_magic_link(db):
    assert REQUEST in Client().get(reverse("accounts:login")).content.decode()
