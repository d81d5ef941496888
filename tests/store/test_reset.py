"""The tables a sandbox reset erases and keeps, checked against the migrated schema: a new
table must be erased or declared kept (with a reason), or this fails."""

from __future__ import annotations

import re

from komoju_server.store import Store, Write
from komoju_server.store.reset import ERASED, KEPT
from tests.support import with_store

_DELETE_FROM = re.compile(r"\bDELETE\s+FROM\s+(\w+)", re.IGNORECASE)


async def _schema_tables(store: Store) -> set[str]:
    rows = await store.fetch_all("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    return {str(row[0]) for row in rows}


def _erased_by(name: str) -> set[str]:
    """The tables whose rows an eraser's statements delete."""
    return {table for write in ERASED[name]("merchant1", "test") for table in _DELETE_FROM.findall(write.sql)}


def _all_erased() -> set[str]:
    return set().union(*(_erased_by(name) for name in ERASED))


def test_every_table_is_erased_by_a_reset_or_kept_for_a_reason(sqlite_url):
    async def scenario(store: Store) -> None:
        tables = await _schema_tables(store)
        erased = _all_erased()
        unlisted = tables - erased - set(KEPT)
        assert not unlisted, (
            f"tables neither erased by a sandbox reset nor kept: {sorted(unlisted)}; add an eraser to "
            "store/reset.ERASED (the table holds a merchant's test data) or a reason to store/reset.KEPT"
        )
        assert not erased & set(KEPT), f"both erased and kept: {sorted(erased & set(KEPT))}"
        assert set(KEPT) <= tables, f"kept tables the schema does not have: {sorted(set(KEPT) - tables)}"
        assert erased <= tables, f"erased tables the schema does not have: {sorted(erased - tables)}"

    with_store(sqlite_url, scenario)


def test_every_kept_table_says_why():
    for table, reason in KEPT.items():
        assert len(reason.split()) >= 3, table


def test_each_eraser_is_named_for_the_table_it_erases():
    """The reset answers how many rows each name lost: the name must be that table."""
    for name in ERASED:
        assert name in _erased_by(name), name


def test_the_reset_unit_runs_on_the_migrated_schema_and_spares_other_merchants(sqlite_url):
    async def scenario(store: Store) -> None:
        # Every statement is valid on this schema: on an empty database nothing is erased.
        assert sum(await store.run([w for erase in ERASED.values() for w in erase("nobody", "test")])) == 0
        # Another merchant's rows, and the other mode's, survive: erasers are scoped to both.
        await store.run(
            [
                _token_row("tok_mine_test", "merchant1", "test"),
                _token_row("tok_mine_live", "merchant1", "live"),
                _token_row("tok_theirs", "merchant2", "test"),
            ]
        )
        counts = await store.run([w for erase in ERASED.values() for w in erase("merchant1", "test")])
        assert sum(counts) == 1
        left = await store.fetch_all("SELECT id FROM tokens ORDER BY id")
        assert [row[0] for row in left] == ["tok_mine_live", "tok_theirs"]

    with_store(sqlite_url, scenario)


def _token_row(token_id: str, merchant_id: str, mode: str) -> Write:
    return Write(
        "INSERT INTO tokens (id, merchant_id, mode, created_at, expires_at, doc) VALUES (?, ?, ?, 0, 1, '{}')",
        (token_id, merchant_id, mode),
    )
