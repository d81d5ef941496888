"""Peers measured in the same run (`bench/run --peer localstripe`): what a Python developer
would otherwise run locally, against the same baseline, so that the README can say how far
ahead the project is with numbers of the same machine and hour.

localstripe comes from PyPI into a venv of its own (`.cache/bench-peers/localstripe`), never
into the project's: it is no dependency of komoju-server.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bench.processes import Server
from bench.scenarios import Endpoint

ROOT = Path(__file__).resolve().parent.parent
LOCALSTRIPE_VERSION = "1.15.10"
VENV = ROOT / ".cache" / "bench-peers" / "localstripe"

# Stripe's nearest call to POST /api/v1/payments: a payment intent of 1,000 yen.
LOCALSTRIPE = Endpoint(
    f"peer: localstripe {LOCALSTRIPE_VERSION}, POST /v1/payment_intents",
    "POST",
    "/v1/payment_intents",
    body="amount=1000&currency=jpy",
)


def localstripe_python() -> Path:
    """The Python of a venv with localstripe, made on first use."""
    python = VENV / "bin" / "python"
    probe = [
        str(python),
        "-c",
        f"import importlib.metadata as m; assert m.version('localstripe') == '{LOCALSTRIPE_VERSION}'",
    ]
    if python.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return python
    print(f"bench: installing localstripe {LOCALSTRIPE_VERSION} from PyPI into {VENV}", file=sys.stderr, flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", f"localstripe=={LOCALSTRIPE_VERSION}"], check=True)
    return python


def start_localstripe(workdir: Path, cpu: int | None) -> Server:
    argv = [
        str(localstripe_python()),
        str(Path(__file__).with_name("localstripe_peer.py")),
        str(workdir / "localstripe.pickle"),
    ]
    return Server.start("localstripe", argv, cpu, health="/_config/health")
