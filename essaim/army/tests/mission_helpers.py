"""Helpers for the missions' tests: tiny real images (and make_mission, MissionFactory's older
name)."""

from __future__ import annotations

import io
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from essaim.army.models import Mission
from essaim.army.tests.factories import MissionFactory


def make_mission(**kwargs: Any) -> Mission:
    """MissionFactory under its older name, for the tests that still call it."""
    return MissionFactory.create(**kwargs)


def image_upload(
    fmt: str = "PNG",
    *,
    name: str = "capture.png",
    size: tuple[int, int] = (40, 30),
    exif: bool = False,
) -> SimpleUploadedFile:
    out = io.BytesIO()
    image = Image.new("RGB", size, (200, 30, 30))
    kwargs: dict[str, Any] = {}
    if exif:
        data = Image.Exif()
        data[0x010F] = "PhoneMaker"  # Make
        data[0x8825] = {1: "N", 2: (48.0, 51.0, 0.0)}  # GPSInfo: latitude
        kwargs["exif"] = data
    image.save(out, format=fmt, **kwargs)
    return SimpleUploadedFile(name, out.getvalue(), content_type=f"image/{fmt.lower()}")
