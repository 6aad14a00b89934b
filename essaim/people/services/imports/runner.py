"""The life of an import batch: creation from a file, the run chunk by chunk, the report of
invalid rows, and the purge of old files."""

from __future__ import annotations

import csv
import gc
import logging
import multiprocessing
import os
import queue
import secrets
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from essaim.lib.csvsafe import neutralize
from essaim.lib.text import clean_name
from essaim.people.models import Consent, ImportBatch, Purpose
from essaim.people.services.imports.bulk import deferred_indexes, restore_interrupted, wants_bulk
from essaim.people.services.imports.reader import Message, consume, produce, read_in_process
from essaim.people.services.imports.rows import TAG_MAX_LENGTH, Chunk, RowReader
from essaim.people.services.imports.sniff import FIELDS, ImportFileError, inspect_file, read_preview
from essaim.people.services.imports.writer import ChunkResult, ChunkWriter, bulk_session

logger = logging.getLogger(__name__)

CHUNK_ROWS = 20_000
# From this many rows the file is read in a process of its own (its start costs about a second).
PROCESS_MIN_ROWS = 100_000
MAX_ATTEMPTS = 3
RETENTION = timedelta(days=30)
SOURCE_MAX_LENGTH = 100


class InvalidImportOptions(ValueError):
    """Options of an import (basis, purposes, source, tags, mapping) that make no sense."""


def imports_dir() -> Path:
    path = Path(settings.DATA_DIR) / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass(frozen=True)
class ImportOptions:
    basis: str
    purposes: list[str]
    source: str
    tags: list[str]


def clean_options(
    *, basis: str, purposes: Iterable[str], source: str, tags: Iterable[str]
) -> ImportOptions:
    if basis not in Consent.Basis.values:
        raise InvalidImportOptions(_("Base légale inconnue : %(basis)s.") % {"basis": basis})
    chosen: list[str] = []
    for purpose in purposes:
        purpose = purpose.strip()
        if purpose not in Purpose.values:
            raise InvalidImportOptions(_("Finalité inconnue : %(p)s.") % {"p": purpose})
        if purpose not in chosen:
            chosen.append(purpose)
    if not chosen:
        raise InvalidImportOptions(_("Choisissez au moins une finalité."))
    cleaned_source = clean_name(source, SOURCE_MAX_LENGTH)
    if not cleaned_source:
        raise InvalidImportOptions(_("Indiquez la source des adresses."))
    names: list[str] = []
    for tag in tags:
        name = clean_name(tag, TAG_MAX_LENGTH)
        if name and name not in names:
            names.append(name)
    return ImportOptions(basis, chosen, cleaned_source, names)


def validate_mapping(mapping: dict[str, int], columns: int) -> dict[str, int]:
    """Field → column index; e-mail required, each field and each column at most once."""
    if "email" not in mapping:
        raise InvalidImportOptions(_("Choisissez la colonne qui contient l'adresse e-mail."))
    used: dict[int, str] = {}
    for name, index in mapping.items():
        if name not in FIELDS:
            raise InvalidImportOptions(_("Champ inconnu : %(name)s.") % {"name": name})
        if not 0 <= index < columns:
            raise InvalidImportOptions(_("Colonne inexistante : %(index)s.") % {"index": index})
        if index in used:
            raise InvalidImportOptions(_("Une colonne ne peut alimenter qu'un seul champ."))
        used[index] = name
    return {name: mapping[name] for name in FIELDS if name in mapping}


def save_upload(chunks: Iterable[bytes]) -> Path:
    """Store an uploaded file under DATA_DIR/imports, refusing it past IMPORT_MAX_BYTES."""
    path = imports_dir() / f"{timezone.now():%Y%m%d-%H%M%S}-{secrets.token_hex(8)}.csv"
    written = 0
    try:
        with path.open("wb") as handle:
            for chunk in chunks:
                written += len(chunk)
                if written > settings.IMPORT_MAX_BYTES:
                    raise ImportFileError(
                        _("Fichier trop volumineux : le maximum est %(limit)s Mo.")
                        % {"limit": f"{settings.IMPORT_MAX_BYTES / 1_000_000:.1f}"}
                    )
                handle.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


