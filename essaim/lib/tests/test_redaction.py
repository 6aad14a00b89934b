"""Tokens of links never reach a log: the redaction itself, on every secret-bearing route of the
URLconf, Django's request loggers, and gunicorn's access log from a real gunicorn process."""

from __future__ import annotations

import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse
from gunicorn.config import Config

from essaim.lib.gunicorn_logging import RedactingLogger
from essaim.lib.redaction import REDACTED, RedactSecretsFilter, redact
from essaim.lib.testing import free_port

ROOT = Path(__file__).resolve().parents[3]
# A token as Django's signing writes them (":" and "-" inside), and one as sealing does.
SIGNED = "eyJ1IjoxMiwicyI6ImFiYyJ9:1tZ-Qb:Xq_4-k2v9Lr7UWm3FbHcTyNw8sDe1PjKoGa5Zi6n0hA"
SEALED = "AWdRgN2fJ1bXk4_7zT-QmV3c8sLwPjHyE5uG0aKoNi6BtD9rMeFhS2lC"
# Every route known to carry a secret today; the walk below must find at least these.
KNOWN = {
    "accounts:magic_login",
    "public:signup_confirm",
    "public:unsubscribe",
    "army_public:engage_confirm",
    "army_public:invitation_confirm",
    "army_public:invitation_report",
}


def routes(patterns: list[Any] | None = None, namespace: str = "") -> Iterator[tuple[str, Any]]:
    """(qualified name, the route's converters by parameter) of every named route."""
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from routes(entry.url_patterns, inner)
        elif isinstance(entry, URLPattern) and entry.name:
            yield f"{namespace}{entry.name}", getattr(entry.pattern, "converters", {})


def built(name: str, converters: dict[str, Any], token: str) -> str | None:
    """The route's path with `token` for its token and 12 for any number; None if it takes
    something else (the admin's regex routes, the API's catch-all)."""
    kwargs: dict[str, Any] = {}
    for parameter, converter in converters.items():
        kwargs[parameter] = token if parameter == "token" else 12
        if parameter != "token" and type(converter).__name__ != "IntConverter":
            return None
    try:
        return reverse(name, kwargs=kwargs)
    except NoReverseMatch:
        return None


def secret_routes() -> dict[str, dict[str, Any]]:
    return {name: conv for name, conv in routes() if "token" in conv}


def test_the_walk_finds_every_known_secret_route():
    assert set(secret_routes()) >= KNOWN


@pytest.mark.parametrize("token", [SIGNED, SEALED])
def test_the_token_of_every_secret_route_is_redacted_wherever_its_url_is_logged(token):
    for name, converters in secret_routes().items():
        path = built(name, converters, token)
        assert path is not None, name
        for logged in (
            path,
            f"GET {path} HTTP/1.1",
            f'"POST {path}?next=/armee/ HTTP/1.1" 302 0',
            f"GET {path.rstrip('/')} HTTP/1.1",  # before APPEND_SLASH redirects it
            f"https://essaim.example.org{path}",  # a Referer
            f"Not Found: {path}extra/",
        ):
            redacted = redact(logged)
            assert token not in redacted, (name, redacted)
            assert REDACTED in redacted, (name, redacted)
            # Only the token went: the route's own words stay readable.
            assert redacted == logged.replace(token, REDACTED), (name, redacted)


def test_routes_without_a_secret_are_left_as_they_are():
    checked = []
    for name, converters in routes():
        if "token" in converters:
            continue
        path = built(name, converters, "")
        if path is None:
            continue
        assert redact(f"GET {path} HTTP/1.1") == f"GET {path} HTTP/1.1", name
        checked.append(name)
    # Beside the tokens' places: the pages "link sent" are not tokens.
    assert {"accounts:magic_sent", "public:signup_sent", "army_public:engage_sent"} <= set(checked)


@pytest.mark.parametrize(
    ("logged", "expected"),
    [
        (f"GET /appel/3/?t={SEALED} HTTP/1.1", f"GET /appel/3/?t={REDACTED} HTTP/1.1"),
        (
            f"https://essaim.example.org/je-m-engage/?appel=3&t={SEALED}&x=1",
            f"https://essaim.example.org/je-m-engage/?appel=3&t={REDACTED}&x=1",
        ),
        (f"/anything/?token={SIGNED}", f"/anything/?token={REDACTED}"),
        ("/base/contacts/?q=t%3Dx&segment=2", "/base/contacts/?q=t%3Dx&segment=2"),
        ("/base/contacts/?st=keep", "/base/contacts/?st=keep"),
    ],
)
def test_secret_query_parameters_are_redacted_and_no_others(logged, expected):
    assert redact(logged) == expected


# --- Django's request loggers --------------------------------------------------------------


