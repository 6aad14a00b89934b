"""The CSV import service: reading files, normalizing rows, writing the base, counting, reporting.

Every test runs on SQLite and on PostgreSQL (DATABASE_URL) with the same expectations.
"""

from __future__ import annotations

import csv
import io
import random
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.db import connection, transaction
from django.utils import timezone

from essaim.lib.text import InvalidValue, clean_name, normalize_email, normalize_phone
from essaim.people.models import (
    Consent,
    Contact,
    ContactEvent,
    ContactTag,
    ImportBatch,
    Suppression,
    Tag,
    email_hash,
)
from essaim.people.services import imports, timeline
from essaim.people.services.imports import (
    SUPPRESSED_REASON,
    ImportFileError,
    InvalidImportOptions,
    guess_mapping,
    inspect_file,
    purge_old_import_files,
    run_batch,
)
from essaim.people.services.imports.rows import RowReader, fast_email, fast_name, fast_phone
from essaim.people.services.imports.writer import ChunkWriter
from essaim.people.tests.factories import ConsentFactory, ContactFactory, ImportBatchFactory

pytestmark = pytest.mark.django_db

HEADER = "email;prénom;nom;code postal;téléphone;tags\n"


@pytest.fixture(autouse=True)
def data_dir(settings: Any, tmp_path: Path) -> Path:
    settings.DATA_DIR = tmp_path / "data"
    return settings.DATA_DIR


def write(tmp_path: Path, content: str | bytes, name: str = "contacts.csv") -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


def run(path: Path, **options: Any) -> ImportBatch:
    chunk_rows = options.pop("chunk_rows", imports.CHUNK_ROWS)
    threaded = options.pop("threaded", True)
    batch = ImportBatchFactory.create(path=path, **{"source": "meeting Lyon", **options})
    return run_batch(batch_id=batch.pk, chunk_rows=chunk_rows, threaded=threaded)


def counters(batch: ImportBatch) -> tuple[int, int, int, int]:
    return (batch.imported, batch.updated, batch.duplicates, batch.invalid)


def report_rows(batch: ImportBatch) -> list[list[str]]:
    text = Path(batch.report_path).read_text(encoding="utf-8-sig")
    return list(csv.reader(io.StringIO(text), delimiter=batch.delimiter))


def warning_rows(batch: ImportBatch) -> list[list[str]]:
    text = Path(batch.warnings_path).read_text(encoding="utf-8-sig")
    return list(csv.reader(io.StringIO(text), delimiter=batch.delimiter))


def snapshot() -> dict[str, Any]:
    """Everything an import writes, to compare two states of the base."""
    return {
        "contacts": list(
            Contact.objects.order_by("email_key").values_list(
                "email",
                "email_key",
                "email_hash",
                "first_name",
                "last_name",
                "phone",
                "postcode",
                "departement",
                "region",
                "source",
                "updated_at",
            )
        ),
        "consents": list(
            Consent.objects.order_by("contact__email_key", "purpose").values_list(
                "contact__email_key", "purpose", "status", "basis", "source", "updated_at"
            )
        ),
        "tags": sorted(ContactTag.objects.values_list("contact__email_key", "tag__name")),
        "events": ContactEvent.objects.count(),
    }


# --- A plain import ----------------------------------------------------------------------------


def test_new_addresses_become_contacts_with_a_granted_consent_per_purpose(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        HEADER + "jean@exemple.fr;Jean;Dupont;75011;06 12 34 56 78;\n"
        "marie@exemple.fr;Marie;Curie;69003;;\n",
    )
    batch = run(path, purposes=["news", "mobilization"], basis="membership")

    assert batch.status == ImportBatch.Status.DONE
    assert counters(batch) == (2, 0, 0, 0)
    assert batch.processed_rows == batch.total_rows == 2
    assert (batch.encoding, batch.delimiter) == ("utf-8", ";")
    jean = Contact.objects.get(email_key="jean@exemple.fr")
    assert (jean.first_name, jean.last_name, jean.phone) == ("Jean", "Dupont", "+33612345678")
    assert (jean.postcode, jean.departement, jean.region) == ("75011", "75", "11")
    assert jean.source == "meeting Lyon"
    assert jean.email_hash == email_hash("jean@exemple.fr")
    assert sorted(
        Consent.objects.values_list(
            "contact__email", "purpose", "status", "basis", "source", "source_ref"
        )
    ) == [
        ("jean@exemple.fr", "mobilization", "granted", "membership", "import", str(batch.pk)),
        ("jean@exemple.fr", "news", "granted", "membership", "import", str(batch.pk)),
        ("marie@exemple.fr", "mobilization", "granted", "membership", "import", str(batch.pk)),
        ("marie@exemple.fr", "news", "granted", "membership", "import", str(batch.pk)),
    ]
    # The creation is recorded on the contact, not as a ContactEvent row, and the timeline
    # shows it as the import's entry all the same.
    assert not ContactEvent.objects.exists()
    assert sorted(Contact.objects.values_list("email", "import_batch")) == [
        ("jean@exemple.fr", batch.pk),
        ("marie@exemple.fr", batch.pk),
    ]
    assert [(e.kind, e.data, e.at) for e in timeline.newest_first(jean, 10)] == [
        ("import", {"batch": batch.pk}, jean.created_at)
    ]


