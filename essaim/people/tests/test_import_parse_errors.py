"""Every way a CSV can be broken gives a clear message, never a 500: on the upload page for a
file that cannot be imported at all (and the uploaded file is deleted), in the report of
rejected rows for a line that cannot be read. An uploaded file is owned by an import or deleted,
and the purge finds the orphans."""

from __future__ import annotations

import csv
import io
import os
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from essaim.accounts.models import AuditEvent
from essaim.people.models import Contact, ImportBatch
from essaim.people.services.imports import (
    ORPHAN_GRACE,
    imports_dir,
    purge_old_import_files,
    run_batch,
)
from essaim.people.tests.factories import ImportBatchFactory

pytestmark = pytest.mark.django_db

HEADER = "email;prénom;nom;code postal;téléphone;tags\r\n"
BIG = "x" * 140_000  # 140 KB: over the csv module's own default limit (128 KiB) as well


@pytest.fixture(autouse=True)
def data_dir(settings: Any, tmp_path: Path) -> Path:
    settings.DATA_DIR = tmp_path / "data"
    return settings.DATA_DIR


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("**/*") if p.is_file())


def upload(client: Client, content: bytes, name: str = "contacts.csv") -> Any:
    form = {
        "file": SimpleUploadedFile(name, content, content_type="text/csv"),
        "basis": "explicit_consent",
        "purposes": ["news"],
        "source": "salon",
        "tags": "",
    }
    return client.post(reverse("people:import_upload"), form)


def import_through_the_pages(client: Client, content: bytes, capture: Any) -> ImportBatch:
    response = upload(client, content)
    assert response.status_code == 302, response.content.decode()[:2000]
    batch = ImportBatch.objects.get()
    with capture(execute=True):
        response = client.post(
            reverse("people:import_mapping", args=[batch.pk]),
            {f"col_{i}": name for i, name in enumerate(["email", "first_name", "last_name"])},
        )
    assert response.status_code == 302
    batch.refresh_from_db()
    return batch


def report_rows(batch: ImportBatch) -> list[list[str]]:
    text = Path(batch.report_path).read_text(encoding="utf-8-sig")
    return list(csv.reader(io.StringIO(text), delimiter=batch.delimiter))


# --- A field over the limit --------------------------------------------------------------------


def test_a_140_kb_field_rejects_its_line_and_the_rest_of_the_file_is_imported(
    hq_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    content = (
        HEADER + f"ana@exemple.fr;Ana;{BIG};75011;;\r\n"
        "bob@exemple.fr;Bob;Marley;75011;;\r\n"
        f'chloe@exemple.fr;Chloé;"{BIG}";75011;;\r\n'
        "dan@exemple.fr;Dan;Brown;75011;;\r\n"
    ).encode("cp1252")
    batch = import_through_the_pages(hq_client, content, django_capture_on_commit_callbacks)

    assert batch.status == ImportBatch.Status.DONE
    assert (batch.imported, batch.invalid, batch.warnings) == (2, 2, 0)
    assert sorted(Contact.objects.values_list("email", flat=True)) == [
        "bob@exemple.fr",
        "dan@exemple.fr",
    ]
    rows = report_rows(batch)
    reason = "champ trop long : plus de 65536 caractères dans une cellule"
    assert [(row[0], row[1]) for row in rows[1:]] == [("2", reason), ("4", reason)]
    # The report keeps the start of the line, not the 140 KB.
    assert Path(batch.report_path).stat().st_size < 5_000
    page = hq_client.get(reverse("people:import_detail", args=[batch.pk])).content.decode()
    assert '<span class="figure">2</span> lignes invalides' in page


def test_the_field_limit_is_a_setting(tmp_path: Path, settings: Any) -> None:
    settings.IMPORT_MAX_FIELD_CHARS = 20
    path = tmp_path / "contacts.csv"
    path.write_text(
        "email;nom\nana@exemple.fr;Lopez\nbob@exemple.fr;" + "M" * 21 + "\n", encoding="utf-8"
    )
    batch = ImportBatchFactory.create(path=path, filename="c.csv", source="s")
    batch = run_batch(batch_id=batch.pk, threaded=False)

    assert (batch.imported, batch.invalid) == (1, 1)
    assert report_rows(batch)[1][:2] == [
        "3",
        "champ trop long : plus de 20 caractères dans une cellule",
    ]


def test_a_140_kb_field_in_the_header_refuses_the_file_and_deletes_it(
    hq_client: Client, data_dir: Path
) -> None:
    response = upload(hq_client, f"email;{BIG}\r\nana@exemple.fr;x\r\n".encode())

    assert response.status_code == 200
    assert "est illisible : champ trop long" in response.content.decode()
    assert ImportBatch.objects.count() == 0
    assert files_in(data_dir) == []


# --- Files that cannot be imported: the page says why, nothing is kept ------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "Le fichier soumis est vide."),
        (b"\r\n \r\n", "Le fichier est vide."),
        (b"email;nom\r\nana@exemple.fr;L\xf3pez\x81\x8d\r\n", "Encodage non reconnu"),
        (b"email;nom\r\nana@exemple.fr;Lo\x00pez\r\n", "binaire (octets nuls)"),
        (b"\x7fELF\x02\x01\x01\x00\x00\x00\x00", "binaire (octets nuls)"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "document PDF"),
        (
            "email|prénom|nom\r\nana@exemple.fr|Ana|Lopez\r\n".encode(),
            "Séparateur de colonnes non reconnu : l&#x27;en-tête semble séparé par « | »",
        ),
        (
            b'email;"pr\xc3\xa9nom\r\nana@exemple.fr;Ana\r\n',
            "L&#x27;en-tête (ligne 1) est illisible : guillemets non fermés",
        ),
        (
            (";".join(["email", *(f"c{i}" for i in range(300))]) + "\r\na@b.fr\r\n").encode(),
            "Trop de colonnes : l&#x27;en-tête en compte 301, le maximum est 200.",
        ),
    ],
    ids=[
        "empty",
        "blank lines",
        "bad encoding",
        "NUL byte",
        "binary",
        "pdf",
        "wrong delimiter",
        "unterminated quote in the header",
        "too many columns",
    ],
)
def test_an_unreadable_file_gives_a_clear_message_and_is_not_kept(
    hq_client: Client, data_dir: Path, content: bytes, message: str
) -> None:
    response = upload(hq_client, content)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert ImportBatch.objects.count() == 0
    assert AuditEvent.objects.count() == 0
    assert files_in(data_dir) == []


