from typing import Any

from django.apps import AppConfig
from django.core import checks


class ApiConfig(AppConfig):
    name = "essaim.api"
    verbose_name = "API"

    def ready(self) -> None:
        from essaim.accounts.services.navigation import ADMINISTRATION, register_menu
        from essaim.api import labels

        checks.register(check_rate_limit)
        register_menu("api", ADMINISTRATION, menu, order=20)
        # The sentences of the tokens' audit entries.
        labels.register()


def check_rate_limit(**kwargs: Any) -> list[checks.CheckMessage]:
    """A malformed API_RATE_LIMIT would fail every API request: say so at start-up instead."""
    from django.conf import settings

    from essaim.lib.ratelimit import parse_rate

    rate = settings.API_RATE_LIMIT
    if not rate:
        return []
    try:
        parse_rate(rate)
    except ValueError as exc:
        return [checks.Error(str(exc), hint="Set API_RATE_LIMIT to e.g. 600/m.", id="api.E001")]
    return []


def menu(user: Any) -> list[tuple[str, str] | None]:
    from django.urls import reverse
    from django.utils.translation import gettext

    from essaim.accounts import rules

    if not rules.can_manage_api_tokens(user):
        return []
    return [(gettext("Jetons d'API"), reverse("api_tokens:list"))]
