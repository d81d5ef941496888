"""Webhook endpoints: the list and a form to add one; an endpoint's page to change it, send it a
ping, remove it (behind a confirmation), and see its latest deliveries. Through the same
service as /api/v1/webhooks (`POST`, `PATCH /:id`, `POST /:id/ping`, `DELETE /:id`).

The form's fields are the API's: `url`, `secret_token` (left empty when changing: the current
one stays; it is never shown) and `events` (checkboxes; `every` event when `scope` is `all`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import falcon
import falcon.asgi

from komoju_server.domain.caller import Caller
from komoju_server.domain.errors import ApiError
from komoju_server.domain.webhook import EVENT_TYPES
from komoju_server.pages.dashboard.site import BASE, Dashboard, DashboardPage, ListPage, Problem, checked_id, text

PATH = BASE + "/webhooks"
LATEST_DELIVERIES = 20


def body_of(form: Mapping[str, Any], changing: bool) -> dict[str, Any]:
    """The form as the API's body: only what was given changes an existing endpoint."""
    body: dict[str, Any] = {"url": text(form.get("url"))}
    secret = text(form.get("secret_token"))
    if secret or not changing:
        body["secret_token"] = secret
    if form.get("scope") == "some":
        chosen = form.get("events")
        body["events"] = chosen if isinstance(chosen, list) else [chosen] if isinstance(chosen, str) else []
    else:
        body["events"] = None
    return body


def form_values(form: Mapping[str, Any] | None) -> dict[str, Any]:
    """What the form shows again after a refusal (never the secret token)."""
    if form is None:
        return {"url": "", "scope": "all", "events": []}
    chosen = form.get("events")
    events = chosen if isinstance(chosen, list) else [chosen] if isinstance(chosen, str) else []
    return {"url": text(form.get("url")), "scope": "some" if form.get("scope") == "some" else "all", "events": events}


class WebhookList(ListPage):
    section = "webhooks"
    template = "dashboard/webhooks.html"

    async def fetch(
        self, caller: Caller, query: Mapping[str, Any], number: int, per_page: int
    ) -> tuple[int, Sequence[Any]]:
        return await self.rt.webhooks.page(caller, number, per_page)

    def context(self) -> dict[str, Any]:
        return {"event_types": EVENT_TYPES, "form": form_values(None)}

    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        caller = await self.dash.caller(req)
        form = await self.dash.form(req)
        try:
            endpoint = await self.rt.webhooks.create(caller, body_of(form, changing=False))
        except ApiError as error:
            number, per_page = self.dash.paging({})
            total, rows = await self.rt.webhooks.page(caller, number, per_page)
            self.dash.render(
                req,
                resp,
                caller,
                self.template,
                status=error.status,
                section=self.section,
                here=PATH,
                rows=rows,
                pager=self.dash.pager(req, {}, total, number, per_page),
                problem=self.dash.problem(error),
                filters={},
                event_types=EVENT_TYPES,
                form=form_values(form),
            )
            return
        self.dash.redirect(resp, f"{PATH}/{endpoint.id}", done="webhook_added")


class WebhookItem(DashboardPage):
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, webhook_id: str) -> None:
        caller = await self.dash.caller(req)
        await self.show(req, resp, caller, checked_id(webhook_id))

    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, webhook_id: str) -> None:
        caller = await self.dash.caller(req)
        form = await self.dash.form(req)
        webhook_id = checked_id(webhook_id)
        try:
            await self.rt.webhooks.update(caller, webhook_id, body_of(form, changing=True))
        except ApiError as error:
            if error.code == "not_found":
                raise
            await self.show(req, resp, caller, webhook_id, self.dash.problem(error), error.status, form)
            return
        self.dash.redirect(resp, f"{PATH}/{webhook_id}", done="webhook_changed")

    async def show(
        self,
        req: falcon.asgi.Request,
        resp: falcon.asgi.Response,
        caller: Caller,
        webhook_id: str,
        problem: Problem | None = None,
        status: int = 200,
        form: Mapping[str, Any] | None = None,
    ) -> None:
        endpoint = await self.rt.webhooks.get(caller, webhook_id)
        _, deliveries = await self.rt.webhooks.deliveries(caller, webhook_id, 1, LATEST_DELIVERIES)
        values = form_values(form)
        if form is None:
            values = {
                "url": endpoint.url,
                "scope": "all" if endpoint.events is None else "some",
                "events": list(endpoint.events or ()),
            }
        self.dash.render(
            req,
            resp,
            caller,
            "dashboard/webhook.html",
            status=status,
            section="webhooks",
            here=f"{PATH}/{webhook_id}",
            endpoint=endpoint,
            deliveries=deliveries,
            event_types=EVENT_TYPES,
            form=values,
            problem=problem,
        )


class Ping(DashboardPage):
    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, webhook_id: str) -> None:
        caller = await self.dash.caller(req)
        await self.dash.form(req)
        webhook_id = checked_id(webhook_id)
        await self.rt.webhooks.ping(caller, webhook_id)
        self.dash.redirect(resp, f"{PATH}/{webhook_id}", done="ping")


class Remove(DashboardPage):
    """Behind a confirmation: the first post shows what will go, the confirmed one removes it."""

    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, webhook_id: str) -> None:
        caller = await self.dash.caller(req)
        form = await self.dash.form(req)
        webhook_id = checked_id(webhook_id)
        if form.get("confirmed") != "yes":
            endpoint = await self.rt.webhooks.get(caller, webhook_id)
            self.dash.render(
                req,
                resp,
                caller,
                "dashboard/confirm.html",
                section="webhooks",
                here=f"{PATH}/{webhook_id}",
                question="dashboard.confirm_remove_webhook",
                detail=endpoint.url,
                action=f"{PATH}/{webhook_id}/remove",
                fields={},
                button="dashboard.remove",
                back=f"{PATH}/{webhook_id}",
            )
            return
        await self.rt.webhooks.delete(caller, webhook_id)
        self.dash.redirect(resp, PATH, done="webhook_removed")


def add_routes(app: falcon.asgi.App, dashboard: Dashboard) -> None:
    app.add_route(PATH, WebhookList(dashboard))
    app.add_route(PATH + "/{webhook_id}", WebhookItem(dashboard))
    app.add_route(PATH + "/{webhook_id}/ping", Ping(dashboard))
    app.add_route(PATH + "/{webhook_id}/remove", Remove(dashboard))
