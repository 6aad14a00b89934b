"""A page's main text, title, date, author, language and in-text links, read by trafilatura in a
worker process that a hard time and memory limit can kill.

    extracted = extract_page(html, url)   # Extracted, or raises ExtractionError

trafilatura is the best published extractor of main text, and like every parser of hostile
HTML it can be made to run for minutes or to take gigabytes by a page of a few megabytes (a
sea of links, of paragraphs). So it never runs in the caller's process: each worker of a small
pool (WATCH_EXTRACT_WORKERS) is a process started fresh (essaim.watch.services.extraction_worker)
under RLIMIT_AS (WATCH_EXTRACT_MEMORY_MB); a page that takes longer than WATCH_EXTRACT_TIMEOUT
seconds gets its worker killed (`extraction_timeout`), one that exhausts the memory or crashes
it loses its worker too (`extraction_failed`), and the next page gets a new one. A worker is
also replaced after `RECYCLE_AFTER` pages, so that a slow leak never grows.

What comes back is plain text (nh3 drops any markup, control characters go), links are clean
absolute http(s) URLs; templates escape it all again. Thread-safe: the watcher calls it from
worker threads, a view from its request.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime as dt
import html as html_lib
import logging
import queue
import re
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

import nh3
from django.conf import settings

from essaim.watch.services import extraction_worker
from essaim.watch.services.urls import InvalidURL, clean_url

log = logging.getLogger("essaim.watch.extraction")

EXTRACTION_FAILED = "extraction_failed"
EXTRACTION_TIMEOUT = "extraction_timeout"
RECYCLE_AFTER = 500
TITLE_MAX = 500
AUTHOR_MAX = 200
# Control characters other than tab and newline: never useful in text, sometimes harmful in a
# terminal or a CSV export.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_BLANKS = re.compile(r"[ \t\u00a0]+")


class ExtractionError(Exception):
    """The page could not be read: `code` is extraction_failed or extraction_timeout."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Extracted:
    title: str = ""
    text: str = ""  # the main text, paragraphs on their own lines
    author: str = ""
    published_at: dt.datetime | None = None
    language: str = ""
    links: list[str] = field(default_factory=list)  # in the main text, in order, once each


class _Worker:
    """One extraction process and our end of its socket.

    A plain subprocess rather than multiprocessing: its "spawn" re-imports the caller's main
    module (a bench script, pytest) in the child, and "fork" would copy a watcher's threads
    and database connections."""

    def __init__(self, memory_bytes: int) -> None:
        ours, theirs = socket.socketpair()
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [
                sys.executable,
                "-m",
                "essaim.watch.services.extraction_worker",
                str(theirs.fileno()),
                str(memory_bytes),
            ],
            pass_fds=(theirs.fileno(),),
            stdin=subprocess.DEVNULL,
        )
        theirs.close()
        self.conn = Connection(ours.detach())
        self.served = 0

    def alive(self) -> bool:
        return self.process.poll() is None

    def ask(self, html: bytes, url: str, timeout: float) -> tuple[str, Any]:
        self.conn.send((html, url))
        if not self.conn.poll(timeout):
            raise TimeoutError
        reply: tuple[str, Any] = self.conn.recv()
        self.served += 1
        return reply

    def kill(self) -> None:
        if self.alive():
            self.process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)
        self.conn.close()


