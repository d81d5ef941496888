"""The merchant's own web site in the pages' tests: a server on 127.0.0.1 on a port of its own
(another origin than ours) that answers every GET with one page and remembers what was asked."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

THANKS = b"<!doctype html><html lang='en'><title>Shop</title><h1>Back at the shop</h1></html>"


class Shop:
    def __init__(self, page: bytes = THANKS) -> None:
        self.paths: list[str] = []  # every GET's path and query, but the browser's own favicon.ico
        paths = self.paths

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
                if urlsplit(self.path).path != "/favicon.ico":  # what a browser asks of any site
                    paths.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def visits(self) -> list[dict[str, list[str]]]:
        """The queries of the GETs so far, parsed."""
        return [parse_qs(urlsplit(path).query) for path in self.paths]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)
