"""Mission kits' files: visuals, videos and PDFs that "place" missions hand to volunteers.

An upload's type is read from its first bytes, never from its name or the browser's
Content-Type: a PNG, JPEG, WebP or GIF image is re-encoded from its pixels (no metadata, no
trailing payload survives, as for proofs' screenshots); an MP4/QuickTime, WebM or Ogg video and
a PDF are kept as sent; anything else is refused — SVG included, since an SVG is a document
that may carry script, and re-drawing it safely is not worth its risk here. Files are served
as attachments with nosniff and a CSP that runs nothing (views/kits.py: kit_file).
"""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING

from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from essaim.army.models import KitFile, Mission
from essaim.army.services.mission_base import MissionError
from essaim.army.services.proofs import MAX_SCREENSHOT_BYTES, reencode_image

if TYPE_CHECKING:
    from essaim.accounts.models import User

MAX_IMAGE_BYTES = MAX_SCREENSHOT_BYTES
MAX_KIT_FILE_BYTES = 25 * 1024 * 1024  # a short clip or a leaflet; longer videos are links
MAX_FILES_PER_MISSION = 20
MAX_NAME = 80

_VIDEO_BRANDS_OFFSET = 4  # ISO base media files (MP4, QuickTime): size, then "ftyp"


class KitFileError(MissionError):
    pass


def sniff(data: bytes) -> tuple[str, str, str] | None:
    """(kind, content type, extension) of a non-image file we accept, from its content."""
    if data.startswith(b"%PDF-"):
        return KitFile.Kind.PDF, "application/pdf", "pdf"
    if data[_VIDEO_BRANDS_OFFSET : _VIDEO_BRANDS_OFFSET + 4] == b"ftyp":
        brand = data[8:12]
        if brand == b"qt  ":
            return KitFile.Kind.VIDEO, "video/quicktime", "mov"
        return KitFile.Kind.VIDEO, "video/mp4", "mp4"
    if data.startswith(b"\x1a\x45\xdf\xa3"):
        return KitFile.Kind.VIDEO, "video/webm", "webm"
    if data.startswith(b"OggS"):
        return KitFile.Kind.VIDEO, "video/ogg", "ogv"
    return None


def _looks_like_svg(data: bytes) -> bool:
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<?xml", b"<svg", b"<!doctype svg")) and b"<svg" in head


def _display_name(raw: str, ext: str) -> str:
    """A harmless download name: the upload's stem in letters, digits, dots, dashes and
    underscores, and the extension of the type actually found."""
    stem = raw.rsplit("/", 1)[-1].rsplit("\\", 1)[-1].rsplit(".", 1)[0]
    stem = re.sub(r"[^\w.-]+", "-", stem, flags=re.ASCII).strip(".-_")[:MAX_NAME] or "fichier"
    return f"{stem}.{ext}"


def add_kit_file(*, mission: Mission, upload: UploadedFile, by: User | None) -> KitFile:
    """Validate, clean and store one file of the mission's kit."""
    if mission.status == Mission.Status.CLOSED:
        raise KitFileError(_("Cette mission est close."))
    too_big = KitFileError(
        _("Fichier trop lourd (%(mb)d Mo au plus).") % {"mb": MAX_KIT_FILE_BYTES // (1024 * 1024)}
    )
    if upload.size is not None and upload.size > MAX_KIT_FILE_BYTES:
        raise too_big
    data = upload.read(MAX_KIT_FILE_BYTES + 1)
    if len(data) > MAX_KIT_FILE_BYTES:
        raise too_big
    if not data:
        raise KitFileError(_("Fichier vide."))
    if _looks_like_svg(data):
        raise KitFileError(
            _("Les images SVG sont refusées (elles peuvent contenir du code) : envoyez un PNG.")
        )
    found = sniff(data)
    if found is not None:
        kind, content_type, ext = found
        content = data
    else:
        if len(data) > MAX_IMAGE_BYTES:
            raise KitFileError(
                _("Image trop lourde (%(mb)d Mo au plus).")
                % {"mb": MAX_IMAGE_BYTES // (1024 * 1024)}
            )
        try:
            content, ext = reencode_image(data)
        except MissionError:
            raise KitFileError(
                _(
                    "Type de fichier refusé : images PNG, JPEG, WebP ou GIF, vidéos MP4, WebM "
                    "ou Ogg, documents PDF."
                )
            ) from None
        kind = KitFile.Kind.IMAGE
        content_type = "image/jpeg" if ext == "jpg" else "image/png"
    with transaction.atomic():
        # The row lock makes the per-mission limit hold under concurrent uploads.
        list(Mission.objects.select_for_update().filter(pk=mission.pk).values_list("pk"))
        if KitFile.objects.filter(mission=mission).count() >= MAX_FILES_PER_MISSION:
            raise KitFileError(
                _("%(n)d fichiers au plus par mission.") % {"n": MAX_FILES_PER_MISSION}
            )
        item = KitFile(
            mission=mission,
            kind=kind,
            content_type=content_type,
            name=_display_name(upload.name or "", ext),
            size=len(content),
            uploaded_by=by,
        )
        item.file.save(f"{uuid.uuid4().hex}.{ext}", ContentFile(content), save=False)
        stored = item.file.name
        try:
            item.save()
        except Exception:
            if stored:
                item.file.storage.delete(stored)
            raise
    return item


def delete_kit_file(*, item: KitFile) -> None:
    """Remove the file from the kit and from storage (after the commit: a rolled-back delete
    keeps its file)."""
    storage, name = item.file.storage, item.file.name
    with transaction.atomic():
        KitFile.objects.filter(pk=item.pk).delete()
        transaction.on_commit(lambda: storage.delete(name) if name else None)


def copy_kit_files(*, source: Mission, target: Mission) -> list[KitFile]:
    """Give `target` (a mission's copy) its own copy of each file of `source`'s kit: the rows
    as they are, the contents stored again under the copy, so that removing a file from one
    mission's kit never takes it from the other. A file stored before a failure is removed."""
    stored: list[tuple[KitFile, str]] = []
    try:
        for item in KitFile.objects.filter(mission=source).order_by("pk"):
            with item.file.open("rb") as handle:
                content = handle.read()
            name = item.file.name or ""
            ext = name.rsplit(".", 1)[-1] if "." in name else "bin"
            copy = KitFile(
                mission=target,
                kind=item.kind,
                content_type=item.content_type,
                name=item.name,
                size=item.size,
                uploaded_by_id=item.uploaded_by_id,
                uploaded_at=item.uploaded_at,
            )
            copy.file.save(f"{uuid.uuid4().hex}.{ext}", ContentFile(content), save=False)
            stored.append((copy, copy.file.name or ""))
            copy.save()
    except Exception:
        for copy, name in stored:
            copy.file.storage.delete(name)
        raise
    return [copy for copy, _name in stored]
