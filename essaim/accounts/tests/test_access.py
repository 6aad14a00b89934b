from django.test import Client
from django.urls import reverse

from essaim.accounts.models import AuditEvent
from essaim.accounts.services import audit
from essaim.accounts.tests.factories import PASSWORD


def test_login_is_by_email_and_lands_on_home(hq):
    client = Client()
    response = client.post(
        reverse("accounts:login"), {"username": "STAFF@qg.test".lower(), "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("home")


def test_wrong_password_is_refused(hq):
    response = Client().post(reverse("accounts:login"), {"username": hq.email, "password": "nope"})
    assert response.status_code == 200
    assert "_auth_user_id" not in Client().session


def test_anonymous_visitor_is_sent_to_login(db):
    response = Client().get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_volunteer_menu_has_no_link_to_the_base(volunteer_client):
    html = volunteer_client.get(reverse("home")).content.decode()
    assert reverse("people:contact_list") not in html
    assert reverse("accounts:audit_log") not in html


def test_volunteer_cannot_see_contacts(volunteer_client):
    assert volunteer_client.get(reverse("people:contact_list")).status_code == 403


def test_volunteer_cannot_read_the_audit_log(volunteer_client, coordinator_client):
    assert volunteer_client.get(reverse("accounts:audit_log")).status_code == 403
    assert coordinator_client.get(reverse("accounts:audit_log")).status_code == 403


def test_only_hq_admins_reach_the_django_admin(hq_admin, hq, coordinator):
    for user, expected in ((hq_admin, 200), (hq, 302), (coordinator, 302)):
        client = Client()
        client.force_login(user)
        assert client.get("/admin/").status_code == expected, user.role


def test_audit_records_actor_address_and_object(hq_client, hq):
    from django.test import RequestFactory

    request = RequestFactory().get("/", REMOTE_ADDR="203.0.113.7", HTTP_USER_AGENT="Firefox")
    request.user = hq
    event = audit(
        action="contact.reveal",
        request=request,
        object_type="people.contact",
        object_id=12,
        field="email",
    )
    assert AuditEvent.objects.count() == 1
    assert (event.actor, event.actor_email, event.ip, event.user_agent) == (
        hq,
        hq.email,
        "203.0.113.7",
        "Firefox",
    )
    assert (event.object_type, event.object_id, event.details) == (
        "people.contact",
        "12",
        {"field": "email"},
    )
    html = hq_client.get(reverse("accounts:audit_log")).content.decode()
    assert "contact.reveal" in html and "203.0.113.7" in html
