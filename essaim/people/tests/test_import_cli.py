"""`essaim import_contacts PATH --basis … --source … [--tags …] [--purposes …]`."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from essaim.people.models import Consent, Contact, ImportBatch

pytestmark = pytest.mark.django_db

LAST_LINE = re.compile(
    r"imported=(\d+) updated=(\d+) duplicates=(\d+) invalid=(\d+) warnings=(\d+) "
    r"seconds=(\d+\.\d\d)"
)


@pytest.fixture(autouse=True)
def data_dir(settings: Any, tmp_path: Path) -> Path:
    settings.DATA_DIR = tmp_path / "data"
    return settings.DATA_DIR


def import_contacts(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_contacts", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_the_last_line_gives_the_counters_and_the_seconds(tmp_path: Path) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text(
        "courriel;prénom;code postal\n"
        "a@exemple.fr;Ana;75011\n"
        "A@exemple.fr;Anna;75011\n"
        "b@exemple.fr;Bob;99999\n"
        "c@exemple.fr;Chloé;69003\n"
        "pas-une-adresse;Dan;69003\n",
        encoding="utf-8",
    )
    out, err = import_contacts(str(path), "--basis", "explicit_consent", "--source", "salon")

    match = LAST_LINE.fullmatch(out.strip().splitlines()[-1])
    assert match is not None, out
    assert match.groups()[:5] == ("3", "0", "1", "1", "1")
    assert "5/5 lignes (100 %)" in err
    assert "lignes invalides dans" in err
    assert "avertissements dans" in err
    batch = ImportBatch.objects.get()
    assert (batch.status, batch.created_by, batch.source, batch.filename) == (
        "done",
        None,
        "salon",
        "contacts.csv",
    )
    assert batch.path == str(path.resolve())


def test_purposes_and_tags_options_apply_to_every_contact(tmp_path: Path) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text("email\na@exemple.fr\nb@exemple.fr\n", encoding="utf-8")
    import_contacts(
        str(path),
        "--basis",
        "membership",
        "--source",
        "adhérents 2027",
        "--purposes",
        "news,mobilization",
        "--tags",
        "adhérent,2027",
    )

    assert sorted(Consent.objects.values_list("contact__email", "purpose", "basis")) == [
        ("a@exemple.fr", "mobilization", "membership"),
        ("a@exemple.fr", "news", "membership"),
        ("b@exemple.fr", "mobilization", "membership"),
        ("b@exemple.fr", "news", "membership"),
    ]
    assert sorted(
        Contact.objects.get(email="a@exemple.fr").tags.values_list("name", flat=True)
    ) == [
        "2027",
        "adhérent",
    ]


def test_a_second_run_of_the_same_file_imports_nothing(tmp_path: Path) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text("email,prénom\na@exemple.fr,Ana\n", encoding="utf-8")
    import_contacts(str(path), "--basis", "explicit_consent", "--source", "s")
    out, _err = import_contacts(str(path), "--basis", "explicit_consent", "--source", "s")

    match = LAST_LINE.fullmatch(out.strip().splitlines()[-1])
    assert match is not None
    assert match.groups()[:5] == ("0", "0", "0", "0", "0")
    assert Contact.objects.count() == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "Le fichier est vide."),
        (b"\x00\x01\x02binaire", "binaire"),
        (b"nom;prenom\nDupont;Jean\n", "Aucune colonne d'adresse e-mail"),
        (b"email\n", "ne contient que la ligne d'en-t"),
    ],
    ids=["empty", "binary", "no email column", "header only"],
)
def test_an_unusable_file_exits_non_zero_with_a_clear_message(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "contacts.csv"
    path.write_bytes(content)
    with pytest.raises(CommandError) as error:
        import_contacts(str(path), "--basis", "explicit_consent", "--source", "s")

    assert message in str(error.value)
    assert ImportBatch.objects.count() == 0


def test_a_file_over_the_size_limit_exits_non_zero(tmp_path: Path, settings: Any) -> None:
    settings.IMPORT_MAX_BYTES = 10
    path = tmp_path / "contacts.csv"
    path.write_text("email\na@exemple.fr\n", encoding="utf-8")
    with pytest.raises(CommandError, match="Fichier trop volumineux"):
        import_contacts(str(path), "--basis", "explicit_consent", "--source", "s")


def test_a_missing_file_or_option_exits_non_zero(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="fichier introuvable"):
        import_contacts(str(tmp_path / "absent.csv"), "--basis", "membership", "--source", "s")
    path = tmp_path / "contacts.csv"
    path.write_text("email\na@exemple.fr\n", encoding="utf-8")
    with pytest.raises(CommandError, match="--basis"):
        import_contacts(str(path), "--source", "s")
    with pytest.raises(CommandError, match="invalid choice"):
        import_contacts(str(path), "--basis", "interet_legitime", "--source", "s")
    with pytest.raises(CommandError, match="Finalité inconnue"):
        import_contacts(str(path), "--basis", "membership", "--source", "s", "--purposes", "pub")
    assert Contact.objects.count() == 0


def test_a_failed_import_prints_its_counters_and_exits_non_zero(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from essaim.people.services.imports.writer import ChunkWriter

    def broken(self: ChunkWriter, chunk: Any) -> Any:
        raise RuntimeError("base indisponible")

    monkeypatch.setattr(ChunkWriter, "write", broken)
    path = tmp_path / "contacts.csv"
    path.write_text("email\na@exemple.fr\n", encoding="utf-8")
    out = io.StringIO()
    with pytest.raises(CommandError, match=r"en échec.*base indisponible"):
        call_command(
            "import_contacts",
            str(path),
            "--basis",
            "membership",
            "--source",
            "s",
            stdout=out,
            stderr=io.StringIO(),
        )
    assert LAST_LINE.fullmatch(out.getvalue().strip().splitlines()[-1])
    assert ImportBatch.objects.get().status == ImportBatch.Status.FAILED
