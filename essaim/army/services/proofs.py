"""Proof of work: URLs (http and https only), a screenshot (a real image, re-encoded so that
no metadata survives), a note. A URL already proved by another claim is flagged for the
reviewer rather than refused: two volunteers may honestly answer in the same thread."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from PIL import Image, UnidentifiedImageError

from essaim.army.models import Claim, Mission, Proof, ProofLink
from essaim.army.services import notifications as notices
from essaim.army.services.mission_base import MissionError
from essaim.army.services.proof_picks import Picker, picker_for

MAX_URLS = 10
MAX_URL_LENGTH = 2000
MAX_SCREENSHOT_BYTES = 8 * 1024 * 1024
MAX_SCREENSHOT_PIXELS = 40_000_000  # a decompression bomb stops here, before decoding
MAX_NOTE = 4000
ACCEPTED_FORMATS = {"PNG", "JPEG", "WEBP", "GIF"}


class ProofError(MissionError):
    pass


def normalize_url(url: str) -> str:
    """The form two equal URLs share: lower-case scheme and host, no default port, no fragment,
    no trailing slash on the path, "https" and "http" alike."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower().removeprefix("www.")
    port = parts.port
    netloc = host if port in (None, 80, 443) else f"{host}:{port}"
    path = parts.path.rstrip("/") or ""
    return urlunsplit(("https", netloc, path, parts.query, ""))


def url_hash(url: str) -> str:
    return hashlib.sha256(normalize_url(url).encode()).hexdigest()


def clean_urls(raw: Iterable[str], *, limit: int = MAX_URLS) -> list[str]:
    """The URLs (http and https only), or ProofError naming the first bad one."""
    urls: list[str] = []
    for item in raw:
        url = item.strip()
        if not url:
            continue
        if len(url) > MAX_URL_LENGTH:
            raise ProofError(
                _("Adresse trop longue (%(n)d caractères au plus).") % {"n": MAX_URL_LENGTH}
            )
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 — raises ValueError on a bad port
        except ValueError:
            raise ProofError(_("Adresse illisible : %(url)s") % {"url": url[:200]}) from None
        if parts.scheme.lower() not in {"http", "https"}:
            raise ProofError(
                _("Seules les adresses http:// ou https:// sont acceptées (refusé : %(url)s).")
                % {"url": url[:200]}
            )
        if not parts.hostname or any(c.isspace() for c in url):
            raise ProofError(_("Adresse illisible : %(url)s") % {"url": url[:200]})
        if url not in urls:
            urls.append(url)
    if len(urls) > limit:
        if limit == MAX_URLS:
            raise ProofError(_("Dix adresses au plus par preuve."))
        raise ProofError(_("%(n)d adresses au plus.") % {"n": limit})
    return urls


def clean_screenshot(upload: UploadedFile) -> ContentFile[bytes]:
    """A re-encoded copy of an uploaded image (PNG, or JPEG for photos): pixels only, no EXIF,
    GPS or comments. SVG and anything Pillow cannot decode are refused."""
    if upload.size is not None and upload.size > MAX_SCREENSHOT_BYTES:
        raise ProofError(
            _("Capture trop lourde (%(mb)d Mo au plus).")
            % {"mb": MAX_SCREENSHOT_BYTES // (1024 * 1024)}
        )
    data = upload.read(MAX_SCREENSHOT_BYTES + 1)
    if len(data) > MAX_SCREENSHOT_BYTES:
        raise ProofError(
            _("Capture trop lourde (%(mb)d Mo au plus).")
            % {"mb": MAX_SCREENSHOT_BYTES // (1024 * 1024)}
        )
    content, ext = reencode_image(data)
    name = f"{timezone.now():%Y%m%d%H%M%S}.{ext}"
    return ContentFile(content, name=name)


def reencode_image(data: bytes) -> tuple[bytes, str]:
    """The pixels of an image (PNG, JPEG, WebP or GIF: read from the content, never the name)
    re-encoded as PNG, or JPEG for photos, and the extension: no EXIF, GPS, comments or
    anything else survives. ProofError for anything Pillow cannot decode (SVG included) and
    for decompression bombs."""
    not_an_image = ProofError(_("Ce fichier n'est pas une image (PNG, JPEG, WebP ou GIF)."))
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.format not in ACCEPTED_FORMATS:
                raise not_an_image
            width, height = probe.size
            if width * height > MAX_SCREENSHOT_PIXELS:
                raise ProofError(_("Image trop grande."))
            probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            fmt = "JPEG" if image.format == "JPEG" else "PNG"
            mode = "RGB" if fmt == "JPEG" else ("RGBA" if "A" in image.getbands() else "RGB")
            clean = Image.new(mode, image.size)
            clean.paste(image.convert(mode))
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise not_an_image from None
    out = io.BytesIO()
    clean.save(out, format=fmt, **({"quality": 88} if fmt == "JPEG" else {"optimize": True}))
    return out.getvalue(), ("jpg" if fmt == "JPEG" else "png")


def claim_picker(claim: Claim) -> Picker | None:
    """What may prove the claim's mission besides links (essaim.army.services.proof_picks), by
    the mission's kind; None for most kinds."""
    kind = Mission.objects.filter(pk=claim.mission_id).values_list("kind", flat=True).first()
    return picker_for(kind or "")


def submit_proof(
    *,
    claim: Claim,
    urls: Iterable[str],
    note: str = "",
    screenshot: UploadedFile | None = None,
    pick: str = "",
) -> Proof:
    """Record a proof and put the claim in the review queue. A returned claim may be proved
    again; a claim under review or accepted may not. `pick`: one of the volunteer's things that
    the mission's kind accepts as proof (essaim.army.services.proof_picks), whose address joins
    the links."""
    picker, picked = None, None
    if pick:
        picker = claim_picker(claim)
        picked = picker.find(claim.volunteer_id, pick) if picker is not None else None
        if picked is None:
            raise ProofError(_("Ce choix ne peut pas prouver cette mission."))
        urls = [*urls, picked.url]
    clean = clean_urls(urls)
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise ProofError(_("Note trop longue (%(n)d caractères au plus).") % {"n": MAX_NOTE})
    image = clean_screenshot(screenshot) if screenshot is not None else None
    if not clean and image is None:
        raise ProofError(_("Donnez au moins une adresse ou une capture d'écran."))
    now = timezone.now()
    with transaction.atomic():
        moved = Claim.objects.filter(
            pk=claim.pk, status__in=(Claim.Status.CLAIMED, Claim.Status.RETURNED)
        ).update(status=Claim.Status.SUBMITTED, submitted_at=now)
        if not moved:
            raise ProofError(_("Cette mission n'attend pas de preuve."))
        proof = Proof(claim=claim, note=note, submitted_at=now)
        if image is not None:
            proof.screenshot.save(image.name or "capture.png", image, save=False)
        proof.save()
        hashes = {url: url_hash(url) for url in clean}
        seen = set(
            ProofLink.objects.filter(url_hash__in=hashes.values())
            .exclude(proof__claim=claim)
            .values_list("url_hash", flat=True)
        )
        ProofLink.objects.bulk_create(
            ProofLink(proof=proof, url=url, url_hash=h, is_duplicate=h in seen)
            for url, h in hashes.items()
        )
        if picker is not None and picked is not None:
            picker.attach(proof.pk, picked.key)
        notices.proof_submitted(
            claim_id=claim.pk,
            team_id=Mission.objects.filter(pk=claim.mission_id).values_list("team_id").get()[0],
            volunteer_id=claim.volunteer_id,
        )
    claim.status, claim.submitted_at = Claim.Status.SUBMITTED, now
    return proof
