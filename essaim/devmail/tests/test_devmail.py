"""The demo's mail catcher: what it keeps, who reads it, and that it runs in the demo alone."""

import os
import select
import signal
import smtplib
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from essaim.devmail.models import CaughtMessage
from essaim.devmail.smtpd import start_catcher
from essaim.lib.testing import free_port

ROOT = Path(__file__).resolve().parents[3]


def catch_one_mail() -> CaughtMessage:
    return catch(
        b"Subject: =?utf-8?q?Confirmez_votre_inscription?=\r\n\r\n"
        b"Cliquez : https://essaim.test/c/abc\r\n",
        mail_from="essaim@x.test",
    )


def test_caught_mail_is_kept_and_shown_to_hq_in_the_demo(
    transactional_db, hq_client, volunteer_client, settings
):
    settings.DEMO = True
    caught = catch_one_mail()
    assert (caught.rcpt_to, caught.subject) == (["marie@exemple.fr"], "Confirmez votre inscription")
    inbox = hq_client.get(reverse("devmail:inbox")).content.decode()
    assert "Confirmez votre inscription" in inbox
    page = hq_client.get(reverse("devmail:message", args=[caught.pk])).content.decode()
    assert 'href="https://essaim.test/c/abc"' in page
    assert volunteer_client.get(reverse("devmail:inbox")).status_code == 404


@pytest.mark.parametrize(("demo", "enabled"), [(False, True), (True, False), (False, False)])
def test_outside_the_demo_hq_gets_a_404_and_no_menu_entry(db, hq_client, settings, demo, enabled):
    settings.DEMO, settings.DEVMAIL_ENABLED = demo, enabled
    caught = CaughtMessage.objects.create(
        mail_from="essaim@x.test",
        rcpt_to=["marie@exemple.fr"],
        subject="Votre lien de connexion",
        raw=b"Subject: Votre lien de connexion\r\n\r\nhttps://essaim.test/comptes/connexion/lien/x/\r\n",
    )
    assert hq_client.get(reverse("devmail:inbox")).status_code == 404
    assert hq_client.get(reverse("devmail:message", args=[caught.pk])).status_code == 404
    home = hq_client.get(reverse("home")).content.decode()
    assert reverse("devmail:inbox") not in home


def test_the_demo_shows_hq_the_menu_entry(db, hq_client, settings):
    settings.DEMO = settings.DEVMAIL_ENABLED = True
    assert reverse("devmail:inbox") in hq_client.get(reverse("home")).content.decode()