def test_a_new_contact_gets_the_id_after_the_highest_ever_used(tmp_path: Path) -> None:
    gone = ContactFactory.create(email="parti@exemple.fr")
    gone_id = gone.pk
    gone.delete()
    batch = run(write(tmp_path, "email\nnouveau@exemple.fr\n"))

    assert counters(batch) == (1, 0, 0, 0)
    assert Contact.objects.get().pk > gone_id


def test_headers_are_recognized_whatever_their_case_accents_and_language() -> None:
    french = ["Courriel", "PRÉNOM", "Nom de famille", "Code_Postal", "Tél.", "Étiquettes"]
    english = ["E-mail", "First name", "Last Name", "ZIP", "Phone", "tags"]
    spreadsheet = ["Adresse e-mail", "prenom", "nom", "CP", "Portable", "etiquettes"]
    expected = {
        "email": 0,
        "first_name": 1,
        "last_name": 2,
        "postcode": 3,
        "phone": 4,
        "tags": 5,
    }
    assert guess_mapping(french, []) == expected
    assert guess_mapping(english, []) == expected
    assert guess_mapping(spreadsheet, []) == expected
    assert guess_mapping(["mail", "mobile"], []) == {"email": 0, "phone": 1}


def test_an_unnamed_column_full_of_addresses_is_taken_as_the_email() -> None:
    preview = [["Jean", "jean@exemple.fr"], ["Marie", "marie@exemple.fr"]]
    assert guess_mapping(["Prénom", "Contact"], preview) == {"email": 1, "first_name": 0}


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_comma_semicolon_and_tab_delimiters_are_detected(tmp_path: Path, delimiter: str) -> None:
    rows = [["email", "prénom", "nom"], ["jean@exemple.fr", "Jean", "Dupont, dit « Jo »"]]
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter).writerows(rows)
    batch = run(write(tmp_path, buffer.getvalue()))

    assert batch.delimiter == delimiter
    assert Contact.objects.get().last_name == "Dupont, dit « Jo »"


def test_utf8_with_bom_is_read_without_the_bom_in_the_header(tmp_path: Path) -> None:
    path = write(tmp_path, "\ufeffemail,prénom\nzoe@exemple.fr,Zoé\n".encode())
    info = inspect_file(path)
    batch = run(path)

    assert info.encoding == "utf-8-sig"
    assert info.header == ["email", "prénom"]
    assert batch.encoding == "utf-8-sig"
    assert Contact.objects.get().first_name == "Zoé"


def test_windows_1252_file_is_decoded(tmp_path: Path) -> None:
    path = write(tmp_path, "email;prénom;nom\nlea@exemple.fr;Léa;Kerbrat–Œuvré\n".encode("cp1252"))
    batch = run(path)

    assert batch.encoding == "cp1252"
    contact = Contact.objects.get()
    assert (contact.first_name, contact.last_name) == ("Léa", "Kerbrat–Œuvré")


