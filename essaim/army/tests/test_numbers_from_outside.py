"""Ids in the army's query strings are ASCII digits or nothing: "²" is no 500, "١٢٣"
(Arabic-Indic) is not read as 123."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from essaim.accounts.models import Team

pytestmark = pytest.mark.django_db

ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


@pytest.mark.parametrize("raw", ["²", "③", "١٢٣", " 12", "-1", "9" * 30, "arabic-indic"])
def test_a_leaderboard_team_not_in_ascii_digits_is_not_found(hq_client: Client, raw: str) -> None:
    team = Team.objects.create(name="Lille")
    if raw == "arabic-indic":
        raw = str(team.pk).translate(ARABIC_INDIC)
    assert hq_client.get(reverse("army:leaderboard"), {"team": raw}).status_code == 404


def test_a_leaderboard_team_in_ascii_digits_is_that_team(hq_client: Client) -> None:
    team = Team.objects.create(name="Lille")
    assert hq_client.get(reverse("army:leaderboard"), {"team": str(team.pk)}).status_code == 200


@pytest.mark.parametrize("raw", ["²", "③", "١٢٣", "", " 12", "-1", "9" * 30])
def test_a_call_in_the_sign_up_link_not_in_ascii_digits_is_no_call(raw: str, db: Any) -> None:
    response = Client().get(reverse("army_public:engage"), {"appel": raw, "t": "x"})
    assert response.status_code == 200
