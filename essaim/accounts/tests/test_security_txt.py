"""/.well-known/security.txt (RFC 9116) names the deployer's security contact."""

from __future__ import annotations

from datetime import UTC, datetime

from django.test import Client

from essaim.accounts.views.wellknown import security_txt_lines

URL = "/.well-known/security.txt"


def test_security_txt_names_the_contact_and_expires_within_a_year(db, settings):
    settings.SECURITY_CONTACT = ["securite@campagne.test", "https://campagne.test/securite"]
    settings.SITE_URL = "https://essaim.campagne.test"
    response = Client().get(URL)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    lines = response.content.decode().splitlines()
    assert lines[:2] == [
        "Contact: mailto:securite@campagne.test",
        "Contact: https://campagne.test/securite",
    ]
    assert lines[3:] == [
        "Canonical: https://essaim.campagne.test/.well-known/security.txt",
        "Preferred-Languages: fr, en",
    ]
    expires = datetime.strptime(lines[2], "Expires: %Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    days = (expires - datetime.now(UTC)).days
    assert 178 <= days <= 180


def test_security_txt_expiry_is_the_same_all_day(settings):
    settings.SECURITY_CONTACT = ["securite@campagne.test"]
    morning = security_txt_lines(now=datetime(2030, 3, 1, 0, 5, tzinfo=UTC))
    evening = security_txt_lines(now=datetime(2030, 3, 1, 23, 55, tzinfo=UTC))
    assert morning == evening
    assert "Expires: 2030-08-28T00:00:00Z" in morning


def test_security_txt_gives_the_policy_when_set(settings):
    settings.SECURITY_CONTACT = ["mailto:securite@campagne.test"]
    settings.SECURITY_POLICY_URL = "https://campagne.test/divulgation"
    lines = security_txt_lines(now=datetime(2030, 3, 1, tzinfo=UTC))
    assert lines[0] == "Contact: mailto:securite@campagne.test"
    assert "Policy: https://campagne.test/divulgation" in lines


def test_a_line_break_in_the_setting_cannot_add_a_field(settings):
    settings.SECURITY_CONTACT = ["securite@campagne.test\nContact: mailto:pirate@exemple.fr"]
    lines = security_txt_lines(now=datetime(2030, 3, 1, tzinfo=UTC))
    assert [line for line in lines if line.startswith("Contact:")] == [
        "Contact: securite@campagne.testContact:mailto:pirate@exemple.fr"
    ]


def test_without_a_contact_there_is_no_security_txt(db, settings):
    settings.SECURITY_CONTACT = []
    assert Client().get(URL).status_code == 404


def test_security_txt_is_read_only(db, settings):
    settings.SECURITY_CONTACT = ["securite@campagne.test"]
    assert Client().post(URL).status_code == 405
