"""The pages' stylesheet, served from this package: pages fetch nothing from elsewhere."""

from __future__ import annotations

from importlib import resources
from typing import Any

import falcon
import falcon.asgi

_TYPES = {".css": "text/css; charset=utf-8"}


class Asset:
    access = None  # no API key: every page links to it
    page = True

    def __init__(self) -> None:
        folder = resources.files("komoju_server.pages") / "assets"
        self._files = {
            entry.name: (entry.read_bytes(), _TYPES[suffix])
            for entry in folder.iterdir()
            if (suffix := "." + entry.name.rpartition(".")[2]) in _TYPES
        }

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, name: str, **_: Any) -> None:
        found = self._files.get(name)
        if found is None:
            raise falcon.HTTPNotFound()
        resp.data, resp.content_type = found
        resp.set_header("Cache-Control", "public, max-age=3600")
        resp.set_header("X-Content-Type-Options", "nosniff")


def add_routes(app: falcon.asgi.App) -> None:
    app.add_route("/assets/{name}", Asset())