def test_anonymous_visitors_are_sent_to_the_login_page_even_in_the_demo(db, settings):
    settings.DEMO = True
    response = Client().get(reverse("devmail:inbox"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_the_devmail_process_catches_nothing_outside_the_demo_and_idles(tmp_path):
    """DEVMAIL_ENABLED=1 without DEMO: the process says it is off, opens no port, and stays up
    until stopped (honcho stops every process of the Procfile when one of them exits)."""
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "essaim.settings",
        "ESSAIM_SKIP_DOTENV": "1",
        "DEBUG": "1",
        "DEMO": "0",
        "DEVMAIL_ENABLED": "1",
        "DEVMAIL_PORT": str(port),
        "DATA_DIR": str(tmp_path),
    }
    env.pop("DATABASE_URL", None)
    essaim = Path(sys.executable).parent / "essaim"
    process = subprocess.Popen(
        [str(essaim), "devmail"], cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stderr is not None
        # A process that served instead would write nothing here: fail, do not hang.
        ready, _, _ = select.select([process.stderr], [], [], 60)
        assert ready, "the devmail process wrote nothing to stderr"
        line = process.stderr.readline()
        assert line.startswith("devmail: off (it runs only in the demo: DEMO=1")
        assert process.poll() is None  # still running, idle
        with (
            pytest.raises(ConnectionRefusedError),
            socket.create_connection(("127.0.0.1", port), timeout=2),
        ):
            pass
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGTERM


def catch(raw: bytes, *, mail_from: str = "bounces+d1-abc@campagne.test") -> CaughtMessage:
    port = free_port()
    controller = start_catcher("127.0.0.1", port)
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=5) as smtp:
            smtp.sendmail(mail_from, ["marie@exemple.fr"], raw)
        for _ in range(100):
            if CaughtMessage.objects.exists():
                break
            time.sleep(0.05)
    finally:
        controller.stop()
    return CaughtMessage.objects.get()


CAMPAIGN_MAIL = (
    b"From: =?utf-8?q?Campagne_=C3=89ssaim?= <equipe@campagne.test>\r\n"
    b"To: marie@exemple.fr\r\nSubject: Bonjour\r\nMIME-Version: 1.0\r\n"
    b'Content-Type: multipart/alternative; boundary="b"\r\n\r\n'
    b"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nBonjour, https://essaim.test/d/x\r\n"
    b"--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
    b'<p>Bonjour <b>Marie</b></p><script>alert(1)</script><img src="https://tracker.test/p.gif">\r\n'
    b"--b--\r\n"
)


def test_the_inbox_and_the_message_show_the_from_header_not_the_bounce_address(
    transactional_db, hq_client, settings
):
    settings.DEMO = True
    caught = catch(CAMPAIGN_MAIL)
    assert (caught.from_header, caught.mail_from) == (
        "Campagne Éssaim <equipe@campagne.test>",
        "bounces+d1-abc@campagne.test",
    )
    inbox = hq_client.get(reverse("devmail:inbox")).content.decode()
    assert "Campagne Éssaim &lt;equipe@campagne.test&gt;" in inbox
    assert "bounces+d1-abc" not in inbox
    page = hq_client.get(reverse("devmail:message", args=[caught.pk])).content.decode()
    assert '<dd id="mail-from">Campagne Éssaim &lt;equipe@campagne.test&gt;</dd>' in page
    # The envelope stays readable, under the headers, named for what it is.
    assert "bounces+d1-abc@campagne.test" in page


def test_the_html_part_is_shown_as_a_sandboxed_document(transactional_db, hq_client, settings):
    settings.DEMO = True
    caught = catch(CAMPAIGN_MAIL)
    page = hq_client.get(reverse("devmail:message", args=[caught.pk])).content.decode()
    frame_url = reverse("devmail:message_html", args=[caught.pk])
    assert f'src="{frame_url}" sandbox ' in page
    assert 'href="https://essaim.test/d/x"' in page  # the text part, links clickable
    response = hq_client.get(frame_url)
    assert response.status_code == 200
    assert response.content.decode().startswith("<p>Bonjour <b>Marie</b></p><script>")
    csp = response["Content-Security-Policy"]
    assert "sandbox" in csp.split("; ")
    assert "default-src 'none'" in csp
    assert "frame-ancestors 'self'" in csp
    assert response["X-Frame-Options"] == "SAMEORIGIN"


def test_a_text_only_mail_has_no_html_view(transactional_db, hq_client, settings):
    settings.DEMO = True
    caught = catch(b"From: equipe@campagne.test\r\nSubject: Texte\r\n\r\nSeulement du texte\r\n")
    page = hq_client.get(reverse("devmail:message", args=[caught.pk])).content.decode()
    assert "<iframe" not in page
    assert "Seulement du texte" in page
    assert hq_client.get(reverse("devmail:message_html", args=[caught.pk])).status_code == 404


def test_mail_caught_before_the_from_header_was_kept_shows_its_envelope(db, hq_client, settings):
    settings.DEMO = True
    caught = CaughtMessage.objects.create(
        mail_from="equipe@campagne.test", rcpt_to=["marie@e.fr"], subject="Ancien", raw=b"\r\n"
    )
    page = hq_client.get(reverse("devmail:message", args=[caught.pk])).content.decode()
    assert '<dd id="mail-from">equipe@campagne.test</dd>' in page
