"""Entry point of the CSV import's reader process (people.services.imports.runner).

The process is spawned: a fresh interpreter that unpickles its arguments before anything else
runs. This module therefore imports nothing of Django at import time (the imports package
imports models, which need the app registry): the reader's arguments come as plain values and
Django is set up first."""

from __future__ import annotations

from typing import Any


def read_in_process(reader_args: dict[str, Any], language: str | None, pipe: Any) -> None:
    import django

    django.setup()
    from django.utils import translation

    from essaim.people.services.imports.rows import RowReader

    if language:
        translation.activate(language)  # invalid-row reasons in the importer's language
    try:
        for chunk in RowReader(**reader_args).chunks():
            pipe.send(("chunk", chunk))
        pipe.send(("end", None))
    except BaseException as exc:
        pipe.send(("error", exc))
    finally:
        pipe.close()
