"""GDPR requests for operators: `essaim gdpr access EMAIL` and `essaim gdpr erase EMAIL --yes`."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from essaim.accounts.services import audit
from essaim.lib.text import InvalidValue, normalize_email
from essaim.people.models import Contact
from essaim.people.services.gdpr import access_report, erase_contact


class Command(BaseCommand):
    help = (
        "GDPR requests: `access EMAIL` prints everything held about the person as JSON; "
        "`erase EMAIL --yes` deletes it and keeps only the address hash on the suppression list. "
        "Both are written to the audit log."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        access = actions.add_parser("access", help="print the access report (art. 15) as JSON")
        access.add_argument("email")
        erase = actions.add_parser("erase", help="erase the contact (art. 17)")
        erase.add_argument("email")
        erase.add_argument("--yes", action="store_true", help="confirm the erasure")

    def handle(self, *args: Any, **options: Any) -> None:
        contact = self._find(options["email"])
        if options["action"] == "access":
            report = access_report(contact)
            audit(action="contact.access_export", obj=contact, via="command")
            self.stdout.write(json.dumps(report, ensure_ascii=False, indent=2))
            return
        if not options["yes"]:
            raise CommandError("erasure is irreversible: add --yes to confirm")
        pk = contact.pk
        hashed = erase_contact(contact, via="command")
        self.stdout.write(
            f"contact {pk} erased; address hash {hashed} kept on the suppression list"
        )

    def _find(self, raw: str) -> Contact:
        try:
            _, key = normalize_email(raw)
        except InvalidValue as exc:
            raise CommandError(f"invalid address: {exc}") from exc
        contact = Contact.objects.filter(email_key=key).first()
        if contact is None:
            raise CommandError("no contact with this address")
        return contact
