"""Proofs: URLs with a web scheme only, a screenshot that is a real image and leaves without its
metadata, a URL proved twice flagged for the reviewer. A refused proof changes nothing."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from essaim.army.models import Claim, Proof, ProofLink, Stage
from essaim.army.services.missions import claim_mission
from essaim.army.services.proofs import (
    MAX_SCREENSHOT_BYTES,
    ProofError,
    clean_urls,
    normalize_url,
    submit_proof,
)
from essaim.army.tests.factories import MissionFactory, VolunteerFactory
from essaim.army.tests.mission_helpers import image_upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def claim() -> Claim:
    volunteer = VolunteerFactory.create(roles={"tchatcheur": Stage.ACTIVE})
    return claim_mission(volunteer=volunteer, mission_id=MissionFactory.create().pk)


def assert_nothing_recorded(claim: Claim) -> None:
    claim.refresh_from_db()
    assert (claim.status, Proof.objects.count(), ProofLink.objects.count()) == (
        Claim.Status.CLAIMED,
        0,
        0,
    )


def test_a_proof_with_urls_and_a_note_puts_the_claim_in_the_review_queue(claim):
    proof = submit_proof(
        claim=claim,
        urls=["https://forum.exemple.fr/t/123", " ", "http://blog.exemple.org/billet"],
        note="Deux réponses, signées de mon nom.",
    )
    claim.refresh_from_db()
    assert claim.status == Claim.Status.SUBMITTED
    assert sorted(proof.links.values_list("url", "is_duplicate")) == [
        ("http://blog.exemple.org/billet", False),
        ("https://forum.exemple.fr/t/123", False),
    ]


@pytest.mark.parametrize(
    "bad",
    [
        "javascript:alert(1)",
        "JAVASCRIPT:alert(document.cookie)",
        "data:text/html;base64,PHNjcmlwdD4=",
        "ftp://exemple.fr/fichier",
        "file:///etc/passwd",
        "https://",
        "http://exemple.fr:99999/",
        "https://exemple.fr/" + "a" * 2001,
    ],
)
def test_a_url_that_is_not_plain_http_or_https_is_refused_with_a_clear_error(claim, bad):
    with pytest.raises(ProofError) as refused:
        submit_proof(claim=claim, urls=["https://ok.exemple.fr/", bad])
    assert refused.value.message
    assert_nothing_recorded(claim)


def test_the_scheme_error_names_the_refused_url():
    with pytest.raises(ProofError, match="javascript:alert"):
        clean_urls(["javascript:alert(1)"])


def test_urls_are_normalized_before_comparing():
    assert normalize_url("HTTP://WWW.Exemple.FR:80/fil/#réponse") == "https://exemple.fr/fil"
    assert normalize_url("https://exemple.fr:8443/a/?p=2") == "https://exemple.fr:8443/a?p=2"


def test_the_same_url_proved_by_another_claim_is_flagged(claim):
    submit_proof(claim=claim, urls=["https://forum.exemple.fr/t/9"])
    other = claim_mission(
        volunteer=VolunteerFactory.create(roles={"tchatcheur": Stage.ACTIVE}),
        mission_id=claim.mission_id,
    )
    proof = submit_proof(claim=other, urls=["http://www.forum.exemple.fr/t/9/#fin"])
    assert list(proof.links.values_list("is_duplicate", flat=True)) == [True]


def test_a_screenshot_is_re_encoded_without_its_metadata(claim):
    upload = image_upload("JPEG", name="photo.jpg", exif=True)
    with Image.open(io.BytesIO(upload.read())) as original:
        assert original.getexif()[0x010F] == "PhoneMaker"
    upload.seek(0)
    proof = submit_proof(claim=claim, urls=[], screenshot=upload)
    with proof.screenshot.open("rb") as stored, Image.open(stored) as image:
        assert (image.format, image.size, dict(image.getexif()), image.info.get("exif")) == (
            "JPEG",
            (40, 30),
            {},
            None,
        )


def test_a_png_screenshot_stays_a_png(claim):
    proof = submit_proof(claim=claim, urls=[], screenshot=image_upload("PNG"))
    with proof.screenshot.open("rb") as stored, Image.open(stored) as image:
        assert (image.format, image.size) == ("PNG", (40, 30))


@pytest.mark.parametrize(
    "upload",
    [
        SimpleUploadedFile(
            "capture.svg",
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            content_type="image/svg+xml",
        ),
        SimpleUploadedFile("capture.png", b"%PDF-1.4 not an image", content_type="image/png"),
        SimpleUploadedFile(
            "capture.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 64, content_type="image/png"
        ),
        SimpleUploadedFile("vide.png", b"", content_type="image/png"),
    ],
    ids=["svg-with-script", "pdf", "truncated-png", "empty"],
)
def test_a_screenshot_that_is_not_a_real_image_is_refused(claim, upload):
    with pytest.raises(ProofError, match="pas une image"):
        submit_proof(claim=claim, urls=["https://ok.exemple.fr/"], screenshot=upload)
    assert_nothing_recorded(claim)


def test_a_50_mb_screenshot_is_refused_before_being_read(claim):
    class Huge(SimpleUploadedFile):
        def read(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            raise AssertionError("a 50 MB upload must be refused from its size, unread")

    upload = Huge("enorme.png", b"", content_type="image/png")
    upload.size = 50 * 1024 * 1024
    assert upload.size > MAX_SCREENSHOT_BYTES
    with pytest.raises(ProofError, match="trop lourde"):
        submit_proof(claim=claim, urls=[], screenshot=upload)
    assert_nothing_recorded(claim)


def test_an_empty_proof_is_refused(claim):
    with pytest.raises(ProofError, match="au moins une adresse"):
        submit_proof(claim=claim, urls=["", "  "], note="fait")
    assert_nothing_recorded(claim)


def test_a_proof_under_review_cannot_be_submitted_again(claim):
    submit_proof(claim=claim, urls=["https://forum.exemple.fr/t/1"])
    with pytest.raises(ProofError, match="n'attend pas de preuve"):
        submit_proof(claim=claim, urls=["https://forum.exemple.fr/t/2"])
    assert list(ProofLink.objects.values_list("url", flat=True)) == ["https://forum.exemple.fr/t/1"]
