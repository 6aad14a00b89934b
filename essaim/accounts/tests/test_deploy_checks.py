"""`essaim check --deploy` fails on the demo's conveniences and on an https site that is not
locked to https; a correct https deployment passes with no variable beyond SITE_URL."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core import checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

ROOT = Path(__file__).resolve().parents[3]
HTTPS_OK: dict[str, Any] = {
    "SITE_URL": "https://essaim.example.org",
    "DEBUG": False,
    "DEMO": False,
    "DEVMAIL_ENABLED": False,
    "SECURE_HSTS_SECONDS": 31536000,
    "SECURE_SSL_REDIRECT": True,
    "SESSION_COOKIE_SECURE": True,
    "CSRF_COOKIE_SECURE": True,
    "FETCH_ALLOW_ADDRESSES": [],
}


def deploy_errors(**overrides: Any) -> list[str]:
    """The ids of our deployment errors under these settings (Django's own warnings aside)."""
    with override_settings(**{**HTTPS_OK, **overrides}):
        found = checks.run_checks(include_deployment_checks=True, tags=[checks.Tags.security])
    return sorted(m.id for m in found if m.id and m.id.startswith("deploy.") and m.is_serious())


def test_a_correct_https_deployment_has_no_error():
    assert deploy_errors() == []


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"DEVMAIL_ENABLED": True}, ["deploy.E001"]),
        ({"DEMO": True}, ["deploy.E002"]),
        ({"DEMO": True, "DEVMAIL_ENABLED": True}, ["deploy.E001", "deploy.E002"]),
        ({"SECURE_HSTS_SECONDS": 0}, ["deploy.E003"]),
        ({"SECURE_SSL_REDIRECT": False}, ["deploy.E004"]),
        ({"SESSION_COOKIE_SECURE": False}, ["deploy.E005"]),
        ({"CSRF_COOKIE_SECURE": False}, ["deploy.E006"]),
        ({"FETCH_ALLOW_ADDRESSES": ["127.0.0.1"]}, ["deploy.E007"]),
    ],
)
def test_each_unsafe_setting_is_an_error(overrides, expected):
    assert deploy_errors(**overrides) == expected


def test_the_demo_with_debug_on_is_not_a_deployment_error():
    assert deploy_errors(DEBUG=True, DEMO=True, DEVMAIL_ENABLED=True) == []


def test_a_plain_http_site_needs_no_https_settings():
    unlocked = {
        "SECURE_HSTS_SECONDS": 0,
        "SECURE_SSL_REDIRECT": False,
        "SESSION_COOKIE_SECURE": False,
        "CSRF_COOKIE_SECURE": False,
    }
    assert deploy_errors(SITE_URL="http://127.0.0.1:8000", **unlocked) == []


def test_the_checks_run_only_with_deploy():
    with override_settings(**{**HTTPS_OK, "DEVMAIL_ENABLED": True}):
        found = checks.run_checks(tags=[checks.Tags.security])
    assert [m.id for m in found if m.id and m.id.startswith("deploy.")] == []


def test_the_check_command_fails_with_the_dev_mailbox_on(db):
    with (
        override_settings(**{**HTTPS_OK, "DEVMAIL_ENABLED": True}),
        pytest.raises(SystemCheckError) as failed,
    ):
        call_command("check", "--deploy")
    assert "deploy.E001" in str(failed.value)


# --- Real settings from the environment, as a deployment has them ---------------------------


def check_deploy(**variables: str) -> subprocess.CompletedProcess[str]:
    """`essaim check --deploy` in a fresh process with the real settings and these variables."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SECURE_", "SESSION_", "CSRF_", "DEVMAIL", "DEMO", "DEBUG"))
        # The browser tests' conftest sets DJANGO_ALLOW_ASYNC_UNSAFE, which check --deploy
        # rightly reports (async.E001): a deployment does not have it.
        and k not in {"SITE_URL", "DATABASE_URL", "ALLOWED_HOSTS", "DJANGO_ALLOW_ASYNC_UNSAFE"}
        and k != "FETCH_ALLOW_ADDRESSES"  # a benchmark's shell may have it
    }
    env |= {
        "DJANGO_SETTINGS_MODULE": "essaim.settings",
        "ESSAIM_SKIP_DOTENV": "1",
        "SECRET_KEY": "k9#Vq2!zX8@pL5$wR3^nT7&bY1*cF6(dH4)jM0_gS-eA+uQ=oW~iE{rK}tZ|yU:xP",
        **variables,
    }
    return subprocess.run(
        [str(Path(sys.executable).parent / "essaim"), "check", "--deploy"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_an_https_deployment_passes_with_site_url_alone(tmp_path):
    result = check_deploy(SITE_URL="https://essaim.example.org", DATA_DIR=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "deploy.E" not in result.stdout + result.stderr


def test_an_https_deployment_that_turns_the_redirect_off_fails(tmp_path):
    result = check_deploy(
        SITE_URL="https://essaim.example.org", SECURE_SSL_REDIRECT="0", DATA_DIR=str(tmp_path)
    )
    assert result.returncode == 1
    assert "deploy.E004" in result.stderr
    assert "deploy.E00" not in result.stderr.replace("deploy.E004", "")


def test_the_demo_settings_fail_the_deployment_check(tmp_path):
    """DEMO=1 alone (what `make run` exports) turns the dev mailbox on: both are reported."""
    result = check_deploy(SITE_URL="https://essaim.example.org", DEMO="1", DATA_DIR=str(tmp_path))
    assert result.returncode == 1
    assert "deploy.E001" in result.stderr and "deploy.E002" in result.stderr