def test_django_request_warnings_log_the_path_without_the_token(db, caplog):
    path = reverse("public:signup_confirm", kwargs={"token": SIGNED})
    with caplog.at_level(logging.WARNING, logger="django.request"):
        assert Client().get(path).status_code == 400
    [record] = [r for r in caplog.records if r.name == "django.request"]
    assert record.getMessage() == "Bad Request: /inscription/confirmer/[redacted]/"


def test_csrf_refusals_log_the_path_without_the_token(db, caplog):
    path = reverse("army_public:engage_confirm", kwargs={"token": SEALED})
    with caplog.at_level(logging.WARNING, logger="django.security.csrf"):
        assert Client(enforce_csrf_checks=True).post(path).status_code == 403
    [record] = [r for r in caplog.records if r.name == "django.security.csrf"]
    assert record.getMessage() == (
        "Forbidden (CSRF cookie not set.): /je-m-engage/confirmer/[redacted]/"
    )


def test_the_development_server_logs_request_lines_without_the_token():
    seen: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    handler = Keep()
    server_logger = logging.getLogger("django.server")
    server_logger.addHandler(handler)
    try:
        server_logger.info('"%s" %s %s', f"GET /desinscription/{SIGNED}/ HTTP/1.1", "200", "512")
    finally:
        server_logger.removeHandler(handler)
    [record] = seen
    assert record.getMessage() == '"GET /desinscription/[redacted]/ HTTP/1.1" 200 512'


def test_other_loggers_are_left_alone():
    record = logging.LogRecord("essaim.mailing", logging.INFO, __file__, 1, "%s", ("/a?t=x",), None)
    assert RedactSecretsFilter().filter(record) is True
    assert (record.msg, record.args) == ("%s", ("/a?t=x",))


def test_gunicorn_error_log_lines_are_redacted(tmp_path):
    config = Config()
    config.set("errorlog", str(tmp_path / "error.log"))
    logger = RedactingLogger(config)
    logger.error("Error handling request %s %s", "GET", f"/desinscription/{SIGNED}/?x=1")
    for handler in logger.error_log.handlers:
        handler.flush()
    lines = (tmp_path / "error.log").read_text().splitlines()
    assert lines[-1].endswith("Error handling request GET /desinscription/[redacted]/?x=1")


# --- gunicorn, as the Procfile runs it ------------------------------------------------------


def procfile_command(name: str) -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith(f"{name}:"):
            return line.partition(":")[2].strip()
    raise AssertionError(f"no {name} process in the Procfile")


def wait_for_port(port: int, process: subprocess.Popen[Any]) -> None:
    deadline = time.monotonic() + 120  # a fail-safe for a broken start, not a measure
    while time.monotonic() < deadline:
        assert process.poll() is None, "gunicorn exited"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("gunicorn did not listen")


def fetch(url: str, **headers: str) -> int:
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 (loopback http)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_gunicorn_as_the_procfile_runs_it_logs_no_token(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "DJANGO_SETTINGS_MODULE": "essaim.settings_test",
        "ESSAIM_SKIP_DOTENV": "1",
        "DATA_DIR": str(tmp_path / "data"),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_WORKERS": "1",
    }
    env.pop("DATABASE_URL", None)  # the pages asked for need no database
    log = tmp_path / "access.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            ["bash", "-c", f"exec {procfile_command('web')}"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            wait_for_port(port, process)
            base = f"http://127.0.0.1:{port}"
            confirm = reverse("public:signup_confirm", kwargs={"token": SEALED})
            statuses = [
                fetch(f"{base}{confirm}"),
                fetch(f"{base}{reverse('accounts:magic_login', kwargs={'token': SIGNED})}"),
                fetch(
                    f"{base}/je-m-engage/envoyee/?t={SEALED}",
                    Referer=f"https://essaim.example.org{confirm}",
                ),
                fetch(f"{base}{reverse('accounts:magic_sent')}"),
            ]
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=60)
    lines = log.read_text().splitlines()
    assert (statuses[0], statuses[2], statuses[3]) == (400, 200, 200)
    assert len(lines) == 4, lines  # one line a request: none was dropped by a failing format
    text = "\n".join(lines)
    assert SEALED not in text and SIGNED not in text
    assert re.search(r'"GET /inscription/confirmer/\[redacted\]/ HTTP/1.1" 400 ', lines[0])
    assert '"GET /comptes/connexion/lien/[redacted]/ HTTP/1.1"' in lines[1]
    assert '"GET /je-m-engage/envoyee/?t=[redacted] HTTP/1.1" 200' in lines[2]
    assert '"https://essaim.example.org/inscription/confirmer/[redacted]/"' in lines[2]
    assert '"GET /comptes/connexion/lien/envoye/ HTTP/1.1"' in lines[3]