# --- Unusable files: a clear error, nothing written --------------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "Le fichier est vide."),
        (b"\n\n  \n", "Le fichier est vide."),
        ("email;prénom\n".encode(), "ne contient que la ligne d'en-tête"),
        ("email;prénom\n\n;\n".encode(), "ne contient que la ligne d'en-tête"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binaire"),
        (b"PK\x03\x04\x14\x00\x06\x00", "classeur Excel"),
        ("email\njean@exemple.fr\n".encode("utf-16"), "UTF-16"),
        (b"email\njean@exemple.fr;\x81\x8d\x8f\n", "Encodage non reconnu"),
        ("prénom;nom\nJean;Dupont\n".encode(), "Aucune colonne d'adresse e-mail"),
        (b"jean@exemple.fr;Jean\nmarie@exemple.fr;Marie\n", "doit donner les noms des colonnes"),
        (b"email\x01\x02\x03\x04\x05\x06\njean@exemple.fr\x07\x08\n", "contrôle"),
    ],
    ids=[
        "empty",
        "blank lines",
        "header only",
        "header and empty cells",
        "binary",
        "xlsx",
        "utf-16",
        "wrong encoding",
        "no email column",
        "no header",
        "control characters",
    ],
)
def test_unusable_file_is_refused_before_anything_is_written(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = write(tmp_path, content)
    with pytest.raises(ImportFileError) as error:
        run(path)

    assert message in str(error.value)
    assert ImportBatch.objects.count() == 0
    assert Contact.objects.count() == 0


def test_file_over_the_size_limit_is_refused(tmp_path: Path, settings: Any) -> None:
    settings.IMPORT_MAX_BYTES = 1000
    path = write(tmp_path, "email\n" + "".join(f"c{i}@exemple.fr\n" for i in range(100)))
    with pytest.raises(ImportFileError) as error:
        run(path)

    assert str(error.value) == "Fichier trop volumineux : 0.0 Mo, le maximum est 0.0 Mo."
    assert ImportBatch.objects.count() == 0


def test_unknown_basis_or_purpose_or_empty_source_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "email\njean@exemple.fr\n")
    with pytest.raises(InvalidImportOptions):
        run(path, basis="legitimate_interest")
    with pytest.raises(InvalidImportOptions):
        run(path, purposes=["marketing"])
    with pytest.raises(InvalidImportOptions):
        run(path, source="   ")
    assert ImportBatch.objects.count() == 0


# --- Rows: normalization and invalid rows ------------------------------------------------------


def test_unbalanced_quote_reports_its_line_and_the_rest_of_the_file_is_imported(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path,
        HEADER + 'jean@exemple.fr;"Jean;Dupont;75011;;\n'
        "marie@exemple.fr;Marie;Curie;69003;;\n"
        "zoe@exemple.fr;Zoé;Martin;13001;;\n",
    )
    batch = run(path)

    assert counters(batch) == (2, 0, 0, 1)
    assert sorted(Contact.objects.values_list("email", flat=True)) == [
        "marie@exemple.fr",
        "zoe@exemple.fr",
    ]
    assert report_rows(batch)[1][:3] == ["2", "guillemets non fermés", "jean@exemple.fr"]


def test_quoted_fields_may_hold_delimiters_doubled_quotes_and_line_breaks(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "email,prénom,nom,tags\n"
        'jean@exemple.fr,"Jean ""Jo""","Du\npont","a,b"\n'
        "marie@exemple.fr,Marie,Curie,\n",
    )
    batch = run(path)

    assert counters(batch) == (2, 0, 0, 0)
    jean = Contact.objects.get(email="jean@exemple.fr")
    assert (jean.first_name, jean.last_name) == ('Jean "Jo"', "Dupont")  # clean_name
    assert sorted(jean.tags.values_list("name", flat=True)) == ["a", "b"]


def test_invalid_rows_are_reported_with_their_line_number_and_reason(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        HEADER + "pas-une-adresse;A;B;;;\n"
        "\n"
        "ok@exemple.fr;C;D;99999;;\n"
        "ok2@exemple.fr;E;F;750;;\n"
        "ok3@exemple.fr;G;H;;+33 1;\n"
        "ok4@exemple.fr;I;J;;;;x;y\n"
        "ok5@exemple.fr;K;L;;;;;\n",
    )
    batch = run(path)

    # Only the address and the row's shape reject it; bad optional values are warnings.
    assert counters(batch) == (4, 0, 0, 2)
    assert batch.warnings == 3
    assert sorted(Contact.objects.values_list("email", "postcode", "phone")) == [
        ("ok2@exemple.fr", "", ""),
        ("ok3@exemple.fr", "", ""),
        ("ok5@exemple.fr", "", ""),
        ("ok@exemple.fr", "", ""),
    ]
    assert report_rows(batch) == [
        ["ligne", "raison", "email", "prénom", "nom", "code postal", "téléphone", "tags"],
        [
            "2",
            "e-mail : adresse sans @ ou avec plusieurs @",
            "pas-une-adresse",
            "A",
            "B",
            "",
            "",
            "",
        ],
        [
            "7",
            "nombre de colonnes incorrect : 8 au lieu de 6",
            "ok4@exemple.fr",
            "I",
            "J",
            "",
            "",
            "",
            "x",
            "y",
        ],
    ]
    assert warning_rows(batch) == [
        ["ligne", "colonne", "valeur", "raison"],
        ["4", "code postal", "99999", "code postal inexistant"],
        ["5", "code postal", "750", "code postal invalide"],
        ["6", "téléphone", "'+33 1", "numéro de téléphone illisible"],
    ]


def test_postcode_gives_departement_and_region_and_regains_its_leading_zero(
    tmp_path: Path,
) -> None:
    run(write(tmp_path, "email,cp\nain@exemple.fr,1000\ncorse@exemple.fr,20000\n"))

    assert sorted(Contact.objects.values_list("postcode", "departement", "region")) == [
        ("01000", "01", "84"),
        ("20000", "2A", "94"),
    ]


