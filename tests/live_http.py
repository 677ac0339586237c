"""A real HTTP server on localhost for tests of outbound calls (webhooks, PostHog).

The server runs in a daemon thread on a random port and never touches the
database, so tests using it keep the ordinary `django_db` transaction.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Hit:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Reply:
    status: int = 200
    body: bytes = b'{"ok":true}'
    delay: float = 0.0  # seconds to wait before answering (timeouts)
    headers: dict[str, str] = field(default_factory=dict)  # e.g. a redirect's location


@dataclass
class LiveServer:
    base_url: str = ""
    hits: list[Hit] = field(default_factory=list)
    # (method, path without query) -> how to answer; `answer` may inspect the hit.
    routes: dict[tuple[str, str], Reply | Callable[[Hit], Reply]] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def hits_to(self, path: str) -> list[Hit]:
        return [hit for hit in self.hits if hit.path.split("?")[0] == path]


def _handler(server: LiveServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            hit = Hit(self.command, self.path, {k.lower(): v for k, v in self.headers.items()},
                      self.rfile.read(length) if length else b"")
            server.hits.append(hit)
            route = server.routes.get((self.command, self.path.split("?")[0]), Reply(404, b""))
            reply = route(hit) if callable(route) else route
            if reply.delay:
                threading.Event().wait(reply.delay)
            self.send_response(reply.status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(reply.body)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(reply.body)

        do_GET = do_POST = _serve

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def live_server() -> Iterator[LiveServer]:
    server = LiveServer()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(server))
    httpd.daemon_threads = True
    server.base_url = f"http://127.0.0.1:{httpd.server_address[1]}"
    # A short poll interval: shutdown() waits for the loop to notice.
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02},
                              daemon=True)
    thread.start()
    try:
        yield server
    finally:
        httpd.shutdown()
        httpd.server_close()
