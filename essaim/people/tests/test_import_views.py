"""The import pages: HQ uploads a CSV, checks the columns, launches the import, follows its
progress and downloads the invalid rows. Nobody else may reach them."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from essaim.accounts.models import AuditEvent
from essaim.people.models import Consent, Contact, ImportBatch
from essaim.people.tests.factories import ImportBatchFactory

pytestmark = pytest.mark.django_db

CSV = (
    "Courriel;Prénom;Nom;Code postal;Remarque\n"
    "ana@exemple.fr;Ana;<script>alert(1)</script>;75011;a\n"
    "bob@exemple.fr;Bob;Marley;99999;b\n"
    "ANA@exemple.fr;Anna;Lopez;75011;c\n"
    "chloe@exemple.fr;Chloé;Durand;69003;d\n"
    "dan@exemple.fr;Dan;Brown;13001;e\n"
    "eve@exemple.fr;Ève;Sixième;35000;sixième ligne\n"
    "fred-sans-arobase;Fred;Astaire;75011;f\n"
).encode()


@pytest.fixture(autouse=True)
def data_dir(settings: Any, tmp_path: Path) -> Path:
    settings.DATA_DIR = tmp_path / "data"
    return settings.DATA_DIR


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("**/*") if p.is_file())


def upload(client: Client, content: bytes = CSV, name: str = "contacts.csv", **data: Any) -> Any:
    form = {
        "file": SimpleUploadedFile(name, content, content_type="text/csv"),
        "basis": "explicit_consent",
        "purposes": ["news", "mobilization"],
        "source": "salon du livre",
        "tags": "salon, 2027",
    }
    return client.post(reverse("people:import_upload"), form | data)


def uploaded_batch(hq: Any, tmp_path: Path) -> ImportBatch:
    path = tmp_path / "data" / "imports" / "prepared.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(CSV)
    return ImportBatchFactory.create(path=path, source="test", created_by=hq)


def test_hq_uploads_checks_the_columns_imports_and_downloads_the_reports(
    hq_client: Client, hq: Any, data_dir: Path, django_capture_on_commit_callbacks: Any
) -> None:
    assert hq_client.get(reverse("people:import_upload")).status_code == 200
    response = upload(hq_client)
    batch = ImportBatch.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("people:import_mapping", args=[batch.pk])
    assert (batch.status, batch.created_by, batch.filename) == ("uploaded", hq, "contacts.csv")
    assert (batch.purposes, batch.tags) == (["news", "mobilization"], ["salon", "2027"])
    assert Path(batch.path).parent == data_dir / "imports"

    page = hq_client.get(reverse("people:import_mapping", args=[batch.pk])).content.decode()
    assert '<option value="email" selected>' in page
    assert '<option value="last_name" selected>' in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert(1)</script>" not in page
    assert "dan@exemple.fr" in page
    assert "sixième ligne" not in page  # five rows of preview

    with django_capture_on_commit_callbacks(execute=True):
        response = hq_client.post(
            reverse("people:import_mapping", args=[batch.pk]),
            {"col_0": "email", "col_1": "first_name", "col_2": "last_name", "col_3": "postcode"},
        )
    assert response.status_code == 302
    assert response["Location"] == reverse("people:import_detail", args=[batch.pk])
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.DONE
    assert batch.mapping == {"email": 0, "first_name": 1, "last_name": 2, "postcode": 3}
    assert (batch.imported, batch.updated, batch.duplicates, batch.invalid) == (5, 0, 1, 1)
    assert batch.warnings == 1
    assert Contact.objects.count() == 5
    assert Consent.objects.filter(source="import", source_ref=str(batch.pk)).count() == 10
    assert Contact.objects.get(email="bob@exemple.fr").postcode == ""  # 99999 does not exist

    detail = hq_client.get(reverse("people:import_detail", args=[batch.pk])).content.decode()
    assert reverse("people:import_report", args=[batch.pk]) in detail
    assert reverse("people:import_warnings", args=[batch.pk]) in detail
    assert (
        '<span class="figure">1</span> avertissements' in detail
        and "le contact est importé sans elle" in detail
    )
    assert 'value="100"' in detail

    report = hq_client.get(reverse("people:import_report", args=[batch.pk]))
    assert report.status_code == 200
    assert report["Content-Disposition"] == (
        f'attachment; filename="import-{batch.pk}-lignes-invalides.csv"'
    )
    text = b"".join(report.streaming_content).decode("utf-8-sig")  # type: ignore[attr-defined]
    assert list(csv.reader(io.StringIO(text), delimiter=";"))[1:] == [
        [
            "8",
            "e-mail : adresse sans @ ou avec plusieurs @",
            "fred-sans-arobase",
            "Fred",
            "Astaire",
            "75011",
            "f",
        ]
    ]

    warnings = hq_client.get(reverse("people:import_warnings", args=[batch.pk]))
    assert warnings.status_code == 200
    assert warnings["Content-Disposition"] == (
        f'attachment; filename="import-{batch.pk}-avertissements.csv"'
    )
    text = b"".join(warnings.streaming_content).decode("utf-8-sig")  # type: ignore[attr-defined]
    assert list(csv.reader(io.StringIO(text), delimiter=";")) == [
        ["ligne", "colonne", "valeur", "raison"],
        ["3", "Code postal", "99999", "code postal inexistant"],
    ]
    assert list(AuditEvent.objects.order_by("id").values_list("action", flat=True)) == [
        "import.upload",
        "import.start",
        "import.report_download",
        "import.warnings_download",
    ]


@pytest.mark.parametrize("who", ["volunteer_client", "coordinator_client"])
def test_only_hq_reaches_the_imports_and_nothing_changes_for_anyone_else(
    request: pytest.FixtureRequest, who: str, hq: Any, tmp_path: Path, data_dir: Path
) -> None:
    client: Client = request.getfixturevalue(who)
    batch = uploaded_batch(hq, tmp_path)
    files = files_in(data_dir)
    pk = batch.pk

    assert client.get(reverse("people:import_list")).status_code == 403
    assert client.get(reverse("people:import_upload")).status_code == 403
    assert upload(client).status_code == 403
    assert client.get(reverse("people:import_mapping", args=[pk])).status_code == 403
    mapping = {"col_0": "email"}
    assert client.post(reverse("people:import_mapping", args=[pk]), mapping).status_code == 403
    assert client.get(reverse("people:import_detail", args=[pk])).status_code == 403
    assert client.get(reverse("people:import_report", args=[pk])).status_code == 403
    assert client.get(reverse("people:import_warnings", args=[pk])).status_code == 403

    assert list(ImportBatch.objects.values_list("pk", "status")) == [(pk, "uploaded")]
    assert files_in(data_dir) == files
    assert Contact.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_an_anonymous_visitor_is_sent_to_the_login_page(db: Any) -> None:
    response = Client().get(reverse("people:import_list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_a_file_over_the_size_limit_is_refused_with_a_clear_message(
    hq_client: Client, settings: Any, data_dir: Path
) -> None:
    settings.IMPORT_MAX_BYTES = 100
    response = upload(hq_client)

    assert response.status_code == 200
    assert f"Fichier trop volumineux : {len(CSV)}\xa0octets, le maximum est 100\xa0octets." in (
        response.content.decode()
    )
    assert ImportBatch.objects.count() == 0
    assert files_in(data_dir) == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00", "binaire"),
        (b"nom;prenom\nDupont;Jean\n", "Aucune colonne d&#x27;adresse e-mail"),
        (b"", "Le fichier soumis est vide."),
    ],
    ids=["binary", "no email column", "empty"],
)
def test_an_unusable_file_is_refused_and_not_kept(
    hq_client: Client, data_dir: Path, content: bytes, message: str
) -> None:
    response = upload(hq_client, content)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert ImportBatch.objects.count() == 0
    assert files_in(data_dir) == []


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"col_1": "first_name"}, "Choisissez la colonne qui contient l&#x27;adresse e-mail."),
        ({"col_0": "email", "col_1": "last_name", "col_2": "last_name"}, "deux colonnes"),
    ],
    ids=["no email", "a field twice"],
)
def test_a_mapping_without_email_or_with_a_field_twice_is_refused(
    hq_client: Client, hq: Any, tmp_path: Path, mapping: dict[str, str], message: str
) -> None:
    batch = uploaded_batch(hq, tmp_path)
    response = hq_client.post(reverse("people:import_mapping", args=[batch.pk]), mapping)

    assert response.status_code == 400
    assert message in response.content.decode()
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.UPLOADED
    assert Contact.objects.count() == 0


def test_the_progress_fragment_polls_while_running_and_reloads_the_page_when_done(
    hq_client: Client, hq: Any, tmp_path: Path
) -> None:
    batch = uploaded_batch(hq, tmp_path)
    ImportBatch.objects.filter(pk=batch.pk).update(
        status=ImportBatch.Status.RUNNING, total_rows=200, processed_rows=50
    )
    url = reverse("people:import_detail", args=[batch.pk])

    running = hq_client.get(url, headers={"HX-Request": "true"})
    fragment = running.content.decode()
    assert f'hx-get="{url}"' in fragment
    assert 'value="25"' in fragment
    assert "50 lignes traitées sur 200" in fragment
    assert "<html" not in fragment
    assert "HX-Refresh" not in running

    ImportBatch.objects.filter(pk=batch.pk).update(status=ImportBatch.Status.DONE)
    done = hq_client.get(url, headers={"HX-Request": "true"})
    assert "hx-get" not in done.content.decode()
    assert 'value="100"' in done.content.decode()
    assert done["HX-Refresh"] == "true"


def test_a_failed_import_shows_its_error_and_how_to_finish_it(
    hq_client: Client, hq: Any, tmp_path: Path
) -> None:
    batch = uploaded_batch(hq, tmp_path)
    ImportBatch.objects.filter(pk=batch.pk).update(
        status=ImportBatch.Status.FAILED, error="<b>disque plein</b>"
    )
    page = hq_client.get(reverse("people:import_detail", args=[batch.pk])).content.decode()

    assert "&lt;b&gt;disque plein&lt;/b&gt;" in page
    assert "Relancez l'import du même fichier pour le terminer" in page


def test_the_import_list_costs_the_same_queries_whatever_the_number_of_imports(
    hq_client: Client, hq: Any, tmp_path: Path, django_assert_num_queries: Any
) -> None:
    for _ in range(3):
        uploaded_batch(hq, tmp_path)
    # session, user, the page of batches with their author, the menu's counts
    with django_assert_num_queries(4):
        response = hq_client.get(reverse("people:import_list"))
    assert response.content.decode().count("prepared.csv") == 3


def test_the_menu_links_to_imports_for_hq_only(
    hq_client: Client, coordinator_client: Client
) -> None:
    url = reverse("people:import_list")
    assert f'href="{url}"' in hq_client.get(reverse("home")).content.decode()
    assert f'href="{url}"' not in coordinator_client.get(reverse("home")).content.decode()