def test_same_address_in_other_case_is_one_contact_and_the_first_occurrence_wins(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path,
        HEADER + "Jean.Dupont@Exemple.FR;Jean;;;;a\n"
        "jean.dupont@exemple.fr;Jeannot;Dupont;75011;0612345678;b\n"
        "JEAN.DUPONT@EXEMPLE.FR;Johnny;Hallyday;69003;0699999999;c\n",
    )
    batch = run(path)

    assert counters(batch) == (1, 0, 2, 0)
    contact = Contact.objects.get()
    assert contact.email == "Jean.Dupont@exemple.fr"
    assert contact.email_key == "jean.dupont@exemple.fr"
    assert (contact.first_name, contact.last_name, contact.postcode, contact.phone) == (
        "Jean",
        "Dupont",
        "75011",
        "+33612345678",
    )
    assert sorted(contact.tags.values_list("name", flat=True)) == ["a", "b", "c"]
    assert Consent.objects.count() == 1
    # Created by the batch (the later occurrences' fills are part of the creation): no event.
    assert contact.import_batch_id == batch.pk
    assert not ContactEvent.objects.exists()


def test_idn_domains_are_stored_in_ascii_and_plus_addresses_are_kept(tmp_path: Path) -> None:
    path = write(tmp_path, "email\nmarie@élysée.fr\nmarie+presse@exemple.fr\nmarie@exemple.fr\n")
    batch = run(path)

    assert counters(batch) == (3, 0, 0, 0)
    assert sorted(Contact.objects.values_list("email", flat=True)) == [
        "marie+presse@exemple.fr",
        "marie@exemple.fr",
        "marie@xn--lyse-9oad.fr",
    ]


def test_markup_and_formulas_are_stored_as_text(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "email,prénom,nom,tags\n"
        'x@exemple.fr,<script>alert(1)</script>,"=HYPERLINK(""http://evil"")",@cmd\n'
        "y@exemple.fr,+33,-2,<b>gras</b>\n",
    )
    batch = run(path)

    assert counters(batch) == (2, 0, 0, 0)
    assert sorted(Contact.objects.values_list("first_name", "last_name")) == [
        ("+33", "-2"),
        ("<script>alert(1)</script>", '=HYPERLINK("http://evil")'),
    ]
    assert sorted(Tag.objects.values_list("name", flat=True)) == ["<b>gras</b>", "@cmd"]


def test_the_report_neutralizes_cells_a_spreadsheet_would_run_as_formulas(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "email,prénom,nom,cp\n=1+1,+33,-2,@SUM(A1)\n\tx,ok,=cmd|' /C calc'!A0,99999\n",
    )
    batch = run(path)

    assert counters(batch) == (0, 0, 0, 2)
    assert report_rows(batch)[1:] == [
        ["2", "e-mail : adresse sans @ ou avec plusieurs @", "'=1+1", "'+33", "'-2", "'@SUM(A1)"],
        [
            "3",
            "e-mail : adresse sans @ ou avec plusieurs @",
            "'\tx",
            "ok",
            "'=cmd|' /C calc'!A0",
            "99999",
        ],
    ]


def test_a_suppressed_address_is_never_added_again_and_is_reported(tmp_path: Path) -> None:
    Suppression.objects.create(email_hash=email_hash("parti@exemple.fr"), reason="erasure")
    path = write(
        tmp_path,
        "email,prénom\nParti@Exemple.fr,Paul\nreste@exemple.fr,Rita\nparti@exemple.fr,Paul\n",
    )
    batch = run(path)

    assert counters(batch) == (1, 0, 0, 2)
    assert list(Contact.objects.values_list("email", flat=True)) == ["reste@exemple.fr"]
    assert [row[:2] for row in report_rows(batch)[1:]] == [
        ["2", SUPPRESSED_REASON],
        ["4", SUPPRESSED_REASON],
    ]
    assert SUPPRESSED_REASON == "adresse supprimée/désinscrite"


# --- Against the base --------------------------------------------------------------------------


