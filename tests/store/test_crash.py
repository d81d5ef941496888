"""An acknowledged write survives SIGKILL, and no unit of work is ever half written (SQLite)."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path


def test_sigkill_loses_no_acknowledged_unit_and_leaves_none_half_written(tmp_path: Path):
    db = tmp_path / "crash.db"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.store.crash_writer", str(db)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    acked: list[int] = []

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("ack "):
                acked.append(int(line.split()[1]))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    deadline = time.monotonic() + 20
    while len(acked) < 2000 and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    reader.join(10)
    assert len(acked) >= 2000, "the writer acknowledged too little to mean anything"

    conn = sqlite3.connect(db)
    rows = conn.execute("SELECT unit, COUNT(*) FROM crash_parts GROUP BY unit").fetchall()
    conn.close()
    parts = dict(rows)
    assert not [unit for unit in acked if parts.get(unit) != 3], "acknowledged units were lost"
    assert all(count == 3 for count in parts.values()), "a unit of work was half written"