@contextmanager
def owned_upload(chunks: Iterable[bytes]) -> Iterator[Path]:
    """Store an upload (save_upload) for the body to record the batch that owns it; the file is
    deleted if the body fails, whatever the error, so that no upload outlives a refusal. (A
    process killed inside the body leaves an orphan: purge_old_import_files removes it.)"""
    path = save_upload(chunks)
    try:
        yield path
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def create_batch(
    *,
    path: Path,
    filename: str,
    basis: str,
    purposes: Sequence[str],
    source: str,
    tags: Sequence[str] = (),
    created_by: Any = None,
) -> ImportBatch:
    """Inspect the file and record a batch (status UPLOADED) with the guessed column mapping.

    Raises ImportFileError for an unusable file and InvalidImportOptions for bad options; in
    both cases nothing is recorded."""
    options = clean_options(basis=basis, purposes=purposes, source=source, tags=tags)
    info = inspect_file(path)
    return ImportBatch.objects.create(
        created_by=created_by,
        filename=clean_name(filename, 255) or path.name,
        path=str(path),
        size=info.size,
        sha256=info.sha256,
        encoding=info.encoding,
        delimiter=info.delimiter,
        mapping=info.mapping,
        basis=options.basis,
        purposes=options.purposes,
        source=options.source,
        tags=options.tags,
        total_rows=info.data_lines,
        status=ImportBatch.Status.UPLOADED,
    )


def queue_batch(*, batch: ImportBatch, mapping: dict[str, int]) -> None:
    """Fix the column mapping and mark the batch QUEUED (the caller enqueues the task)."""
    header, _rows = read_preview(Path(batch.path), batch.encoding, batch.delimiter)
    batch.mapping = validate_mapping(mapping, len(header))
    batch.status = ImportBatch.Status.QUEUED
    batch.save(update_fields=["mapping", "status"])


# --- The run ------------------------------------------------------------------------------------


class _Prefetch:
    """Runs a chunk generator in a thread, one chunk ahead of the database writes.

    The generator is pure Python (it never touches the database connection, which belongs to the
    calling thread); its exceptions are raised again in the caller."""

    def __init__(self, source: Iterator[Chunk], depth: int = 1) -> None:
        self._queue: queue.Queue[Message] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(source,), name="essaim-import-reader", daemon=True
        )
        self._thread.start()

    def _put(self, item: Message) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self, source: Iterator[Chunk]) -> None:
        produce(source, self._put)

    def __iter__(self) -> Iterator[Chunk]:
        return consume(self._queue.get)

    def close(self) -> None:
        self._stop.set()
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._thread.join(timeout=10)


class _ProcessPrefetch:
    """Reads and normalizes chunks in a process of its own, for a large file: the thread of
    _Prefetch shares the GIL with the database thread, while a process runs on the other core.
    The pipe holds about one chunk, so the parser stays at most a chunk or two ahead."""

    def __init__(self, reader_args: dict[str, Any]) -> None:
        context = multiprocessing.get_context("spawn")
        self._pipe, child_end = context.Pipe(duplex=False)
        self._process = context.Process(
            target=read_in_process,
            args=(reader_args, translation.get_language(), child_end),
            name="essaim-import-reader",
            daemon=True,
        )
        self._process.start()
        child_end.close()

    def _receive(self) -> Message:
        try:
            message: Message = self._pipe.recv()
        except EOFError:
            raise RuntimeError(
                f"import reader process ended (exit code {self._process.exitcode})"
            ) from None
        return message

    def __iter__(self) -> Iterator[Chunk]:
        return consume(self._receive)

    def close(self) -> None:
        self._pipe.close()
        if self._process.is_alive():
            self._process.terminate()
        self._process.join(timeout=10)


