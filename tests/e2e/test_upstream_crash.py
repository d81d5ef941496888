"""A gateway killed (SIGKILL) after the upstream made a refund but before the gateway recorded
it: on restart, recovery asks the upstream again with the same idempotency key, the upstream
replays its answer, and the refund is recorded once. The upstream sees one refund, never two.

Between the two servers, a proxy on 127.0.0.1 passes requests through but can hold the
upstream's answers, so the kill lands exactly between call and record.
"""

from __future__ import annotations

import contextlib
import secrets
import signal
import socket
import threading
import time
from typing import Any

import httpx

from tests.e2e.test_upstream_processor import CARD, new_order
from tests.support import ServerProcess, new_merchant


class HoldingProxy:
    """Forwards bytes both ways; while `holding`, the upstream's answers are kept back."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.holding = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            client, _ = self._listener.accept()
            upstream = socket.create_connection(self.target)
            threading.Thread(target=self._pipe, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, True), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, answers: bool) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                while answers and self.holding.is_set():
                    time.sleep(0.05)  # the answer is held back; the gateway waits for it
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


def start_gateway(database_url: str, proxy: HoldingProxy, upstream_key: str) -> ServerProcess:
    return ServerProcess.start(
        database_url,
        "sk_test_" + secrets.token_hex(16),
        "pk_test_" + secrets.token_hex(16),
        extra=["--live-processor", "komoju", "--live-processor-url", f"http://127.0.0.1:{proxy.port}"],
        env={
            "KOMOJU_LIVE_PROCESSOR_KEY": upstream_key,
            "KOMOJU_INTENT_LEASE": "1",  # recovery may ask again one second after a claim
            "KOMOJU_INTENT_RECOVERY_EVERY": "0.5",
        },
    )


def upstream_payment(upstream: ServerProcess, order: str) -> dict[str, Any]:
    with upstream.client(upstream.secret_key) as client:
        (found,) = client.get("/payments", params={"external_order_num": order}).json()["data"]
    return found


def test_a_refund_interrupted_by_sigkill_reaches_the_upstream_once_and_is_recorded_after_restart(tmp_path):
    upstream_key = "sk_test_" + secrets.token_hex(16)
    upstream = ServerProcess.start(f"sqlite:///{tmp_path / 'upstream.db'}", upstream_key, "pk_test_up")
    proxy = HoldingProxy(("127.0.0.1", int(upstream.url.rsplit(":", 1)[1])))
    gateway_db = f"sqlite:///{tmp_path / 'gateway.db'}"
    keys = new_merchant(gateway_db)
    gateway = start_gateway(gateway_db, proxy, upstream_key)
    try:
        order = new_order()
        with gateway.client(keys["live_secret_key"]) as live:
            body = {"amount": 1000, "currency": "JPY", "payment_details": CARD, "external_order_num": order}
            payment = live.post("/payments", json=body).json()
        assert payment["status"] == "captured"

        proxy.holding.set()
        refunding = threading.Thread(
            target=lambda: _quietly(gateway, keys, f"/payments/{payment['id']}/refund", {"amount": 300}), daemon=True
        )
        refunding.start()
        deadline = time.monotonic() + 20
        while not upstream_payment(upstream, order)["refunds"]:  # the upstream made it ...
            assert time.monotonic() < deadline, "the refund never reached the upstream"
            time.sleep(0.05)
        gateway.stop(signal.SIGKILL)  # ... and the gateway dies before hearing so
        proxy.holding.clear()

        gateway = start_gateway(gateway_db, proxy, upstream_key)
        with gateway.client(keys["live_secret_key"]) as live:
            deadline = time.monotonic() + 30
            while (ours := live.get(f"/payments/{payment['id']}").json())["amount_refunded"] == 0:
                assert time.monotonic() < deadline, "recovery never recorded the refund"
                time.sleep(0.2)
        theirs = upstream_payment(upstream, order)
        assert [r["amount"] for r in theirs["refunds"]] == [300]  # asked twice, refunded once
        assert (ours["amount_refunded"], theirs["amount_refunded"]) == (300, 300)
        assert [r["amount"] for r in ours["refunds"]] == [300]
        assert ours["status"] == theirs["status"] == "captured"
        with upstream.client(upstream.secret_key) as client:
            events = client.get("/events", params={"per_page": 100}).json()["data"]
        assert [e["type"] for e in events].count("payment.refund.created") == 1
    finally:
        gateway.stop()
        upstream.stop()


def _quietly(gateway: ServerProcess, keys: dict[str, str], path: str, body: dict[str, Any]) -> None:
    """A request whose server is killed under it: its client sees the connection end."""
    with contextlib.suppress(httpx.HTTPError), gateway.client(keys["live_secret_key"]) as live:
        live.post(path, json=body)
