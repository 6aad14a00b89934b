"""An invalid optional value (phone, postcode, tag) never rejects a person: the contact is
imported without it and the warnings report gives the line, the column, the value and the
reason. Only a missing or invalid address, or the person's refusal (a suppressed address),
rejects a row."""

from __future__ import annotations

import codecs
import csv
import io
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from essaim.people.models import Contact, ContactTag, ImportBatch, Suppression, email_hash
from essaim.people.services.imports import run_batch
from essaim.people.tests.factories import ImportBatchFactory

pytestmark = pytest.mark.django_db

# As a campaign's spreadsheet exports it: "CSV (séparateur : point-virgule)", Windows line ends.
HEADER = "Adresse e-mail;Prénom;Nom;Code postal;Téléphone portable;Étiquettes\r\n"
ROWS = [
    "ana@exemple.fr;Ana;Lopez;75011;06 12 34 56 78;adhérent",  # valid
    "bob@exemple.fr;Bob;Marley;75011;01 23;",  # phone too short
    "chloe@exemple.fr;Chloé;Durand;69003;+33 6 12 34 56 7;jeunes",  # phone one digit short
    "dan@exemple.fr;Dan;Brown;99999;06 98 76 54 32;",  # postcode that does not exist
    "eve@exemple.fr;Ève;Martin;7501;;",  # 07501 once padded: does not exist
    "fred@exemple.fr;Fred;Astaire;ABCDE;0612;",  # postcode and phone both invalid
    "gina@exemple.fr;Gina;Lollo;13001;;" + "t" * 65 + ",jeunes",  # a tag too long
    "jean.dupont@;Jean;Dupont;75011;06 11 22 33 44;",  # bad address: rejected
    "sans-arobase.fr;Sans;Arobase;75011;;",  # bad address: rejected
    ";Personne;Anonyme;75011;06 11 22 33 44;",  # no address: rejected
    "banni@exemple.fr;Banni;Refus;75011;0612;",  # suppressed (refusal): rejected, no warning
    "hugo@exemple.fr;Hugo;Victor;;;",  # valid, nothing optional
]


@pytest.fixture(autouse=True)
def data_dir(settings: Any, tmp_path: Path) -> Path:
    settings.DATA_DIR = tmp_path / "data"
    return settings.DATA_DIR


def french_excel(tmp_path: Path, rows: list[str], encoding: str) -> Path:
    path = tmp_path / "export.csv"
    path.write_bytes(
        (codecs.BOM_UTF8 if encoding == "utf-8-sig" else b"")
        + (HEADER + "".join(row + "\r\n" for row in rows)).encode(
            "utf-8" if encoding == "utf-8-sig" else encoding
        )
    )
    return path


def run(path: Path, **kwargs: Any) -> ImportBatch:
    return run_batch(batch_id=ImportBatchFactory.create(path=path).pk, **kwargs)


def csv_rows(value: str, delimiter: str) -> list[list[str]]:
    text = Path(value).read_text(encoding="utf-8-sig")
    return list(csv.reader(io.StringIO(text), delimiter=delimiter))