def test_a_known_contact_only_gets_its_empty_fields_filled_and_counts_as_updated(
    tmp_path: Path,
) -> None:
    before = timezone.now() - timedelta(days=3)
    known = ContactFactory.create(
        email="connu@exemple.fr",
        first_name="Camille",
        last_name="",
        phone="",
        postcode="",
        updated_at=before,
    )
    same = ContactFactory.create(email="pareil@exemple.fr", first_name="Ali", updated_at=before)
    path = write(
        tmp_path,
        HEADER + "CONNU@exemple.fr;Autre;Martin;69003;07 81 23 45 67;\n"
        "pareil@exemple.fr;Autre;;;;\n",
    )
    batch = run(path)

    assert counters(batch) == (0, 1, 0, 0)
    known.refresh_from_db()
    assert (known.email, known.first_name, known.last_name) == (
        "connu@exemple.fr",
        "Camille",
        "Martin",
    )
    assert (known.postcode, known.departement, known.region, known.phone) == (
        "69003",
        "69",
        "84",
        "+33781234567",
    )
    assert known.updated_at > before
    same.refresh_from_db()
    assert same.first_name == "Ali"
    assert same.updated_at == before
    assert list(ContactEvent.objects.values_list("contact__email", flat=True)) == [
        "connu@exemple.fr"
    ]


def test_an_import_never_changes_an_existing_consent_and_adds_the_missing_ones(
    tmp_path: Path,
) -> None:
    withdrawn = ConsentFactory.create(
        contact__email="retire@exemple.fr",
        purpose="news",
        status=Consent.Status.WITHDRAWN,
        withdrawn_reason="unsubscribe",
    )
    pending = ConsentFactory.create(
        contact__email="attente@exemple.fr", purpose="news", status=Consent.Status.PENDING
    )
    stamps = (withdrawn.updated_at, pending.updated_at)
    path = write(tmp_path, "email\nretire@exemple.fr\nattente@exemple.fr\n")
    batch = run(path, purposes=["news", "volunteering"])

    assert counters(batch) == (0, 0, 0, 0)
    assert sorted(Consent.objects.values_list("contact__email", "purpose", "status", "source")) == [
        ("attente@exemple.fr", "news", "pending", "signup_form"),
        ("attente@exemple.fr", "volunteering", "granted", "import"),
        ("retire@exemple.fr", "news", "withdrawn", "signup_form"),
        ("retire@exemple.fr", "volunteering", "granted", "import"),
    ]
    withdrawn.refresh_from_db()
    pending.refresh_from_db()
    assert (withdrawn.updated_at, pending.updated_at) == stamps
    assert (withdrawn.status, withdrawn.withdrawn_reason) == ("withdrawn", "unsubscribe")


def test_tags_of_the_row_and_of_the_batch_are_added_and_missing_tags_created(
    tmp_path: Path,
) -> None:
    Tag.objects.create(name="jeunes")
    path = write(tmp_path, "email;tags\na@exemple.fr;jeunes, retraités|Lyon\nb@exemple.fr;\n")
    run(path, tags=["meeting-lyon", "jeunes"])

    assert sorted(ContactTag.objects.values_list("contact__email", "tag__name")) == [
        ("a@exemple.fr", "Lyon"),
        ("a@exemple.fr", "jeunes"),
        ("a@exemple.fr", "meeting-lyon"),
        ("a@exemple.fr", "retraités"),
        ("b@exemple.fr", "jeunes"),
        ("b@exemple.fr", "meeting-lyon"),
    ]
    assert Tag.objects.count() == 4


def test_reimporting_the_same_file_changes_nothing(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        HEADER + "a@exemple.fr;Ana;;75011;;x\n"
        "A@exemple.fr;Anna;Lopez;;;y\n"
        "b@exemple.fr;Bob;Marley;13001;06 12 34 56 78;\n"
        "mauvaise;;;;;\n",
    )
    first = run(path, tags=["t"], purposes=["news", "mobilization"])
    state = snapshot()
    second = run(path, tags=["t"], purposes=["news", "mobilization"])

    assert counters(first) == (2, 0, 1, 1)
    assert counters(second) == (0, 0, 1, 1)
    assert snapshot() == state


@pytest.mark.parametrize("chunk_rows", [1, 2, 3, 1000])
def test_results_do_not_depend_on_the_chunk_size(tmp_path: Path, chunk_rows: int) -> None:
    ContactFactory.create(email="connu@exemple.fr", first_name="", last_name="Connu", postcode="")
    path = write(
        tmp_path,
        HEADER + "a@exemple.fr;;;;;x\n"
        "connu@exemple.fr;;;;;\n"
        "A@exemple.fr;Ana;;75011;;y\n"
        "b@exemple.fr;Bob;;;;\n"
        "CONNU@exemple.fr;Coco;;69003;;\n"
        "a@exemple.fr;Anita;Lopez;13001;;\n",
    )
    batch = run(path, chunk_rows=chunk_rows)

    assert counters(batch) == (2, 0, 3, 0)
    assert sorted(Contact.objects.values_list("email", "first_name", "last_name", "postcode")) == [
        ("a@exemple.fr", "Ana", "Lopez", "75011"),
        ("b@exemple.fr", "Bob", "", ""),
        ("connu@exemple.fr", "Coco", "Connu", "69003"),
    ]
    # Created contacts carry their batch; only the existing contact filled gets an event.
    assert sorted(Contact.objects.values_list("email", "import_batch")) == [
        ("a@exemple.fr", batch.pk),
        ("b@exemple.fr", batch.pk),
        ("connu@exemple.fr", None),
    ]
    assert list(ContactEvent.objects.values_list("contact__email", "kind", "data")) == [
        ("connu@exemple.fr", "import", {"batch": batch.pk})
    ]


