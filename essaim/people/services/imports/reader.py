"""Entry point of the CSV import's reader process (runner.py), and what the reader and the
writer say to each other.

The process is spawned: a fresh interpreter that unpickles its arguments before anything else
runs. This module, and the package's __init__ that loads with it, therefore import nothing of
Django at import time (the other modules of the package import models, which need the app
registry): the reader's arguments come as plain values and Django is set up first."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

# What goes from the reader to the writer: ("chunk", Chunk)…, then ("end", None) or
# ("error", exception), through a thread's queue or a process's pipe alike.
Message = tuple[str, Any]


def produce(chunks: Iterable[Any], send: Callable[[Message], object]) -> None:
    """Send every chunk, then the end or the error that stopped the reading. `send` returning
    False (a queue whose reader has gone) stops it."""
    try:
        for chunk in chunks:
            if send(("chunk", chunk)) is False:
                return
        send(("end", None))
    except BaseException as exc:
        send(("error", exc))


def consume(receive: Callable[[], Message]) -> Iterator[Any]:
    """The chunks `produce` sent, until its end; its error is raised again here."""
    while True:
        kind, value = receive()
        if kind == "end":
            return
        if kind == "error":
            raise value
        yield value


def read_in_process(reader_args: dict[str, Any], language: str | None, pipe: Any) -> None:
    import django

    django.setup()
    from django.utils import translation

    from essaim.people.services.imports.rows import RowReader

    if language:
        translation.activate(language)  # invalid-row reasons in the importer's language
    try:
        produce(RowReader(**reader_args).chunks(), pipe.send)
    finally:
        pipe.close()
