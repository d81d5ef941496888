"""A program that writes through the SQLite store as fast as it can and says which units were
acknowledged, one line each, until it is killed. Used by test_crash.py."""

from __future__ import annotations

import asyncio
import sys

from komoju_server.store import Write
from komoju_server.store.sqlite import SqliteStore

TABLE = (
    "CREATE TABLE IF NOT EXISTS crash_parts (unit INTEGER NOT NULL, part INTEGER NOT NULL, PRIMARY KEY (unit, part))"
)


async def writer(store: SqliteStore, first: int, step: int) -> None:
    unit = first
    while True:
        # Three rows per unit: a half-written unit would show one or two of them.
        await store.run(
            [Write("INSERT INTO crash_parts (unit, part) VALUES (?, ?)", (unit, part), expect=1) for part in range(3)]
        )
        sys.stdout.write(f"ack {unit}\n")
        sys.stdout.flush()
        unit += step


async def main(path: str) -> None:
    store = SqliteStore(path)
    await store.migrate()
    await store.open()
    await store.run([Write(TABLE)])
    print("ready", flush=True)
    tasks = 16
    await asyncio.gather(*(writer(store, n, tasks) for n in range(tasks)))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
