"""Evidence: the raw response that brought items in, kept as one gzipped WARC record (warcio),
so that a page or a description deleted since can still be shown and cited, with the date and
the headers it was served with. WARC is the web archives' own format: any of their tools reads
what we keep.

Pure: bytes in, bytes out.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus

from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

# The fetcher hands over the body decoded (its byte cap counts after decompression): headers
# that describe the bytes on the wire would lie about the payload kept.
_WIRE_HEADERS = frozenset({"content-encoding", "transfer-encoding", "content-length"})


@dataclass(frozen=True)
class Archived:
    url: str
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    date: str


def make_warc(
    *, url: str, status: int, headers: Mapping[str, str], body: bytes, fetched_at: dt.datetime
) -> bytes:
    """One gzipped WARC `response` record of the response."""
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Unknown"
    kept = [(k, v) for k, v in headers.items() if k.lower() not in _WIRE_HEADERS]
    kept.append(("Content-Length", str(len(body))))
    http_headers = StatusAndHeaders(f"{status} {reason}", kept, protocol="HTTP/1.1")
    out = io.BytesIO()
    writer = WARCWriter(out, gzip=True)
    when = fetched_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    record = writer.create_warc_record(
        url,
        "response",
        payload=io.BytesIO(body),
        http_headers=http_headers,
        warc_headers_dict={"WARC-Date": when},
    )
    writer.write_record(record)
    return out.getvalue()


def read_warc(data: bytes) -> Archived:
    """The response kept in a record made by make_warc."""
    for record in ArchiveIterator(io.BytesIO(data)):
        if record.rec_type != "response":
            continue
        status_line = record.http_headers.get_statuscode() if record.http_headers else "0"
        return Archived(
            url=record.rec_headers.get_header("WARC-Target-URI") or "",
            status=int(status_line or 0),
            headers=list(record.http_headers.headers) if record.http_headers else [],
            body=record.content_stream().read(),
            date=record.rec_headers.get_header("WARC-Date") or "",
        )
    raise ValueError("no response record")
