"""Deployment checks (`essaim check --deploy`): what must never reach production.

Django's own deploy checks only warn about HSTS, the https redirect and secure cookies, and
know nothing of the demo: these are errors, so a deployment script that runs `check --deploy`
stops. An https site (SITE_URL) gets the safe values by default (essaim/settings.py), so a
correct deployment passes with no extra variable; these catch one that turned them off.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register


@register(Tags.security, deploy=True)
def check_demo_is_off(**kwargs: Any) -> list[CheckMessage]:
    """The demo's conveniences (the mail catcher shows HQ other people's login links) must be
    off wherever DEBUG is off, i.e. anywhere real people's data lives."""
    if settings.DEBUG:
        return []
    errors: list[CheckMessage] = []
    if settings.DEVMAIL_ENABLED:
        errors.append(
            Error(
                "DEVMAIL_ENABLED is on: the development mailbox shows HQ every mail sent, "
                "other people's login links among them.",
                hint="Unset DEVMAIL_ENABLED (it follows DEMO) and leave the devmail process "
                "out of the deployment.",
                id="deploy.E001",
            )
        )
    if settings.DEMO:
        errors.append(
            Error(
                "DEMO is on: the demo's conveniences are meant for a laptop, not a deployment.",
                hint="Unset DEMO (only `make run` sets it).",
                id="deploy.E002",
            )
        )
    return errors


@register(Tags.security, deploy=True)
def check_https_settings(**kwargs: Any) -> list[CheckMessage]:
    """A site served over https must redirect http, send HSTS and keep its cookies off http."""
    if not settings.SITE_URL.startswith("https://"):
        return []
    hint = "SITE_URL is https: unset the variable (the default is safe) or set it as shown."
    errors: list[CheckMessage] = []
    if not settings.SECURE_HSTS_SECONDS:
        errors.append(
            Error(
                "SECURE_HSTS_SECONDS is 0: browsers may still reach the site over plain http.",
                hint=f"{hint} SECURE_HSTS_SECONDS=31536000",
                id="deploy.E003",
            )
        )
    if not settings.SECURE_SSL_REDIRECT:
        errors.append(
            Error(
                "SECURE_SSL_REDIRECT is off: http requests are answered instead of redirected.",
                hint=f"{hint} SECURE_SSL_REDIRECT=1",
                id="deploy.E004",
            )
        )
    if not settings.SESSION_COOKIE_SECURE:
        errors.append(
            Error(
                "SESSION_COOKIE_SECURE is off: the session cookie may travel over plain http.",
                hint=f"{hint} SESSION_COOKIE_SECURE=1",
                id="deploy.E005",
            )
        )
    if not settings.CSRF_COOKIE_SECURE:
        errors.append(
            Error(
                "CSRF_COOKIE_SECURE is off: the CSRF cookie may travel over plain http.",
                hint=f"{hint} CSRF_COOKIE_SECURE=1",
                id="deploy.E006",
            )
        )
    return errors


@register(Tags.security, deploy=True)
def check_fetch_allow_list_is_empty(**kwargs: Any) -> list[CheckMessage]:
    """The fetcher's allow-list opens loopback and private networks to URLs from users and
    feeds: it exists for tests and benchmarks against local servers, never for a deployment."""
    if not settings.FETCH_ALLOW_ADDRESSES:
        return []
    return [
        Error(
            "FETCH_ALLOW_ADDRESSES is set: a URL pasted by a user or found in a feed may reach "
            f"these internal addresses ({', '.join(settings.FETCH_ALLOW_ADDRESSES)}).",
            hint="Unset FETCH_ALLOW_ADDRESSES (it is for tests and benchmarks).",
            id="deploy.E007",
        )
    ]
