import smtplib
import time

from django.urls import reverse

from conftest import free_port
from essaim.devmail.models import CaughtMessage
from essaim.devmail.smtpd import start_catcher


def test_caught_mail_is_kept_and_shown_to_hq(transactional_db, hq_client, volunteer_client):
    port = free_port()
    controller = start_catcher("127.0.0.1", port)
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=5) as smtp:
            smtp.sendmail(
                "essaim@x.test",
                ["marie@exemple.fr"],
                b"Subject: =?utf-8?q?Confirmez_votre_inscription?=\r\n\r\nCliquez : https://essaim.test/c/abc\r\n",
            )
        for _ in range(50):
            if CaughtMessage.objects.exists():
                break
            time.sleep(0.05)
    finally:
        controller.stop()
    caught = CaughtMessage.objects.get()
    assert (caught.rcpt_to, caught.subject) == (["marie@exemple.fr"], "Confirmez votre inscription")
    inbox = hq_client.get(reverse("devmail:inbox")).content.decode()
    assert "Confirmez votre inscription" in inbox
    page = hq_client.get(reverse("devmail:message", args=[caught.pk])).content.decode()
    assert 'href="https://essaim.test/c/abc"' in page
    assert volunteer_client.get(reverse("devmail:inbox")).status_code == 404
