"""Tokens: the merchant's one-time tokens, newest first, with whether each was used and when it
expires (their public details only: the details themselves stay sealed in the vault)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import falcon.asgi

from komoju_server.domain import clock
from komoju_server.domain.caller import Caller
from komoju_server.pages.dashboard.site import BASE, Dashboard, ListPage

PATH = BASE + "/tokens"


class TokenList(ListPage):
    section = "tokens"
    template = "dashboard/tokens.html"

    async def fetch(
        self, caller: Caller, query: Mapping[str, Any], number: int, per_page: int
    ) -> tuple[int, Sequence[Any]]:
        return await self.rt.tokens.page(caller, number, per_page)

    def context(self) -> dict[str, Any]:
        return {"iso": clock.iso}


def add_routes(app: falcon.asgi.App, dashboard: Dashboard) -> None:
    app.add_route(PATH, TokenList(dashboard))
