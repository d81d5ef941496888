"""The 3-D Secure authentication page: where a secure token's `authentication_url` leads.

`GET /three_d_secure/tok_...`: a card that needs a challenge shows the shop, the amount, the
card's last four digits and a password field (in test mode, the label says which test password
does what); a frictionless card is decided on the spot and the customer goes straight back to
the merchant, as does a token already decided. `POST` (the form, with its CSRF token) answers
the challenge, or cancels it: the token becomes OK or ERRORED, and the customer goes back to
the token's `return_url` with `secure_token_id` added, as KOMOJU sends them.
"""

from __future__ import annotations

import falcon.asgi

from komoju_server.domain import secure_token
from komoju_server.domain.params import object_id
from komoju_server.domain.secure_token import SecureToken
from komoju_server.pages.render import PageError, Pages
from komoju_server.processors.test_inputs import THREE_D_SECURE_FAILING_PASSWORD, THREE_D_SECURE_PASSWORD
from komoju_server.runtime import Runtime
from komoju_server.services.secure_tokens import PAGE_PATH
from komoju_server.services.tokens import PREFIX

PASSWORD_FIELD = "password"
ACTION_FIELD = "action"
CANCEL = "cancel"
MAX_PASSWORD = 64


class Authentication:
    access = None  # no API key: the token's unguessable id is the page's key
    page = True

    def __init__(self, runtime: Runtime, pages: Pages) -> None:
        self._tokens = runtime.secure_tokens
        self._pages = pages

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, token_id: str) -> None:
        challenge = await self._tokens.visit(_token_id(token_id))
        if challenge is None:
            raise PageError(404)
        token = challenge.token
        if token.status != secure_token.NEEDS_VERIFY:
            self._back(resp, token)
            return
        self._pages.render(
            req,
            resp,
            "three_d_secure.html",
            self._pages.locale(req),
            token=token,
            merchant=challenge.merchant_name,
            test_mode=token.mode == "test",
            passing_password=THREE_D_SECURE_PASSWORD,
            failing_password=THREE_D_SECURE_FAILING_PASSWORD,
        )

    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, token_id: str) -> None:
        token_id = _token_id(token_id)
        form = await self._pages.form(req)
        if form.get(ACTION_FIELD) == CANCEL:
            token = await self._tokens.cancel(token_id)
        else:
            password = form.get(PASSWORD_FIELD)
            typed = password[:MAX_PASSWORD] if isinstance(password, str) else ""
            token = await self._tokens.answer(token_id, typed)
        if token is None:
            raise PageError(404)
        self._back(resp, token)

    def _back(self, resp: falcon.asgi.Response, token: SecureToken) -> None:
        """Back to the merchant: the return_url it gave for this token, never one from the request."""
        self._pages.redirect(resp, token.return_location())


def _token_id(path_id: str) -> str:
    """A secure token's id (`tok_` and our letters and digits), or the page is not found."""
    if not path_id.startswith(PREFIX) or not object_id(path_id.removeprefix(PREFIX)):
        raise PageError(404)
    return path_id


def add_routes(app: falcon.asgi.App, runtime: Runtime, pages: Pages) -> None:
    app.add_route(f"{PAGE_PATH}/{{token_id}}", Authentication(runtime, pages))
