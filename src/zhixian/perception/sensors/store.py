"""Bulk writes of ingest: readings and their rollups, one statement per batch on the driver's fast path.

The ORM/Core bind processing of a column (the UTC type decorator, SQLite's datetime formatting) costs
more per row than the database does, so these statements go to the driver as plain values:
PostgreSQL gets one ``INSERT … SELECT FROM unnest(arrays)`` per batch (four or eight array parameters,
however many rows), SQLite one ``executemany`` with timestamps already in SQLAlchemy's storage format
(``YYYY-MM-DD HH:MM:SS.ffffff``, naive UTC), so rows written here and through the ORM compare equal.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

ROLLUPS = (300, 3600)

_PG_READINGS = (
    "INSERT INTO ps_reading (device_id, key, ts, value) "
    "SELECT * FROM unnest(%s::integer[], %s::varchar[], %s::timestamptz[], %s::double precision[]) "
    "ON CONFLICT DO NOTHING"
)
_SQLITE_READINGS = "INSERT INTO ps_reading (device_id, key, ts, value) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING"
_PG_ROLLUPS = (
    "INSERT INTO ps_rollup (device_id, key, seconds, bucket, n, total, vmin, vmax) "
    "SELECT * FROM unnest(%s::integer[], %s::varchar[], %s::integer[], %s::timestamptz[], %s::integer[], "
    "%s::double precision[], %s::double precision[], %s::double precision[]) "
    "ON CONFLICT (device_id, key, seconds, bucket) DO UPDATE SET n = ps_rollup.n + excluded.n, "
    "total = ps_rollup.total + excluded.total, vmin = least(ps_rollup.vmin, excluded.vmin), "
    "vmax = greatest(ps_rollup.vmax, excluded.vmax)"
)
_SQLITE_ROLLUPS = (
    "INSERT INTO ps_rollup (device_id, key, seconds, bucket, n, total, vmin, vmax) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (device_id, key, seconds, bucket) DO UPDATE SET n = n + excluded.n, total = total + excluded.total, "
    "vmin = min(vmin, excluded.vmin), vmax = max(vmax, excluded.vmax)"
)

Row = tuple[int, str, datetime, float]
"""(device id, key, ts, value): one reading as ingest holds it."""


def sqlite_ts(ts: datetime) -> str:
    """A UTC instant as SQLAlchemy stores it in SQLite (naive, microseconds always written)."""
    if ts.tzinfo is UTC:  # what ingest parses: one C call, the "+00:00" cut off
        return ts.isoformat(" ", "microseconds")[:26]
    return ts.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


# PostgreSQL array literals built with one join each: psycopg's array dumper calls a Python function per
# element, which cost more than the server's insert of the row.


def _ints(items: Iterable[int]) -> str:
    return "{" + ",".join(map(str, items)) + "}"


def _floats(items: Iterable[float]) -> str:
    return "{" + ",".join(map(repr, items)) + "}"


def _memoised(items: Iterable[Any], render: Callable[[Any], str]) -> str:
    """An array literal of ``render(item)``, each distinct item rendered once (keys and times repeat)."""
    seen: dict[Any, str] = {}
    out = []
    for item in items:
        text = seen.get(item)
        if text is None:
            text = seen[item] = render(item)
        out.append(text)
    return "{" + ",".join(out) + "}"


def _texts(items: Iterable[str]) -> str:
    return _memoised(items, lambda item: '"' + item.replace("\\", "\\\\").replace('"', '\\"') + '"')


def _stamps(items: Iterable[datetime]) -> str:
    """ISO 8601 with 'T' and the offset: no character an array literal would need quoted."""
    return _memoised(items, datetime.isoformat)


def insert_readings(conn: Connection, rows: Sequence[Row]) -> None:
    """New readings in one statement; one already stored (same device, key and time) is left as it is."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        ids, keys, stamps, values = zip(*rows, strict=True)
        conn.exec_driver_sql(_PG_READINGS, (_ints(ids), _texts(keys), _stamps(stamps), _floats(values)))
        return
    stamp: dict[datetime, str] = {}
    params = []
    for device_id, key, ts, value in rows:
        text = stamp.get(ts)
        if text is None:
            text = stamp[ts] = sqlite_ts(ts)
        params.append((device_id, key, text, value))
    conn.exec_driver_sql(_SQLITE_READINGS, params)


def roll_up(conn: Connection, rows: Iterable[Row]) -> None:
    """Adds readings to their 5-minute and hourly rollups: aggregated here, then one upsert per batch."""
    agg: dict[tuple[int, str, int, int], list[float]] = {}
    epochs: dict[datetime, int] = {}
    for device_id, key, ts, value in rows:
        epoch = epochs.get(ts)
        if epoch is None:
            epoch = epochs[ts] = int(ts.timestamp() // 1)
        for seconds in ROLLUPS:
            cell_key = (device_id, key, seconds, epoch - epoch % seconds)
            cell = agg.get(cell_key)
            if cell is None:
                agg[cell_key] = [1, value, value, value]
            else:
                cell[0] += 1
                cell[1] += value
                cell[2] = min(cell[2], value)
                cell[3] = max(cell[3], value)
    if not agg:
        return
    buckets = {b: datetime.fromtimestamp(b, UTC) for b in {k[3] for k in agg}}
    if conn.dialect.name == "postgresql":
        d, k, s, b = zip(*agg, strict=True)
        n, total, lo, hi = zip(*agg.values(), strict=True)
        params = (_ints(d), _texts(k), _ints(s), _stamps([buckets[x] for x in b]), _ints(int(x) for x in n))
        conn.exec_driver_sql(_PG_ROLLUPS, (*params, _floats(total), _floats(lo), _floats(hi)))
        return
    texts = {b: sqlite_ts(ts) for b, ts in buckets.items()}
    conn.exec_driver_sql(
        _SQLITE_ROLLUPS,
        [(d, k, s, texts[b], int(c[0]), c[1], c[2], c[3]) for (d, k, s, b), c in agg.items()],
    )