class ExtractorPool:
    """Up to `workers` extraction processes; a caller waits for a free one."""

    def __init__(self, *, workers: int, memory_mb: int, timeout: float) -> None:
        self.memory_bytes = memory_mb * 1024 * 1024
        self.timeout = timeout
        self._idle: queue.LifoQueue[_Worker | None] = queue.LifoQueue()
        for _ in range(max(1, workers)):
            self._idle.put(None)  # a slot; its process starts at its first page
        self._all: list[_Worker] = []
        self._lock = threading.Lock()

    def extract(self, html: bytes, url: str, *, timeout: float | None = None) -> dict[str, Any]:
        worker = self._idle.get()
        try:
            if worker is None or not worker.alive():
                worker = self._start()
            try:
                status, value = worker.ask(html, url, self.timeout if timeout is None else timeout)
            except TimeoutError:
                self._drop(worker)
                worker = None
                raise ExtractionError(
                    EXTRACTION_TIMEOUT, "The page took too long to read: its reader was stopped."
                ) from None
            except (EOFError, OSError, BrokenPipeError):
                self._drop(worker)
                worker = None
                raise ExtractionError(
                    EXTRACTION_FAILED, "The page's reader stopped (memory or crash)."
                ) from None
            if status != "ok":
                if not worker.alive() or value == "memory":
                    self._drop(worker)
                    worker = None
                raise ExtractionError(
                    EXTRACTION_FAILED,
                    "The page's reader ran out of memory."
                    if value == "memory"
                    else f"The page could not be read ({value}).",
                )
            if worker.served >= RECYCLE_AFTER:
                self._drop(worker)
                worker = None
            result: dict[str, Any] = value
            return result
        finally:
            self._idle.put(worker)

    def close(self) -> None:
        with self._lock:
            workers, self._all = self._all, []
        for worker in workers:
            worker.kill()

    def _start(self) -> _Worker:
        worker = _Worker(self.memory_bytes)
        with self._lock:
            self._all.append(worker)
        return worker

    def _drop(self, worker: _Worker) -> None:
        worker.kill()
        with self._lock:
            if worker in self._all:
                self._all.remove(worker)


_pool: ExtractorPool | None = None
_pool_lock = threading.Lock()


def default_pool() -> ExtractorPool:
    """The process's pool, made from the settings at first use."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ExtractorPool(
                workers=settings.WATCH_EXTRACT_WORKERS,
                memory_mb=settings.WATCH_EXTRACT_MEMORY_MB,
                timeout=settings.WATCH_EXTRACT_TIMEOUT,
            )
            atexit.register(_pool.close)
        return _pool


def extract_page(
    html: bytes, url: str, *, pool: ExtractorPool | None = None, timeout: float | None = None
) -> Extracted:
    """Read the page `html` fetched from `url` (see module). Raises ExtractionError."""
    if pool is None:
        pool = default_pool()
        if timeout is None:
            timeout = settings.WATCH_EXTRACT_TIMEOUT  # read at each call: tests change it
    fields = pool.extract(html, url, timeout=timeout)
    return Extracted(
        title=_line(fields.get("title"), TITLE_MAX),
        text=plain_text(fields.get("text")),
        author=_line(fields.get("author"), AUTHOR_MAX),
        published_at=_date(fields.get("date")),
        language=_line(fields.get("language"), 20).lower(),
        links=_links(fields.get("links"), base=url),
    )


def plain_text(value: Any, limit: int = extraction_worker.TEXT_MAX) -> str:
    """Plain text from the extractor: any markup that slipped through dropped by nh3, entities
    decoded, control characters and runs of blanks removed, paragraphs kept on their lines."""
    if not value:
        return ""
    text = html_lib.unescape(nh3.clean(str(value), tags=set()))
    lines = (_BLANKS.sub(" ", _CONTROLS.sub("", line)).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)[:limit]


def _line(value: Any, limit: int) -> str:
    return " ".join(plain_text(value, limit * 2).split())[:limit]


def _date(value: Any) -> dt.datetime | None:
    """trafilatura's date (YYYY-MM-DD) as midnight UTC; a date before 1971 is no date."""
    if not isinstance(value, str) or not value:
        return None
    try:
        day = dt.date.fromisoformat(value[:10])
    except ValueError:
        return None
    if day.year < 1971:
        return None
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def _links(value: Any, *, base: str) -> list[str]:
    links: list[str] = []
    for raw in value or []:
        if not isinstance(raw, str):
            continue
        try:
            link = clean_url(raw, base=base)
        except InvalidURL:
            continue  # mailto:, javascript:, a broken reference
        if link not in links:
            links.append(link)
    return links
