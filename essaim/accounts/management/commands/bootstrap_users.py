"""Create the demo accounts (an HQ admin, a coordinator, a volunteer) and print their logins."""

from typing import Any

from django.core.management.base import BaseCommand
from django.utils.crypto import get_random_string

from essaim.accounts.models import Role, User

DEMO_ACCOUNTS = [
    ("qg@essaim.localhost", "QG Démo", Role.HQ_ADMIN, []),
    (
        "coordination@essaim.localhost",
        "Coordination Paris",
        Role.COORDINATOR,
        ["75", "92", "93", "94"],
    ),
    ("volontaire@essaim.localhost", "Volontaire Démo", Role.VOLUNTEER, []),
]


class Command(BaseCommand):
    help = "Create the demo accounts if missing and print their logins (new passwords each run)."

    def handle(self, *args: Any, **options: Any) -> None:
        for email, name, role, zones in DEMO_ACCOUNTS:
            user, _ = User.objects.get_or_create(
                email=email, defaults={"full_name": name, "role": role, "zones": zones}
            )
            password = get_random_string(16)
            user.set_password(password)
            user.save(update_fields=["password"])
            self.stdout.write(f"  {user.get_role_display():<18} {email:<32} {password}")
