"""Helpers for the missions' tests: a published mission in one call, and tiny real images."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from essaim.accounts.models import Team, User
from essaim.army.models import Mission, MissionKind
from essaim.army.services.missions import Targeting, create_mission, publish_mission
from essaim.army.tests.factories import role


def make_mission(
    *,
    by: User | None = None,
    role_slug: str = "tchatcheur",
    quota: int = 3,
    team: Team | None = None,
    targeting: Targeting | None = None,
    publish: bool = True,
    title: str = "Relayer le discours de Lille",
    **extra: Any,
) -> Mission:
    mission = create_mission(
        by=by,
        kind=extra.pop("kind", MissionKind.RELAY),
        title=title,
        brief="Lisez le discours et parlez-en avec vos mots sur les forums que vous fréquentez.",
        role=role(role_slug),
        quota=quota,
        deadline=extra.pop("deadline", timezone.now() + timedelta(days=3)),
        team=team,
        targeting=targeting,
        **extra,
    )
    if publish:
        publish_mission(mission=mission)
        mission.refresh_from_db()
    return mission


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
