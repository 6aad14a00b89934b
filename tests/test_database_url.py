"""DATABASE_URL takes the forms Django users know (dj-database-url's), SQLite included."""

from __future__ import annotations

from pathlib import Path

import pytest

from essaim.env import ImproperlyConfiguredEnv
from essaim.settings import SQLITE_OPTIONS, database_from_url


def test_sqlite_url_with_an_absolute_path_keeps_essaims_sqlite_options(tmp_path: Path) -> None:
    config = database_from_url(f"sqlite:///{tmp_path}/essaim.sqlite3")

    assert config["ENGINE"] == "django.db.backends.sqlite3"
    assert config["NAME"] == f"{tmp_path}/essaim.sqlite3"
    assert config["OPTIONS"] == SQLITE_OPTIONS


def test_postgres_url_gives_its_parts_a_timeout_and_health_checks() -> None:
    config = database_from_url(
        "postgres://essaim:s%40cret@db.example:5433/campagne?sslmode=require"
    )

    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert (config["NAME"], config["USER"], config["PASSWORD"]) == ("campagne", "essaim", "s@cret")
    assert (config["HOST"], config["PORT"]) == ("db.example", 5433)
    assert config["OPTIONS"] == {"connect_timeout": 10, "sslmode": "require"}
    assert config["CONN_HEALTH_CHECKS"] is True


def test_postgresql_scheme_without_a_database_name_defaults_to_essaim() -> None:
    assert database_from_url("postgresql://db.example")["NAME"] == "essaim"


@pytest.mark.parametrize(
    "url", ["mysql://root@127.0.0.1/essaim", "oracle://db.example/x", "ftp://example.com/db"]
)
def test_other_databases_are_refused_with_a_clear_message(url: str) -> None:
    with pytest.raises(ImproperlyConfiguredEnv, match="DATABASE_URL"):
        database_from_url(url)
