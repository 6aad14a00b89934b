"""A real HTTP server on a loopback address for the watch's tests: it serves the routes a test
gives it (feeds, pages, errors), answers conditional GETs with 304 when asked to, and records
every request it receives.

    server = FeedServer()
    server.route("/feed/", fixture("blog_feed.xml"), content_type="application/rss+xml",
                 etag='"v1"')
    server.url("/feed/")  # http://127.0.0.1:PORT/feed/
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@dataclass
class Route:
    body: bytes
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    etag: str = ""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    at: float = 0.0  # time.monotonic() when it arrived, to compare servers' request orders


class FeedServer:
    def __init__(self, host: str = "127.0.0.1") -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[Seen] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                with server._lock:
                    server.requests.append(
                        Seen(
                            self.path,
                            {k.lower(): v for k, v in self.headers.items()},
                            time.monotonic(),
                        )
                    )
                    route = server.routes.get(self.path)
                if route is None:
                    route = Route(b"<html><body>Introuvable</body></html>", status=404)
                if route.etag and self.headers.get("If-None-Match") == route.etag:
                    self.send_response(304)
                    self.send_header("ETag", route.etag)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(route.status)
                self.send_header("Content-Type", route.content_type)
                self.send_header("Content-Length", str(len(route.body)))
                if route.etag:
                    self.send_header("ETag", route.etag)
                for name, value in route.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(route.body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer((host, 0), Handler)
        self._server.daemon_threads = True
        self.host = host
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> FeedServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    def route(
        self,
        path: str,
        body: bytes,
        *,
        status: int = 200,
        content_type: str = "text/html; charset=utf-8",
        etag: str = "",
        headers: dict[str, str] | None = None,
    ) -> None:
        with self._lock:
            self.routes[path] = Route(body, status, content_type, etag, dict(headers or {}))

    def hits(self, path: str) -> int:
        with self._lock:
            return sum(1 for seen in self.requests if seen.path == path)
