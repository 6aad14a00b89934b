"""The process in which trafilatura reads pages (essaim.watch.services.extraction starts it).

A page from the web can make an extractor run for minutes or take gigabytes (a few megabytes
of links or paragraphs are enough): here it runs under a hard limit of address space
(RLIMIT_AS), set before trafilatura is imported, and the parent kills the process when a page
takes longer than its deadline. Nothing here imports Django: the process is started fresh
(`python -m essaim.watch.services.extraction_worker FD BYTES`, never forked from a watcher
with threads and database connections) and stays small.

Protocol on the pipe: the parent sends `(html: bytes, url: str)`, the worker answers
`("ok", fields)` or `("error", reason)`; after a MemoryError it answers and exits, since the
allocator's state is no longer to be trusted.
"""

from __future__ import annotations

import resource
import sys
from multiprocessing.connection import Connection
from typing import Any

# Characters of main text kept, and in-text links kept, per page.
TEXT_MAX = 100_000
LINKS_MAX = 500


def serve(conn: Connection, memory_bytes: int) -> None:
    """Answer extraction requests on `conn` until it closes."""
    if memory_bytes > 0:
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    try:
        import trafilatura  # noqa: F401 - imported once, under the limit
    except MemoryError:
        conn.send(("error", "memory"))
        return
    while True:
        try:
            html, url = conn.recv()
        except (EOFError, OSError):
            return
        try:
            conn.send(("ok", extract(html, url)))
        except MemoryError:
            conn.send(("error", "memory"))
            return
        except Exception as exc:
            conn.send(("error", f"{type(exc).__name__}: {exc}"[:300]))


def extract(html: bytes, url: str) -> dict[str, Any]:
    """trafilatura's reading of the page: main text, metadata and the links inside the text."""
    from lxml import etree
    from lxml import html as lxml_html
    from trafilatura import bare_extraction
    from trafilatura.settings import Document
    from trafilatura.xml import xmltotxt

    document = bare_extraction(
        html, url=url, include_links=True, with_metadata=True, include_comments=False
    )
    fields: dict[str, Any] = {
        "title": "",
        "text": "",
        "author": "",
        "date": "",
        "language": "",
        "links": [],
    }
    if not isinstance(document, Document):  # None: nothing to read (a dict only when asked)
        return fields
    links: list[str] = []
    body = document.body
    if body is not None:
        for ref in body.iter("ref"):
            target = ref.get("target")
            if target and target not in links and len(links) < LINKS_MAX:
                links.append(target)
        # The text without the links' targets: the links are kept apart.
        etree.strip_tags(body, "ref")
        fields["text"] = (xmltotxt(body, False) or "")[:TEXT_MAX]
    language = document.language or ""
    if not language:
        # trafilatura guesses a language only with an optional detector; the page often says.
        try:
            root = lxml_html.fromstring(html[:200_000])
            language = (root.get("lang") or "").strip()
        except (etree.ParserError, ValueError):
            language = ""
    fields.update(
        title=document.title or "",
        author=document.author or "",
        date=document.date or "",
        language=language[:20],
        links=links,
    )
    return fields


if __name__ == "__main__":
    serve(Connection(int(sys.argv[1])), int(sys.argv[2]))
