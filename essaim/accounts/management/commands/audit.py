"""`essaim audit verify`: check that the audit log's hash chain is unbroken."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from essaim.accounts.models import AuditEvent
from essaim.accounts.services import verify_audit_chain


class Command(BaseCommand):
    help = "Audit log tools. verify: walk the hash chain; exit 1 naming the first broken entry."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        verify = actions.add_parser("verify", help="Check every entry's hash and link, in order.")
        verify.add_argument("--chunk-size", type=int, default=2000, help="Rows read at a time.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "verify":
            self._verify(options["chunk_size"])

    def _verify(self, chunk_size: int) -> None:
        report = verify_audit_chain(chunk_size=max(1, chunk_size))
        if report.first_break is not None:
            broken = AuditEvent.objects.filter(pk=report.first_break.event_id).first()
            raise CommandError(
                f"Audit chain broken at entry {report.first_break.event_id} "
                f"({broken or 'gone'}): {report.first_break.reason}; "
                f"{report.checked} entries before it are intact."
            )
        # The last hash, kept somewhere else, also reveals the removal of the newest entries.
        self.stdout.write(
            f"Audit chain intact: {report.checked} entries, last hash {report.last_hash or '-'}."
        )
