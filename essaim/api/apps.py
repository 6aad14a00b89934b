from typing import Any

from django.apps import AppConfig
from django.core import checks


class ApiConfig(AppConfig):
    name = "essaim.api"
    verbose_name = "API"

    def ready(self) -> None:
        checks.register(check_rate_limit)


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
