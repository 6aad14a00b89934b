"""CSV import of contacts, from the UI (a background task) or `essaim import_contacts`.

The path of a file: `inspect_file` (sniff.py) checks size, binary content, encoding (UTF-8 with
or without BOM, else Windows-1252), delimiter (, ; or tab) and guesses the column mapping from
the header; `create_batch` records an ImportBatch; `run_batch` reads the rows in a thread, or
for a large file in a process of its own (rows.py: parse, normalize, de-duplicate within the
file — pure Python) while the calling thread writes them chunk by chunk (writer.py: a TEMP
staging table loaded by COPY or executemany, then set-based INSERT … SELECT / UPDATE … FROM,
identical on SQLite and PostgreSQL). A file as large as the base takes the bulk-load path
(bulk.py: secondary indexes, and PostgreSQL's foreign keys to contacts, rebuilt after the rows;
uniqueness always enforced).

What an import does to the base:

- A new address creates a contact (source: the declared source) with, for every declared
  purpose, a granted Consent (basis declared, source "import", source_ref the batch id).
- An address already in the base only gets its empty fields filled (first name, last name,
  phone, postcode with its département and région) and its missing consents added: an existing
  consent row, granted, pending or withdrawn, is never updated, so consent never goes down.
- An address on the suppression list is never (re-)added: its rows are invalid.
- Tags of the row and of the batch are added (missing Tag rows created). A contact created
  records its batch (Contact.import_batch: the "import" entry of its timeline); an existing
  contact filled gets one ContactEvent(kind="import", data={"batch": id}).
- Re-importing the same file changes nothing: every field is already filled, every consent and
  tag already there, so no contact is updated and no event written.

Counters — each non-blank data row counts in at most one of imported, updated, duplicates and
invalid:

- invalid: the row was rejected; it is in the report of rejected rows, with its line number and
  the reason. Only the address rejects a row (missing or invalid e-mail, an address on the
  suppression list: the person's refusal), and so does a row that cannot be read as a record
  (unreadable quotes, more cells than the header, a cell over IMPORT_MAX_FIELD_CHARS), whose
  address cannot be trusted to sit in its column.
- warnings: one per optional value left out of a row that was imported (an invalid phone, an
  invalid or unknown postcode, a tag too long); the row is imported without it, and the
  warnings report gives the line, the column, the value and the reason. A rejected row gets no
  warnings.
- duplicates: a valid row whose address (case-folded) appeared on an earlier valid row of the
  same file. The first occurrence wins for every field; a duplicate only fills fields still
  empty.
- imported: the first occurrence of an address new to the base (a contact was created).
- updated: the first occurrence of an address already in the base that filled at least one
  empty field (its updated_at changes; nothing else does).
- A first occurrence of a known address that filled nothing counts in none of them.

Atomicity — the trade-off: each chunk of CHUNK_ROWS lines is one transaction, which also saves
the counters and the progress on the batch, so the UI sees the import advance and a million rows
never sit in one transaction. If something fails mid-way, the chunks already committed stay:
they are complete contacts with their consents, tags and events, never half-written rows. The
batch is marked FAILED with the error and the report of invalid rows so far, and re-running the
same file finishes the job idempotently (rows already imported count as unchanged). On SQLite
the import's connection checkpoints its WAL once at the end rather than at each chunk's commit
(writer.bulk_session); a chunk's commit is as durable as any other. An unusable
file (binary, empty, header only, no e-mail column, too big, unknown encoding, an unknown
delimiter, an unreadable header) is refused before anything is written, with a message for the
person, and an uploaded file is deleted with it (runner.owned_upload).
"""

# The names below load on first use (PEP 562), not when the package is imported: the import's
# reader process (reader.py) is spawned, a fresh interpreter that imports reader.py, and with it
# this package, before Django is set up, while the modules named here import models, which need
# the app registry.
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from essaim.people.services.imports.rows import SUPPRESSED_REASON
    from essaim.people.services.imports.runner import (
        CHUNK_ROWS,
        ORPHAN_GRACE,
        RETENTION,
        InvalidImportOptions,
        clean_options,
        create_batch,
        imports_dir,
        owned_upload,
        purge_old_import_files,
        queue_batch,
        run_batch,
        save_upload,
        validate_mapping,
    )
    from essaim.people.services.imports.sniff import (
        FIELD_LABELS,
        FIELDS,
        FileInfo,
        ImportFileError,
        guess_mapping,
        inspect_file,
        read_preview,
    )

_HOME = {
    "SUPPRESSED_REASON": "rows",
    "CHUNK_ROWS": "runner",
    "ORPHAN_GRACE": "runner",
    "RETENTION": "runner",
    "InvalidImportOptions": "runner",
    "clean_options": "runner",
    "create_batch": "runner",
    "imports_dir": "runner",
    "owned_upload": "runner",
    "purge_old_import_files": "runner",
    "queue_batch": "runner",
    "run_batch": "runner",
    "save_upload": "runner",
    "validate_mapping": "runner",
    "FIELD_LABELS": "sniff",
    "FIELDS": "sniff",
    "FileInfo": "sniff",
    "ImportFileError": "sniff",
    "guess_mapping": "sniff",
    "inspect_file": "sniff",
    "read_preview": "sniff",
}
_MODULES = {"bulk", "reader", "rows", "runner", "sniff", "writer"}

__all__ = [
    "CHUNK_ROWS",
    "FIELDS",
    "FIELD_LABELS",
    "ORPHAN_GRACE",
    "RETENTION",
    "SUPPRESSED_REASON",
    "FileInfo",
    "ImportFileError",
    "InvalidImportOptions",
    "clean_options",
    "create_batch",
    "guess_mapping",
    "imports_dir",
    "inspect_file",
    "owned_upload",
    "purge_old_import_files",
    "queue_batch",
    "read_preview",
    "run_batch",
    "save_upload",
    "validate_mapping",
]


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        return importlib.import_module(f"{__name__}.{name}")
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)