class _Report:
    """The CSV of invalid rows: line, reason, then the row's cells as read. Every cell is
    neutralized against formula injection, since the file is meant to be opened in a
    spreadsheet."""

    def __init__(self, batch: ImportBatch, header: list[str]) -> None:
        self.path = report_file(batch)
        self._handle: IO[str] = self.path.open("w", encoding="utf-8-sig", newline="")
        self._writer = csv.writer(self._handle, delimiter=batch.delimiter or ",")
        self._writer.writerow([_("ligne"), _("raison"), *(neutralize(cell) for cell in header)])
        self._handle.flush()

    def write(self, rows: list[tuple[int, str, list[str]]]) -> None:
        if not rows:
            return
        self._writer.writerows(
            [line, neutralize(reason), *(neutralize(c) for c in cells)]
            for line, reason, cells in rows
        )
        self._handle.flush()

    def close(self) -> None:
        self._handle.close()


def report_file(batch: ImportBatch) -> Path:
    return imports_dir() / f"import-{batch.pk}-lignes-invalides.csv"


def warnings_file(batch: ImportBatch) -> Path:
    return imports_dir() / f"import-{batch.pk}-avertissements.csv"


class _WarningsReport:
    """The CSV of values left out of imported rows: line, column (as named in the file), value,
    reason; neutralized as _Report is."""

    def __init__(self, batch: ImportBatch, header: list[str], mapping: dict[str, int]) -> None:
        self.path = warnings_file(batch)
        self._columns = {name: header[index] for name, index in mapping.items()}
        self._handle: IO[str] = self.path.open("w", encoding="utf-8-sig", newline="")
        self._writer = csv.writer(self._handle, delimiter=batch.delimiter or ",")
        self._writer.writerow([_("ligne"), _("colonne"), _("valeur"), _("raison")])
        self._handle.flush()

    def write(self, rows: list[tuple[int, str, str, str]]) -> None:
        if not rows:
            return
        self._writer.writerows(
            [
                line,
                neutralize(self._columns.get(name, name)),
                neutralize(value),
                neutralize(reason),
            ]
            for line, name, value, reason in rows
        )
        self._handle.flush()

    def close(self) -> None:
        self._handle.close()


@dataclass
class _Totals:
    processed_rows: int = 0
    imported: int = 0
    updated: int = 0
    duplicates: int = 0
    invalid: int = 0
    warnings: int = 0

    def plus(self, result: ChunkResult, processed_rows: int) -> _Totals:
        return _Totals(
            processed_rows=processed_rows,
            imported=self.imported + result.imported,
            updated=self.updated + result.updated,
            duplicates=self.duplicates + result.duplicates,
            invalid=self.invalid + len(result.invalid),
            warnings=self.warnings + len(result.warnings),
        )

    def fields(self) -> dict[str, int]:
        return dict(self.__dict__)


