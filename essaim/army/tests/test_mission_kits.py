"""Closing a mission and its kit: files checked by content (images re-encoded without
metadata, SVG refused, size-limited) and served inert, embed codes shown escaped, target sites
http(s) only; "Mes missions" paged by keyset in a fixed number of queries; who may do what for
each role, each refusal changing nothing."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from essaim.accounts.models import Notification
from essaim.api.testing import api_for
from essaim.army.models import Claim, KitFile, Mission, MissionKind, Stage
from essaim.army.rules import missions as rules
from essaim.army.services.kits import MAX_KIT_FILE_BYTES, KitFileError, add_kit_file
from essaim.army.services.missions import MissionError, claim_mission, close_mission, update_kit
from essaim.army.services.proofs import submit_proof
from essaim.army.tests.factories import (
    MissionFactory,
    TeamFactory,
    VolunteerFactory,
)
from essaim.army.tests.mission_helpers import image_upload

pytestmark = pytest.mark.django_db

SVG_WITH_SCRIPT = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)">'
    b"<script>alert(document.cookie)</script></svg>"
)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
MP4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00" * 64


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Any) -> None:
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path)},
        },
    }


@pytest.fixture
def world(coordinator: Any, other_coordinator: Any, hq: Any) -> dict[str, Any]:
    team = TeamFactory.create(coordinators=[coordinator])
    TeamFactory.create(coordinators=[other_coordinator])
    mission = MissionFactory.create(team=team, kind=MissionKind.PLACE, title="Bannière")
    worker = VolunteerFactory.create(roles={"tchatcheur": Stage.ACTIVE}, teams=[team])
    outsider = VolunteerFactory.create(roles={"traceur": Stage.ACTIVE})
    item = add_kit_file(mission=mission, upload=image_upload(), by=coordinator)
    return {
        "team": team,
        "mission": mission,
        "worker": worker,
        "item": item,
        "users": {
            "volunteer": outsider.user,
            "coordinator": coordinator,
            "other_coordinator": other_coordinator,
            "hq": hq,
            "anonymous": AnonymousUser(),
        },
    }


def snapshot() -> tuple[Any, ...]:
    return (
        sorted(Mission.objects.values_list("pk", "status", "target_sites", "embed_codes")),
        sorted(Claim.objects.values_list("pk", "status")),
        sorted(KitFile.objects.values_list("pk", "mission_id", "name", "size")),
        Notification.objects.count(),
    )


def client_as(user: Any) -> Client:
    client = Client()
    if user.is_authenticated:
        client.force_login(user)
    return client


# --- Closing ------------------------------------------------------------------------------------


def test_closing_refuses_new_claims_releases_unproved_claims_and_keeps_proofs_for_review():
    mission = MissionFactory.create(quota=5)
    volunteers = [VolunteerFactory.create(roles={"tchatcheur": Stage.ACTIVE}) for _ in range(3)]
    working, proved, _late = volunteers
    claim_mission(volunteer=working, mission_id=mission.pk)
    submitted = claim_mission(volunteer=proved, mission_id=mission.pk)
    submit_proof(claim=submitted, urls=["https://forum.exemple.fr/t/9"])
    closing = close_mission(mission=mission)
    assert (closing.released, closing.awaiting_review) == (1, 1)
    assert dict(Claim.objects.values_list("volunteer_id", "status")) == {
        working.pk: Claim.Status.RELEASED,
        proved.pk: Claim.Status.SUBMITTED,
    }
    assert list(
        Notification.objects.filter(kind="mission_closed", object_id=mission.pk).values_list(
            "recipient_id", flat=True
        )
    ) == [working.pk]
    with pytest.raises(Mission.DoesNotExist):
        claim_mission(volunteer=_late, mission_id=mission.pk)
    with pytest.raises(MissionError, match="déjà close"):
        close_mission(mission=mission)


def test_the_runner_closes_from_the_page_and_is_told_what_happened_to_the_claims(world):
    claim_mission(volunteer=world["worker"], mission_id=world["mission"].pk)
    client = client_as(world["users"]["coordinator"])
    response = client.post(reverse("army:mission_close", args=[world["mission"].pk]), follow=True)
    # Whole sentences, one message each; no line for the proofs to review, there are none.
    assert [str(m) for m in response.context["messages"]] == [
        "Mission close : plus personne ne peut la prendre.",
        "1 volontaire qui n'avait pas encore envoyé de preuve a été libéré de la mission et "
        "prévenu.",
    ]
    assert Mission.objects.get(pk=world["mission"].pk).status == Mission.Status.CLOSED


# --- Kit files ----------------------------------------------------------------------------------


def test_an_image_is_re_encoded_without_its_metadata_and_named_by_its_real_type(world):
    upload = image_upload("JPEG", name="../../etc/photo de moi.exe", exif=True)
    item = add_kit_file(mission=world["mission"], upload=upload, by=None)
    with item.file.open("rb") as stored, Image.open(stored) as image:
        assert (image.format, dict(image.getexif())) == ("JPEG", {})
    assert (item.kind, item.content_type, item.name) == ("image", "image/jpeg", "photo-de-moi.jpg")
    assert ".." not in str(item.file.name)


@pytest.mark.parametrize(
    ("data", "kind", "content_type"),
    [(PDF, "pdf", "application/pdf"), (MP4, "video", "video/mp4")],
)
def test_pdfs_and_videos_are_recognized_by_their_content(world, data, kind, content_type):
    item = add_kit_file(mission=world["mission"], upload=SimpleUploadedFile("x.png", data), by=None)
    assert (item.kind, item.content_type, item.name.rsplit(".", 1)[1]) == (
        kind,
        content_type,
        content_type.rsplit("/", 1)[1],
    )


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("logo.svg", SVG_WITH_SCRIPT, "SVG"),
        ("logo.png", SVG_WITH_SCRIPT, "SVG"),
        ("page.png", b"<html><script>alert(1)</script></html>", "Type de fichier refusé"),
        ("notes.pdf", b"just text, not a PDF", "Type de fichier refusé"),
        ("vide.png", b"", "vide"),
    ],
)
def test_svg_html_and_unknown_content_are_refused_whatever_the_name(world, name, data, message):
    before = snapshot()
    with pytest.raises(KitFileError, match=message):
        add_kit_file(mission=world["mission"], upload=SimpleUploadedFile(name, data), by=None)
    assert snapshot() == before


def test_a_50_mb_upload_is_refused_before_being_read_whole(world):
    before = snapshot()
    big = SimpleUploadedFile("film.mp4", MP4 + b"\x00" * (50 * 1024 * 1024))
    with pytest.raises(KitFileError, match="trop lourd"):
        add_kit_file(mission=world["mission"], upload=big, by=None)
    assert (big.size or 0) > MAX_KIT_FILE_BYTES
    assert snapshot() == before


def test_a_kit_file_is_served_as_an_inert_attachment(world):
    worker = world["worker"]
    response = client_as(worker.user).get(reverse("army:kit_file", args=[world["item"].pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'none'" in response["Content-Security-Policy"]
    assert "sandbox" in response["Content-Security-Policy"]


def test_embed_codes_are_shown_escaped_and_target_sites_are_http_only(world):
    mission = world["mission"]
    update_kit(
        mission=mission,
        target_sites=["https://blog.exemple.fr/"],
        video_links=[],
        embed_codes=['<iframe src="https://video.exemple.fr/1"></iframe><script>alert(1)</script>'],
    )
    page = client_as(world["worker"].user).get(reverse("army:mission_detail", args=[mission.pk]))
    html = page.content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'href="https://blog.exemple.fr/"' in html
    for bad in ("javascript:alert(1)", "data:text/html,<script>alert(1)</script>", "JaVaScRiPt:x"):
        before = snapshot()
        with pytest.raises(MissionError):
            update_kit(mission=mission, target_sites=[bad], video_links=[], embed_codes=[])
        assert snapshot() == before


def test_the_kit_page_uploads_and_refuses_through_the_form(world):
    client = client_as(world["users"]["coordinator"])
    url = reverse("army:mission_kit", args=[world["mission"].pk])
    ok = client.post(url, {"action": "upload", "file": SimpleUploadedFile("tract.pdf", PDF)})
    assert ok.status_code == 302
    before = snapshot()
    refused = client.post(
        url, {"action": "upload", "file": SimpleUploadedFile("x.svg", SVG_WITH_SCRIPT)}
    )
    assert refused.status_code == 400
    bad_site = client.post(
        url, {"action": "kit", "target_sites": "javascript:alert(1)", "embed_codes": ""}
    )
    assert bad_site.status_code == 400
    assert snapshot() == before


# --- Who may do what ----------------------------------------------------------------------------

EXPECTED_DOWNLOAD = {
    "volunteer": False,  # not targeted (another role)
    "coordinator": True,
    "other_coordinator": False,
    "hq": True,
    "anonymous": False,
}


@pytest.mark.parametrize("who", list(EXPECTED_DOWNLOAD))
def test_who_may_download_a_kit_file(world, who):
    user = world["users"][who]
    assert rules.can_download_kit_file(user, world["item"]) is EXPECTED_DOWNLOAD[who]
    code = client_as(user).get(reverse("army:kit_file", args=[world["item"].pk])).status_code
    assert code == {True: 200, False: 302 if who == "anonymous" else 404}[EXPECTED_DOWNLOAD[who]]


@pytest.mark.parametrize("who", ["volunteer", "other_coordinator", "anonymous"])
def test_refused_kit_and_close_actions_through_the_pages_change_nothing(world, who):
    client = client_as(world["users"][who])
    mission, item = world["mission"], world["item"]
    before = snapshot()
    codes = [
        client.post(reverse("army:mission_close", args=[mission.pk])).status_code,
        client.post(
            reverse("army:mission_kit", args=[mission.pk]),
            {"action": "kit", "target_sites": "https://forge.fr/", "embed_codes": ""},
        ).status_code,
        client.post(
            reverse("army:mission_kit", args=[mission.pk]),
            {"action": "upload", "file": SimpleUploadedFile("x.pdf", PDF)},
        ).status_code,
        client.post(reverse("army:kit_file_delete", args=[item.pk])).status_code,
        client.post(reverse("army:mission_close", args=[mission.pk + 1000])).status_code,
    ]
    assert codes == ([302] * 5 if who == "anonymous" else [404] * 5)
    assert snapshot() == before


@pytest.mark.parametrize("who", ["volunteer", "other_coordinator"])
def test_refused_kit_and_close_actions_through_the_api_change_nothing(world, who):
    api = api_for(world["users"][who])
    mission, item = world["mission"], world["item"]
    before = snapshot()
    pdf = base64.b64encode(PDF).decode()
    codes = [
        api.post(f"/api/v1/missions/{mission.pk}/close").status_code,
        api.put(
            f"/api/v1/missions/{mission.pk}/kit", {"target_sites": ["https://f.fr/"]}
        ).status_code,
        api.post(
            f"/api/v1/missions/{mission.pk}/kit/files", {"name": "x.pdf", "content_base64": pdf}
        ).status_code,
        api.delete(f"/api/v1/missions/{mission.pk}/kit/files/{item.pk}").status_code,
        api.get(f"/api/v1/missions/{mission.pk}/kit").status_code,
    ]
    assert codes == ([403] * 5 if who == "volunteer" else [404] * 5)
    assert snapshot() == before


def test_the_api_runs_the_kit_and_closes(world):
    api = api_for(world["users"]["hq"])
    mission = world["mission"]
    svg = base64.b64encode(SVG_WITH_SCRIPT).decode()
    assert (
        api.post(
            f"/api/v1/missions/{mission.pk}/kit/files", {"name": "a.svg", "content_base64": svg}
        ).status_code
        == 409
    )
    assert (
        api.put(
            f"/api/v1/missions/{mission.pk}/kit", {"target_sites": ["data:text/html,x"]}
        ).status_code
        == 409
    )
    pdf = base64.b64encode(PDF).decode()
    uploaded = api.post(
        f"/api/v1/missions/{mission.pk}/kit/files", {"name": "tract", "content_base64": pdf}
    )
    assert uploaded.status_code == 201 and uploaded.json()["content_type"] == "application/pdf"
    kit = api.get(f"/api/v1/missions/{mission.pk}/kit").json()
    assert [f["name"] for f in kit["files"]] == [world["item"].name, "tract.pdf"]
    closed = api.post(f"/api/v1/missions/{mission.pk}/close").json()
    assert (closed["status"], closed["released"], closed["awaiting_review"]) == ("closed", 0, 0)
    assert api.post(f"/api/v1/missions/{mission.pk}/close").status_code == 409


# --- "Mes missions" pages -----------------------------------------------------------------------


def test_my_missions_pages_by_keyset_without_gap_or_repeat_in_a_fixed_query_count(
    django_assert_num_queries, monkeypatch
):
    monkeypatch.setattr("essaim.army.views.missions.MY_MISSIONS_LIMIT", 3)
    deadline = timezone.now() + timedelta(days=2)
    # Equal deadlines: the pk breaks the tie, so nothing is skipped between pages.
    titles = [f"Mission {i}" for i in range(8)]
    for i, title in enumerate(titles):
        MissionFactory.create(
            title=title, deadline=deadline if i < 5 else deadline + timedelta(hours=i)
        )
    volunteer = VolunteerFactory.create(roles={"tchatcheur": Stage.ACTIVE})
    client = client_as(volunteer.user)
    seen: list[str] = []
    url = reverse("army:my_missions")
    counts = []
    while url:
        # (as test_my_missions_runs_a_fixed_number_of_queries counts them)
        with django_assert_num_queries(9) as ctx:
            response = client.get(url)
        counts.append(len(ctx.captured_queries))
        seen += [m.title for m in response.context["offers"]]
        url = response.context["offers_next_url"]
    assert seen == titles
    assert counts == [9, 9, 9]


@pytest.mark.parametrize("cursor", ["abc", "1.2.3", "99999999999999999999.1", "-5.3", "١٢.٣"])
def test_a_forged_cursor_shows_the_first_page(cursor):
    MissionFactory.create(title="Seule")
    volunteer = VolunteerFactory.create(roles={"tchatcheur": Stage.ACTIVE})
    response = client_as(volunteer.user).get(reverse("army:my_missions"), {"offres": cursor})
    assert [m.title for m in response.context["offers"]] == ["Seule"]