def test_unreadable_lines_are_rejected_with_their_reason_and_the_others_imported(
    tmp_path: Path,
) -> None:
    path = tmp_path / "contacts.csv"
    path.write_bytes(
        (
            HEADER + "ana@exemple.fr;Ana;Lopez;;;\r\n"
            'bob@exemple.fr;"Bob;Marley;;;\r\n'  # a quote never closed
            'chloe@exemple.fr;"Chlo"é;Durand;;;\r\n'  # text after a closing quote
            "dan@exemple.fr;Dan;Brown;;;;;extra\r\n"  # more cells than the header
            "eve@exemple.fr;Ève;Martin;;;\r\n"
        ).encode("cp1252")
    )
    batch = ImportBatchFactory.create(path=path, filename="c.csv", source="s")
    batch = run_batch(batch_id=batch.pk)

    assert (batch.status, batch.imported, batch.invalid) == ("done", 2, 3)
    assert [row[:2] for row in report_rows(batch)[1:]] == [
        ["3", "guillemets non fermés"],
        ["4", "guillemets mal placés"],
        ["5", "nombre de colonnes incorrect : 8 au lieu de 6"],
    ]


# --- An uploaded file is owned by an import, or deleted ----------------------------------------


def test_an_unexpected_error_while_recording_the_import_deletes_the_upload(
    hq_client: Client, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(**kwargs: Any) -> Any:
        raise RuntimeError("base indisponible")

    monkeypatch.setattr("essaim.people.views.imports.audit", broken)
    with pytest.raises(RuntimeError):
        upload(hq_client, (HEADER + "ana@exemple.fr;Ana;Lopez;;;\r\n").encode())

    assert ImportBatch.objects.count() == 0  # rolled back with the audit entry
    assert files_in(data_dir) == []


def test_an_accepted_upload_is_referenced_by_its_import(hq_client: Client, data_dir: Path) -> None:
    upload(hq_client, (HEADER + "ana@exemple.fr;Ana;Lopez;;;\r\n").encode())

    batch = ImportBatch.objects.get()
    assert files_in(data_dir) == [Path(batch.path).name]


def _age(path: Path, age: timedelta) -> None:
    when = time.time() - age.total_seconds()
    os.utime(path, (when, when))


def test_the_purge_deletes_orphan_uploads_past_the_grace_period_only(
    tmp_path: Path, data_dir: Path
) -> None:
    folder = imports_dir()
    old_orphan = folder / "20270101-000000-0123456789abcdef.csv"
    old_orphan.write_text("email\nana@exemple.fr\n")
    _age(old_orphan, ORPHAN_GRACE + timedelta(minutes=5))
    fresh_orphan = folder / "20270102-000000-fedcba9876543210.csv"
    fresh_orphan.write_text("email\nbob@exemple.fr\n")  # an upload being recorded right now
    owned = folder / "owned.csv"
    owned.write_text("email\nchloe@exemple.fr\n")
    _age(owned, ORPHAN_GRACE + timedelta(days=2))
    batch = ImportBatchFactory.create(path=owned, filename="owned.csv", source="s")
    subfolder = folder / "a-folder"
    subfolder.mkdir()
    _age(subfolder, ORPHAN_GRACE * 3)
    outside = tmp_path / "elsewhere.csv"  # a CLI import's file, never touched
    outside.write_text("email\ndan@exemple.fr\n")
    _age(outside, ORPHAN_GRACE * 3)

    assert purge_old_import_files() == 1

    assert not old_orphan.exists()
    assert fresh_orphan.exists() and owned.exists() and subfolder.is_dir() and outside.exists()
    batch.refresh_from_db()
    assert batch.path == str(owned)


def test_the_purge_still_deletes_the_files_of_old_imports_and_then_no_orphan_is_left(
    tmp_path: Path, data_dir: Path
) -> None:
    path = imports_dir() / "old.csv"
    path.write_text("email;tél\nana@exemple.fr;0612\n")
    batch = ImportBatchFactory.create(path=path, filename="old.csv", source="s")
    batch = run_batch(batch_id=batch.pk)
    assert batch.warnings == 1
    files = [Path(batch.path), Path(batch.report_path), Path(batch.warnings_path)]
    for file in files:
        _age(file, timedelta(days=40))
    ImportBatch.objects.filter(pk=batch.pk).update(finished_at=timezone.now() - timedelta(days=31))

    assert purge_old_import_files() == 3

    assert [file.exists() for file in files] == [False, False, False]
    batch.refresh_from_db()
    assert (batch.path, batch.report_path, batch.warnings_path) == ("", "", "")
    assert files_in(data_dir) == []