def _write_chunk(
    writer: ChunkWriter, chunk: Chunk, batch: ImportBatch, totals: _Totals, processed: int
) -> tuple[ChunkResult, _Totals]:
    """One transaction: the chunk's rows and the batch's counters commit together. A unique
    violation means someone else added one of the addresses meanwhile (PostgreSQL only): the
    chunk is rolled back and written again, and the address is then found in the base."""
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            with transaction.atomic():
                result = writer.write(chunk)
                new_totals = totals.plus(result, processed)
                ImportBatch.objects.filter(pk=batch.pk).update(**new_totals.fields())
            return result, new_totals
        except IntegrityError:
            writer.forget_tags()  # tags created in the rolled-back transaction are gone
            if attempt == MAX_ATTEMPTS:
                raise
            logger.warning("import %s: conflict on lines up to %s, retrying", batch.pk, processed)
    raise AssertionError("unreachable")


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Parsing allocates a few small containers per row and keeps a chunk alive while the
    database writes the previous one: with the default thresholds the cyclic garbage collector
    would spend a fifth of the import walking them. Nothing here makes cycles."""
    thresholds = gc.get_threshold()
    gc.set_threshold(100_000, 50, 100)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)


def run_batch(
    *,
    batch_id: int,
    chunk_rows: int = CHUNK_ROWS,
    progress: Callable[[ImportBatch], None] | None = None,
    threaded: bool = True,
    bulk: bool | None = None,
) -> ImportBatch:
    """Run an UPLOADED or QUEUED batch to the end; see the package docstring for the counters
    and for what a failure leaves behind. Never raises for a problem of the file or the
    database: the batch ends FAILED with the error, and is returned.

    `bulk`: True or False forces the bulk-load path (secondary indexes rebuilt after the rows,
    see imports.bulk) on or off; None chooses it for a file as large as the base."""
    with fewer_collections(), bulk_session():
        return _run_batch(
            batch_id=batch_id,
            chunk_rows=chunk_rows,
            progress=progress,
            threaded=threaded,
            bulk=bulk,
        )


def _run_batch(
    *,
    batch_id: int,
    chunk_rows: int,
    progress: Callable[[ImportBatch], None] | None,
    threaded: bool,
    bulk: bool | None,
) -> ImportBatch:
    claimed = ImportBatch.objects.filter(
        pk=batch_id, status__in=[ImportBatch.Status.UPLOADED, ImportBatch.Status.QUEUED]
    ).update(status=ImportBatch.Status.RUNNING, started_at=timezone.now(), error="")
    batch = ImportBatch.objects.get(pk=batch_id)
    if not claimed:
        logger.warning("import %s is %s, not run again", batch_id, batch.status)
        return batch

    totals = _Totals()
    writer = ChunkWriter(batch)
    report: _Report | None = None
    warnings_report: _WarningsReport | None = None
    chunks: _Prefetch | _ProcessPrefetch | None = None
    try:
        path = Path(batch.path)
        if not path.is_file() or path.stat().st_size != batch.size:
            raise ImportFileError(_("Le fichier importé a disparu ou a changé depuis son envoi."))
        header, _preview = read_preview(path, batch.encoding, batch.delimiter)
        mapping = validate_mapping(dict(batch.mapping), len(header))
        report = _Report(batch, header)
        warnings_report = _WarningsReport(batch, header, mapping)
        batch.report_path = str(report.path)
        batch.warnings_path = str(warnings_report.path)
        batch.save(update_fields=["report_path", "warnings_path"])
        reader_args: dict[str, Any] = {
            "path": path,
            "encoding": batch.encoding,
            "delimiter": batch.delimiter,
            "mapping": mapping,
            "columns": len(header),
            "chunk_rows": chunk_rows,
            "max_field": settings.IMPORT_MAX_FIELD_CHARS,
        }
        restore_interrupted()
        writer.create_tables()
        source: Iterable[Chunk]
        if threaded and (batch.total_rows or 0) >= PROCESS_MIN_ROWS:
            try:
                source = chunks = _ProcessPrefetch(reader_args)
            except (AssertionError, OSError):
                # A daemonic worker process may not start children: read in a thread instead.
                logger.warning("import %s: no reader process, reading in a thread", batch_id)
                source = chunks = _Prefetch(RowReader(**reader_args).chunks())
        elif threaded:
            source = chunks = _Prefetch(RowReader(**reader_args).chunks())
        else:
            source = RowReader(**reader_args).chunks()
        with deferred_indexes(wants_bulk(batch.total_rows, bulk)):
            for chunk in source:
                processed = min(chunk.last_line - 1, batch.total_rows or chunk.last_line)
                result, totals = _write_chunk(writer, chunk, batch, totals, processed)
                report.write(result.invalid)
                warnings_report.write(result.warnings)
                for name, value in totals.fields().items():
                    setattr(batch, name, value)
                if progress:
                    progress(batch)
        batch.status = ImportBatch.Status.DONE
        batch.processed_rows = max(totals.processed_rows, batch.total_rows or 0)
    except Exception as exc:
        logger.exception("import %s failed", batch_id)
        for name, value in totals.fields().items():
            setattr(batch, name, value)
        batch.status = ImportBatch.Status.FAILED
        if isinstance(exc, ImportFileError | InvalidImportOptions):
            batch.error = str(exc)
        else:
            batch.error = _(
                "Erreur inattendue après la ligne %(line)s : %(error)s. Les lignes précédentes "
                "sont importées ; relancez l'import du même fichier pour le terminer."
            ) % {"line": totals.processed_rows + 1, "error": f"{type(exc).__name__}: {exc}"}
    finally:
        if chunks is not None:
            chunks.close()
        if report is not None:
            report.close()
        if warnings_report is not None:
            warnings_report.close()
        try:
            writer.drop_tables()
        except DatabaseError:
            logger.warning("import %s: could not drop the staging tables", batch_id)
    batch.finished_at = timezone.now()
    batch.save(
        update_fields=[
            "status",
            "error",
            "finished_at",
            "processed_rows",
            "imported",
            "updated",
            "duplicates",
            "invalid",
            "warnings",
        ]
    )
    return batch


# --- Retention ----------------------------------------------------------------------------------


def _inside(path: Path, root: Path) -> bool:
    try:
        return path.resolve().is_relative_to(root)
    except OSError:
        return False


# An upload is written before the batch that owns it is committed (the file is inspected
# first, up to IMPORT_MAX_BYTES): a file younger than this is never taken for an orphan.
ORPHAN_GRACE = timedelta(days=1)
_FILE_FIELDS = ("path", "report_path", "warnings_path")


def purge_old_import_files(*, now: Any = None) -> int:
    """Delete the uploaded files and reports of batches finished (or uploaded and never
    started) more than RETENTION ago; they hold personal data that the base already has. Then
    delete the orphans: files of the imports folder that no batch refers to, older than
    ORPHAN_GRACE (an upload whose batch was never recorded, a process killed mid-way). Only
    files under DATA_DIR/imports are deleted (a CLI import reads its file where it is).
    Returns the number of files deleted."""
    now = now or timezone.now()
    cutoff = now - RETENTION
    root = imports_dir().resolve()
    old = ImportBatch.objects.filter(
        Q(
            status__in=[ImportBatch.Status.DONE, ImportBatch.Status.FAILED],
            finished_at__lt=cutoff,
        )
        | Q(status=ImportBatch.Status.UPLOADED, created_at__lt=cutoff)
    ).exclude(path="", report_path="", warnings_path="")
    deleted = 0
    for batch in old.iterator(chunk_size=500):
        changes: dict[str, str] = {}
        for name in _FILE_FIELDS:
            value = getattr(batch, name)
            if value and _inside(Path(value), root):
                if Path(value).is_file():
                    Path(value).unlink()
                    deleted += 1
                changes[name] = ""
        if changes:
            ImportBatch.objects.filter(pk=batch.pk).update(**changes)
    orphans = _purge_orphans(root, now - ORPHAN_GRACE)
    logger.info("purged %s old import files and %s orphans", deleted, orphans)
    return deleted + orphans


def _purge_orphans(root: Path, older_than: Any) -> int:
    """Delete the regular files directly under `root` modified before `older_than` that no
    batch refers to. Batches are few (one per import ever run): their paths fit in memory."""
    referenced: set[Path] = set()
    for paths in ImportBatch.objects.values_list(*_FILE_FIELDS).iterator(chunk_size=2000):
        referenced.update(Path(value).resolve() for value in paths if value)
    limit = older_than.timestamp()
    deleted = 0
    with os.scandir(root) as entries:
        for entry in entries:
            try:
                if not entry.is_file(follow_symlinks=False):
                    continue
                if entry.stat(follow_symlinks=False).st_mtime >= limit:
                    continue
            except OSError:
                continue
            path = Path(entry.path)
            if path.resolve() in referenced:
                continue
            path.unlink(missing_ok=True)
            deleted += 1
            logger.warning("import files: deleted the orphan %s", entry.name)
    return deleted