def test_a_failure_keeps_the_chunks_written_and_rerunning_the_file_finishes_the_job(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, "email,cp\n" + "".join(f"c{i}@exemple.fr,75011\n" for i in range(5)))
    original = ChunkWriter.write
    calls: list[int] = []

    def failing_on_the_second_chunk(self: ChunkWriter, chunk: Any) -> Any:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disque plein")
        return original(self, chunk)

    monkeypatch.setattr(ChunkWriter, "write", failing_on_the_second_chunk)
    failed = run(path, chunk_rows=2)

    assert failed.status == ImportBatch.Status.FAILED
    assert failed.error == (
        "Erreur inattendue après la ligne 3 : RuntimeError: disque plein. "
        "Les lignes précédentes sont importées ; relancez l'import du même fichier pour le "
        "terminer."
    )
    assert counters(failed) == (2, 0, 0, 0)
    assert failed.processed_rows == 2
    assert failed.finished_at is not None
    assert Path(failed.report_path).is_file()
    assert sorted(Contact.objects.values_list("email", flat=True)) == [
        "c0@exemple.fr",
        "c1@exemple.fr",
    ]
    assert Consent.objects.count() == 2

    monkeypatch.setattr(ChunkWriter, "write", original)
    again = run(path, chunk_rows=2)

    assert again.status == ImportBatch.Status.DONE
    assert counters(again) == (3, 0, 0, 0)
    assert Contact.objects.count() == Consent.objects.count() == 5


def test_a_batch_runs_once(tmp_path: Path) -> None:
    batch = ImportBatchFactory.create(
        path=write(tmp_path, "email\na@exemple.fr\n"), filename="a.csv", source="test"
    )
    run_batch(batch_id=batch.pk)
    again = run_batch(batch_id=batch.pk)

    assert again.status == ImportBatch.Status.DONE
    # Run a second time, it would have found the address known and imported nothing.
    assert (again.imported, again.updated) == (1, 0)
    assert Contact.objects.get().import_batch_id == batch.pk


def test_inline_and_threaded_reading_give_the_same_base(tmp_path: Path) -> None:
    lines = [
        f"p{i % 7}@exemple.fr;Nom{i};;{'75011' if i % 3 else ''};;t{i % 2}\n" for i in range(30)
    ]
    path = write(tmp_path, HEADER + "".join(lines))
    threaded = run(path, chunk_rows=4)
    state = snapshot()
    Contact.objects.all().delete()
    inline = run(path, chunk_rows=4, threaded=False)

    assert counters(threaded) == counters(inline) == (7, 0, 23, 0)
    assert [c[:10] for c in snapshot()["contacts"]] == [c[:10] for c in state["contacts"]]


# --- The fast paths agree with essaim.lib.text -------------------------------------------------


def _outcome(function: Any, value: str) -> Any:
    try:
        return function(value)
    except InvalidValue as exc:
        return ("invalid", str(exc))


def test_fast_email_agrees_with_normalize_email() -> None:
    rng = random.Random(7)
    alphabet = "aZ09.-_+@é <>xn--ÉLYSÉE.FR1'\"=\t"
    samples = [
        "jean@exemple.fr",
        " Jean@Exemple.FR ",
        "<jean@exemple.fr>",
        "a@b.c0",
        "a@b.123",
        "a@-b.fr",
        "a@b-.fr",
        "a..b@c.fr",
        ".a@b.fr",
        "a@b..fr",
        "a@b.fr.",
        "a" * 64 + "@b.fr",
        "a" * 65 + "@b.fr",
        "a@" + "b" * 63 + ".fr",
        "a@" + "b" * 64 + ".fr",
        "a@" + ".".join(["b" * 60] * 5) + ".fr",
        "x@élysée.fr",
        "=1+1@exemple.fr",
        "a@b",
        "",
    ]
    samples += [
        "".join(rng.choice(alphabet) for _ in range(rng.randrange(3, 20))) for _ in range(3000)
    ]
    for sample in samples:
        assert _outcome(fast_email, sample) == _outcome(normalize_email, sample), sample