@pytest.mark.parametrize("encoding", ["cp1252", "utf-8-sig", "utf-8"])
def test_invalid_optional_values_are_left_out_with_a_warning_and_only_addresses_reject(
    tmp_path: Path, encoding: str
) -> None:
    Suppression.objects.create(email_hash=email_hash("banni@exemple.fr"), reason="unsubscribe")
    batch = run(french_excel(tmp_path, ROWS, encoding))

    assert (batch.status, batch.encoding, batch.delimiter) == ("done", encoding, ";")
    assert (batch.imported, batch.updated, batch.duplicates) == (8, 0, 0)
    assert batch.invalid == 4
    assert batch.warnings == 7
    contacts = {
        c.email: (c.first_name, c.postcode, c.departement, c.phone) for c in Contact.objects.all()
    }
    assert contacts == {
        "ana@exemple.fr": ("Ana", "75011", "75", "+33612345678"),
        "bob@exemple.fr": ("Bob", "75011", "75", ""),
        "chloe@exemple.fr": ("Chloé", "69003", "69", ""),
        "dan@exemple.fr": ("Dan", "", "", "+33698765432"),
        "eve@exemple.fr": ("Ève", "", "", ""),
        "fred@exemple.fr": ("Fred", "", "", ""),
        "gina@exemple.fr": ("Gina", "13001", "13", ""),
        "hugo@exemple.fr": ("Hugo", "", "", ""),
    }
    assert sorted(ContactTag.objects.values_list("contact__email", "tag__name")) == [
        ("ana@exemple.fr", "adhérent"),
        ("chloe@exemple.fr", "jeunes"),
        ("gina@exemple.fr", "jeunes"),
    ]
    assert csv_rows(batch.warnings_path, ";") == [
        ["ligne", "colonne", "valeur", "raison"],
        ["3", "Téléphone portable", "01 23", "numéro de téléphone invalide"],
        ["4", "Téléphone portable", "'+33 6 12 34 56 7", "numéro de téléphone invalide"],
        ["5", "Code postal", "99999", "code postal inexistant"],
        ["6", "Code postal", "7501", "code postal inexistant"],
        ["7", "Code postal", "ABCDE", "code postal invalide"],
        ["7", "Téléphone portable", "0612", "numéro de téléphone invalide"],
        ["8", "Étiquettes", "t" * 65, "étiquette de plus de 64 caractères, non ajoutée"],
    ]
    assert [row[:3] for row in csv_rows(batch.report_path, ";")[1:]] == [
        ["9", "e-mail : domaine vide", "jean.dupont@"],
        ["10", "e-mail : adresse sans @ ou avec plusieurs @", "sans-arobase.fr"],
        ["11", "e-mail : adresse vide", ""],
        ["12", "adresse supprimée/désinscrite", "banni@exemple.fr"],
    ]


def test_a_known_contact_keeps_its_phone_when_the_file_has_an_invalid_one(
    tmp_path: Path,
) -> None:
    first = run(french_excel(tmp_path, ["bob@exemple.fr;Bob;;;06 12 34 56 78;"], "cp1252"))
    second = run(french_excel(tmp_path, ["bob@exemple.fr;;Marley;99999;01 23;"], "cp1252"))

    assert (first.imported, first.warnings) == (1, 0)
    assert (second.imported, second.updated, second.invalid, second.warnings) == (0, 1, 0, 2)
    bob = Contact.objects.get()
    assert (bob.last_name, bob.phone, bob.postcode) == ("Marley", "+33612345678", "")


def test_the_same_rows_give_the_same_base_and_warnings_in_a_thread_or_inline(
    tmp_path: Path,
) -> None:
    path = french_excel(tmp_path, ROWS, "cp1252")
    threaded = run(path, threaded=True, chunk_rows=3)
    state = sorted(Contact.objects.values_list("email", "postcode", "phone"))
    warnings = csv_rows(threaded.warnings_path, ";")
    Contact.objects.all().delete()
    inline = run(path, threaded=False, chunk_rows=5)

    assert (inline.imported, inline.invalid, inline.warnings) == (
        threaded.imported,
        threaded.invalid,
        threaded.warnings,
    )
    assert sorted(Contact.objects.values_list("email", "postcode", "phone")) == state
    assert csv_rows(inline.warnings_path, ";") == warnings


def test_warnings_cost_no_query_per_row(tmp_path: Path) -> None:
    def queries(rows: int) -> int:
        path = french_excel(
            tmp_path, [f"p{i}@exemple.fr;P;N;99999;01 23;" for i in range(rows)], "cp1252"
        )
        batch = ImportBatchFactory.create(path=path, filename="e.csv", source="s")
        with CaptureQueriesContext(connection) as captured:
            batch = run_batch(batch_id=batch.pk, threaded=False)
        assert batch.warnings == 2 * rows
        Contact.objects.all().delete()
        return len(captured.captured_queries)

    assert queries(10) == queries(300)
