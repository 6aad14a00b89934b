"""Create the demo accounts (an HQ admin, a coordinator, a volunteer) and print their logins."""

from typing import Any

from django.core.management.base import BaseCommand
from django.utils.crypto import get_random_string

from essaim.accounts.services import ensure_demo_accounts


class Command(BaseCommand):
    help = "Create the demo accounts if missing and print their logins (new passwords each run)."

    def handle(self, *args: Any, **options: Any) -> None:
        for email, user in ensure_demo_accounts().items():
            password = get_random_string(16)
            user.set_password(password)
            user.save(update_fields=["password"])
            self.stdout.write(f"  {user.get_role_display():<18} {email:<32} {password}")