def test_fast_phone_agrees_with_normalize_phone() -> None:
    rng = random.Random(11)
    samples = ["06 12 34 56 78", "06.12.34.56.78", "06-12-34-56-78", "+33 6 12 34 56 78"]
    samples += ["0033612345678", "+33 (0)6 12 34 56 78", "+32 470 12 34 56", "1", ""]
    for _ in range(3000):
        national = f"{rng.randrange(1, 10)}{rng.randrange(10**8):08d}"
        prefix = rng.choice(["+33", "0033", "0", "+33 ", "0"])
        samples.append(prefix + national)
    for sample in samples:
        assert _outcome(fast_phone, sample) == _outcome(normalize_phone, sample), sample


def test_fast_name_agrees_with_clean_name() -> None:
    samples = ["Jean", " Jean ", "Jean  Pierre", "Jean\tPierre", "Zoé\u00a0Li", "a\x00b", "x" * 200]
    for sample in samples:
        assert fast_name(sample) == clean_name(sample)


# --- Retention ---------------------------------------------------------------------------------


def test_purge_deletes_the_files_of_batches_finished_more_than_30_days_ago(
    tmp_path: Path, data_dir: Path
) -> None:
    folder = imports.imports_dir()
    outside = write(tmp_path, "email\nx@exemple.fr\n", "hors-data.csv")
    now = timezone.now()

    def batch(name: str, status: str, finished_days_ago: int | None, path: Path) -> ImportBatch:
        report = folder / f"{name}-rapport.csv"
        report.write_text("ligne,raison\n")
        finished = now - timedelta(days=finished_days_ago) if finished_days_ago else None
        return ImportBatch.objects.create(
            filename=name,
            path=str(path),
            report_path=str(report),
            basis="explicit_consent",
            purposes=["news"],
            source="test",
            status=status,
            created_at=now - timedelta(days=40),
            finished_at=finished,
        )

    for name in ("vieux", "recent", "encours", "cli"):
        (folder / f"{name}.csv").write_text("email\n")
    old = batch("vieux", ImportBatch.Status.DONE, 31, folder / "vieux.csv")
    recent = batch("recent", ImportBatch.Status.FAILED, 29, folder / "recent.csv")
    running = batch("encours", ImportBatch.Status.RUNNING, None, folder / "encours.csv")
    cli = batch("cli", ImportBatch.Status.DONE, 60, outside)

    assert purge_old_import_files() == 3

    assert not (folder / "vieux.csv").exists()
    assert not (folder / "vieux-rapport.csv").exists()
    assert not (folder / "cli-rapport.csv").exists()
    assert outside.exists()
    assert (folder / "recent.csv").exists() and (folder / "encours-rapport.csv").exists()
    old.refresh_from_db()
    cli.refresh_from_db()
    assert (old.path, old.report_path) == ("", "")
    assert (cli.path, cli.report_path) == (str(outside), "")
    assert ImportBatch.objects.filter(pk__in=[recent.pk, running.pk], path="").count() == 0


