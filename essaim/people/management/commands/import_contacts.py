"""Import contacts from a CSV file: `essaim import_contacts PATH --basis … --source …`.

Progress goes to stderr; the last line on stdout is
`imported=N updated=N duplicates=N invalid=N warnings=N seconds=S`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from essaim.people.models import Consent, ImportBatch
from essaim.people.services.imports import (
    CHUNK_ROWS,
    ImportFileError,
    InvalidImportOptions,
    create_batch,
    run_batch,
)


def _split(value: str) -> list[str]:
    return [item.strip() for item in value.replace(";", ",").split(",") if item.strip()]


class Command(BaseCommand):
    _started = 0.0
    help = (
        "Import contacts from a CSV file (UTF-8 or Windows-1252; comma, semicolon or tab), "
        "with the declared legal basis and source. Every imported contact gets a granted "
        "consent for each purpose."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("path", help="CSV file with a header line")
        parser.add_argument("--basis", required=True, choices=Consent.Basis.values)
        parser.add_argument("--source", required=True, help="where the addresses come from")
        parser.add_argument("--tags", default="", help="tags added to every contact (a,b)")
        parser.add_argument("--purposes", default="news", help="consent purposes (news,…)")
        parser.add_argument("--chunk-rows", type=int, default=CHUNK_ROWS, help=None)

    def handle(self, *args: Any, **options: Any) -> None:
        started = self._started = time.monotonic()
        path = Path(options["path"]).expanduser()
        if not path.is_file():
            raise CommandError(f"{path}: fichier introuvable")
        try:
            batch = create_batch(
                path=path.resolve(),
                filename=path.name,
                basis=options["basis"],
                purposes=_split(options["purposes"]),
                source=options["source"],
                tags=_split(options["tags"]),
                created_by=None,
            )
        except (ImportFileError, InvalidImportOptions) as exc:
            raise CommandError(f"{path}: {exc}") from exc
        self.stderr.write(
            f"import {batch.pk}: {batch.filename}, {batch.size} octets, {batch.encoding}, "
            f"séparateur {batch.delimiter!r}, colonnes {batch.mapping}"
        )
        batch = run_batch(
            batch_id=batch.pk, chunk_rows=max(1, options["chunk_rows"]), progress=self._progress
        )
        seconds = time.monotonic() - started
        if batch.invalid:
            self.stderr.write(f"import {batch.pk}: lignes invalides dans {batch.report_path}")
        if batch.warnings:
            self.stderr.write(f"import {batch.pk}: avertissements dans {batch.warnings_path}")
        self.stdout.write(
            f"imported={batch.imported} updated={batch.updated} "
            f"duplicates={batch.duplicates} invalid={batch.invalid} warnings={batch.warnings} "
            f"seconds={seconds:.2f}"
        )
        if batch.status != ImportBatch.Status.DONE:
            raise CommandError(f"import {batch.pk} en échec : {batch.error}")

    def _progress(self, batch: ImportBatch) -> None:
        total = batch.total_rows or 0
        percent = int(100 * batch.processed_rows / total) if total else 0
        self.stderr.write(
            f"import {batch.pk}: {batch.processed_rows}/{total} lignes ({percent} %) "
            f"en {time.monotonic() - self._started:.1f} s, imported={batch.imported} "
            f"updated={batch.updated} duplicates={batch.duplicates} invalid={batch.invalid} "
            f"warnings={batch.warnings}"
        )
