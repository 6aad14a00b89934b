"""The volunteer's own profile."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from essaim.army.models import Volunteer
from essaim.army.services.signup import add_roles
from essaim.people.services.zones import zone_of


def update_profile(
    *,
    volunteer: Volunteer,
    first_name: str,
    postcode: str,
    weekly_hours: int,
    windows: int,
    skills: list[str],
    languages: list[str],
    add_role_slugs: list[str],
) -> list[str]:
    """Save what the volunteer changed (postcode → département and région) and add the roles
    they asked for at stage applied. Returns the slugs of the roles added."""
    departement, region = zone_of(postcode) or ("", "")
    volunteer.first_name = first_name
    volunteer.postcode = postcode
    volunteer.departement, volunteer.region = departement, region
    volunteer.weekly_hours = weekly_hours
    volunteer.windows = windows
    volunteer.skills = skills
    volunteer.languages = languages
    volunteer.updated_at = timezone.now()
    with transaction.atomic():
        volunteer.save(
            update_fields=[
                "first_name",
                "postcode",
                "departement",
                "region",
                "weekly_hours",
                "windows",
                "skills",
                "languages",
                "updated_at",
            ]
        )
        return add_roles(volunteer, add_role_slugs, by=volunteer.user, reason="profile")