def test_a_large_file_read_in_a_process_of_its_own_gives_the_same_base(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = [
        f"p{i % 7}@exemple.fr;Nom{i};;{'75011' if i % 3 else ''};;t{i % 2}\n" for i in range(30)
    ]
    path = write(tmp_path, HEADER + "".join(lines) + "pas-une-adresse;;;;;\n")
    threaded = run(path, chunk_rows=4)
    state = snapshot()
    Contact.objects.all().delete()
    monkeypatch.setattr(imports.runner, "PROCESS_MIN_ROWS", 1)
    in_process = run(path, chunk_rows=4)

    assert in_process.status == ImportBatch.Status.DONE
    assert counters(threaded) == counters(in_process) == (7, 0, 23, 1)
    assert [c[:10] for c in snapshot()["contacts"]] == [c[:10] for c in state["contacts"]]
    assert report_rows(in_process)[1][:2] == ["32", "e-mail : adresse sans @ ou avec plusieurs @"]


def test_a_reader_process_that_fails_fails_the_batch_with_its_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, HEADER + "a@exemple.fr;;;;;\n")
    batch = ImportBatchFactory.create(path=path, filename="a.csv", source="t")
    # Same size, so that the runner does not refuse the file before the reader starts.
    path.write_bytes(path.read_bytes().replace(b"a@exemple.fr", b"\xff@exemple.fr"))
    monkeypatch.setattr(imports.runner, "PROCESS_MIN_ROWS", 1)
    failed = run_batch(batch_id=batch.pk)

    assert failed.status == ImportBatch.Status.FAILED
    assert failed.error == (
        "Erreur inattendue après la ligne 1 : UnicodeDecodeError: 'utf-8' codec can't decode "
        "byte 0xff in position 47: invalid start byte. "
        "Les lignes précédentes sont importées ; relancez l'import du même fichier pour le "
        "terminer."
    )
    assert Contact.objects.count() == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite's import holds the only write lock"
)
def test_an_address_added_by_someone_else_during_the_chunk_is_found_when_it_is_retried(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, HEADER + "a@exemple.fr;Ana;;;;\nb@exemple.fr;Bob;;75011;;\n")
    added: list[str] = []

    def adding_b_before_the_contacts_go_in(
        execute: Any, sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        if not added and sql.startswith('INSERT INTO "people_contact" '):
            # After the chunk looked its addresses up, another process (a sign-up, the API)
            # commits one of them.
            db = connection.settings_dict
            with psycopg.connect(
                dbname=db["NAME"],
                user=db["USER"],
                password=db["PASSWORD"],
                host=db["HOST"],
                port=db["PORT"] or None,
                autocommit=True,
            ) as other:
                other.execute(
                    "INSERT INTO people_contact (email, email_key, email_hash, first_name, "
                    "last_name, phone, postcode, departement, region, source, created_at, "
                    "updated_at) VALUES ('B@exemple.fr', 'b@exemple.fr', %s, '', 'Marley', '', "
                    "'', '', '', 'api', now(), now())",
                    [email_hash("b@exemple.fr")],
                )
            added.append("b@exemple.fr")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(adding_b_before_the_contacts_go_in):
        batch = run(path)

    assert added == ["b@exemple.fr"]

    assert batch.status == ImportBatch.Status.DONE
    assert counters(batch) == (1, 1, 0, 0)
    assert sorted(
        Contact.objects.values_list("email", "first_name", "last_name", "postcode", "source")
    ) == [
        ("B@exemple.fr", "Bob", "Marley", "75011", "api"),
        ("a@exemple.fr", "Ana", "", "", "meeting Lyon"),
    ]
    assert sorted(Consent.objects.values_list("contact__email_key", "purpose", "source_ref")) == [
        ("a@exemple.fr", "news", str(batch.pk)),
        ("b@exemple.fr", "news", str(batch.pk)),
    ]
    # a was created by the batch; b, added meanwhile, was filled by it: its event.
    assert sorted(Contact.objects.values_list("email_key", "import_batch")) == [
        ("a@exemple.fr", batch.pk),
        ("b@exemple.fr", None),
    ]
    assert list(ContactEvent.objects.values_list("contact__email_key", "kind")) == [
        ("b@exemple.fr", "import")
    ]


def test_an_address_taken_for_a_duplicate_by_a_hash_collision_is_still_created(
    tmp_path: Path,
) -> None:
    # The reader remembers addresses by hash(): simulate another address of the file with the
    # same hash by seeding it.
    path = write(tmp_path, "email;prénom\nb@exemple.fr;Bob\n")
    batch = ImportBatchFactory.create(path=path, filename="c.csv", source="s")
    reader = RowReader(
        path=path,
        encoding=batch.encoding,
        delimiter=batch.delimiter,
        mapping=dict(batch.mapping),
        columns=2,
        chunk_rows=10,
        seen={hash("b@exemple.fr")},
    )
    writer = ChunkWriter(batch)
    writer.create_tables()
    try:
        with transaction.atomic():
            results = [writer.write(chunk) for chunk in reader.chunks()]
    finally:
        writer.drop_tables()

    assert [(r.imported, r.duplicates, r.invalid) for r in results] == [(0, 1, [])]
    bob = Contact.objects.get()
    assert (bob.email, bob.first_name, bob.import_batch_id) == ("b@exemple.fr", "Bob", batch.pk)
    assert list(bob.consents.values_list("purpose", "status")) == [("news", "granted")]


def test_imported_names_are_searchable_without_their_accents(tmp_path: Path) -> None:
    known = ContactFactory.create(email="connu@exemple.fr", first_name="Élise", last_name="")
    path = write(
        tmp_path,
        HEADER + "neuve@exemple.fr;Hélène;Lefèvre-Noël;;;\n"
        "connu@exemple.fr;Autre;Brûlé;;;\n"
        "sans@exemple.fr;;;;;\n"
        "NEUVE@exemple.fr;Autre;Autre;;;\n",
    )
    batch = run(path)

    assert counters(batch)[:2] == (2, 1)
    keys = dict(Contact.objects.values_list("email", "last_name_key"))
    assert keys == {
        "neuve@exemple.fr": "lefevre noel",
        "connu@exemple.fr": "brule",
        "sans@exemple.fr": "",
    }
    known.refresh_from_db()
    assert (known.first_name, known.first_name_key) == ("Élise", "elise")
    assert Contact.objects.get(email="neuve@exemple.fr").first_name_key == "helene"
    assert list(Contact.objects.search("lefevre").values_list("email", flat=True)) == [
        "neuve@exemple.fr"
    ]
