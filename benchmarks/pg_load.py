"""Copy the benchmark's generated SQLite database into a PostgreSQL database, for `--backend postgres`.

The PostgreSQL schema comes from the bot itself (`fibrocircle migrate` with FIBRO_DATABASE_URL); this
empties its tables and fills every one that the SQLite file also has, column by column (the columns
both have, generated ones left to PostgreSQL), parents before children, then moves each id sequence
past the highest id copied and runs ANALYZE. Values are converted to the PostgreSQL column's type
(ISO-8601 text to a timestamp, 0/1 to a boolean, text to bytes) where the two differ.
"""

from __future__ import annotations

import sqlite3
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Callable

BATCH = 20_000
SKIPPED = {"schema_migrations"}  # each backend keeps its own record of its own migrations


async def copy_into(sqlite_path: Path, url: str) -> dict[str, int]:
    """Rows copied per table."""
    import asyncpg

    source = sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True)
    conn = await asyncpg.connect(url)
    copied: dict[str, int] = {}
    try:
        pg_tables = await _tables(conn)
        lite_tables = {r[0] for r in source.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        tables = [t for t in _parents_first(pg_tables, await _references(conn)) if t not in SKIPPED]
        if tables:
            await conn.execute("TRUNCATE " + ", ".join(_q(t) for t in tables) + " RESTART IDENTITY CASCADE")
        for table in tables:
            if table not in lite_tables:
                continue
            lite_columns = [r[1] for r in source.execute(f"PRAGMA table_info({_q(table)})")]
            columns = [(name, kind) for name, kind in pg_tables[table] if name in lite_columns]
            if not columns:
                continue
            names = [name for name, _ in columns]
            convert = [_converter(kind) for _, kind in columns]
            cursor = source.execute(f"SELECT {', '.join(_q(n) for n in names)} FROM {_q(table)}")
            total = 0
            while True:
                rows = cursor.fetchmany(BATCH)
                if not rows:
                    break
                records = [tuple(c(v) for c, v in zip(convert, row)) for row in rows]
                await conn.copy_records_to_table(table, records=records, columns=names)
                total += len(records)
            copied[table] = total
        for table, column, sequence in await conn.fetch(
                "SELECT c.table_name, c.column_name, pg_get_serial_sequence(quote_ident(c.table_name), c.column_name) AS seq"
                " FROM information_schema.columns c WHERE c.table_schema = current_schema()"):
            if sequence and table in copied:
                await conn.execute(f"SELECT setval('{sequence}', GREATEST((SELECT MAX({_q(column)}) FROM {_q(table)}), 1))")
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
        source.close()
    return copied


async def _tables(conn) -> dict[str, list[tuple[str, str]]]:
    """Each ordinary table's writable columns with their types."""
    rows = await conn.fetch(
        "SELECT c.table_name, c.column_name, c.data_type FROM information_schema.columns c"
        " JOIN information_schema.tables t ON t.table_name = c.table_name AND t.table_schema = c.table_schema"
        " WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'"
        " AND c.is_generated = 'NEVER' ORDER BY c.table_name, c.ordinal_position")
    tables: dict[str, list[tuple[str, str]]] = {}
    for row in rows:
        tables.setdefault(row["table_name"], []).append((row["column_name"], row["data_type"]))
    return tables


async def _references(conn) -> list[tuple[str, str]]:
    """(child, parent) for every foreign key between two tables of the schema."""
    rows = await conn.fetch(
        "SELECT cl.relname AS child, pa.relname AS parent FROM pg_constraint k"
        " JOIN pg_class cl ON cl.oid = k.conrelid JOIN pg_class pa ON pa.oid = k.confrelid"
        " WHERE k.contype = 'f' AND cl.relnamespace = current_schema()::regnamespace")
    return [(r["child"], r["parent"]) for r in rows]


def _parents_first(tables: dict[str, Any], references: list[tuple[str, str]]) -> list[str]:
    order: list[str] = []
    seen: set[str] = set()

    def visit(table: str, path: tuple[str, ...]) -> None:
        if table in seen or table in path:
            return
        for child, parent in references:
            if child == table and parent != table and parent in tables:
                visit(parent, path + (table,))
        seen.add(table)
        order.append(table)

    for table in sorted(tables):
        visit(table, ())
    return order


def _converter(kind: str) -> Callable[[Any], Any]:
    if kind.startswith("timestamp"):
        return _timestamp
    if kind == "date":
        return lambda v: v if v is None or isinstance(v, date) else date.fromisoformat(str(v)[:10])
    if kind == "boolean":
        return lambda v: v if v is None else bool(v)
    if kind in ("bigint", "integer", "smallint"):
        return lambda v: v if v is None else int(v)
    if kind in ("double precision", "real", "numeric"):
        return lambda v: v if v is None else float(v)
    if kind == "bytea":
        return lambda v: v if v is None or isinstance(v, bytes) else str(v).encode()
    if kind in ("text", "character varying"):
        return lambda v: v if v is None or isinstance(v, str) else (v.hex() if isinstance(v, bytes) else str(v))
    return lambda v: v


def _timestamp(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
