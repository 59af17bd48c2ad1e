"""The 30-day chart check of ``perception_ingest.py``: many readings filled straight into the tables, then
one device's chart timed. A helper of that script (run it with ``--skip-ingest`` for this check alone).
"""

from __future__ import annotations

import statistics
import time
from datetime import datetime, timedelta

from sqlalchemy import func, select, text

from zhixian.clock import utcnow
from zhixian.perception.sensors import readings, store
from zhixian.perception.sensors.models import Device, Reading
from zhixian.platform.actor import COUNTY_SCOPE, system_actor

ACTOR = system_actor(frozenset({COUNTY_SCOPE, "perception.view"}))

FILL_SQLITE = """
WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i < :n - 1),
devices(id) AS (SELECT id FROM ps_device WHERE code >= 'B-' AND code < 'B-' || printf('%05d', :devices))
INSERT INTO ps_reading (device_id, key, ts, value)
SELECT devices.id, 'v',
       strftime('%Y-%m-%d %H:%M:%S', (:start_us + seq.i * :step_us) / 1000000, 'unixepoch')
         || printf('.%06d', (:start_us + seq.i * :step_us) % 1000000),
       50 + 20 * ((seq.i * 7 + devices.id) % 1000) / 1000.0
FROM devices, seq
"""
FILL_PG = """
INSERT INTO ps_reading (device_id, key, ts, value)
SELECT d.id, 'v', to_timestamp((CAST(:start_us AS bigint) + i * CAST(:step_us AS bigint)) / 1e6), 50 + 20 * ((i * 7 + d.id) % 1000) / 1000.0
FROM (SELECT id FROM ps_device WHERE code >= 'B-' AND code < 'B-' || lpad(CAST(:devices AS text), 5, '0') ORDER BY id) d,
     generate_series(0, :n - 1) i
"""
ROLL_SQLITE = """
INSERT INTO ps_rollup (device_id, key, seconds, bucket, n, total, vmin, vmax)
SELECT device_id, key, :s, strftime('%Y-%m-%d %H:%M:%S', unixepoch(ts) / :s * :s, 'unixepoch') || '.000000',
       count(*), sum(value), min(value), max(value)
FROM ps_reading WHERE device_id IN (SELECT id FROM ps_device WHERE code >= 'B-') AND ts < :end GROUP BY 1, 2, 4
"""
ROLL_PG = """
INSERT INTO ps_rollup (device_id, key, seconds, bucket, n, total, vmin, vmax)
SELECT device_id, key, :s, to_timestamp(floor(extract(epoch FROM ts) / :s) * :s),
       count(*), sum(value), min(value), max(value)
FROM ps_reading WHERE device_id IN (SELECT id FROM ps_device WHERE code >= 'B-') AND ts < :end GROUP BY 1, 2, 4
"""


def fill_readings(node, total: int, devices: int) -> tuple[datetime, datetime, float]:
    """``total`` readings of key ``v`` for the first ``devices`` bench devices, evenly over the last 30 days.

    Straight into the tables, not through ingest (10M readings through MQTT would take the whole run):
    the database generates the rows itself (SQLite: a recursive CTE, PostgreSQL: generate_series), then
    the 5-minute and hourly rollups are computed from them with one INSERT … SELECT … GROUP BY each —
    the same count/sum/min/max ingest keeps per bucket. The 30 days end at the last full hour but one, so
    no bucket is shared with what the ingest phases stored (the last half hour). Returns (start, end, seconds).
    """
    end = utcnow().replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    start = end - timedelta(days=30)
    per_device = total // devices
    step_us = int((end - start).total_seconds() * 1e6) // per_device
    start_us = int(start.timestamp()) * 1_000_000
    pg = node.db.dialect == "postgresql"
    t0 = time.perf_counter()
    with node.db.engine.begin() as conn:
        params = {"n": per_device, "devices": devices, "start_us": start_us, "step_us": step_us}
        conn.execute(text(FILL_PG if pg else FILL_SQLITE), params)
        for seconds in store.ROLLUPS:
            until = end if pg else store.sqlite_ts(end)
            conn.execute(text(ROLL_PG if pg else ROLL_SQLITE), {"s": seconds, "end": until})
    if pg:
        with node.db.engine.connect() as conn:
            conn.execute(text("ANALYZE ps_reading"))
            conn.execute(text("ANALYZE ps_rollup"))
            conn.commit()
    return start, end, time.perf_counter() - t0


def run_chart(node, total: int, devices: int, runs: int = 50) -> dict[str, float]:
    """Fills ``total`` readings over 30 days for ``devices`` bench devices, then times one device's 30-day chart."""
    _, _, load_s = fill_readings(node, total, devices)
    now = utcnow()
    start = now - timedelta(days=30)
    with node.db.engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(Reading)).scalar_one()
        device_id = conn.execute(select(Device.id).where(Device.code == "B-00000")).scalar_one()
        own = conn.execute(select(func.count()).select_from(Reading).where(Reading.device_id == device_id)).scalar_one()
    times = []
    points = 0
    for _ in range(runs + 1):  # the first call (statement compilation, cold cache) is not counted
        with node.db.transaction() as session:
            t1 = time.perf_counter()
            s = readings.series(session, actor=ACTOR, device_id=device_id, key="v", start=start, end=now)
            times.append(time.perf_counter() - t1)
            points = len(s.points)
    times = times[1:]
    # the same chart without rollups: hourly averages computed from the raw readings (one run)
    t2 = time.perf_counter()
    with node.db.engine.connect() as conn:
        bucket = (
            func.strftime("%Y-%m-%d %H", Reading.ts)
            if node.db.dialect == "sqlite"
            else func.date_trunc("hour", Reading.ts)
        )
        raw = conn.execute(
            select(bucket, func.avg(Reading.value), func.min(Reading.value), func.max(Reading.value))
            .where(Reading.device_id == device_id, Reading.key == "v", Reading.ts >= start)
            .group_by(bucket)
        ).all()
    raw_s = time.perf_counter() - t2
    q = statistics.quantiles(times, n=100, method="inclusive")
    return {
        "load_s": load_s,
        "p50_ms": statistics.median(times) * 1000,
        "p99_ms": q[98] * 1000,
        "max_ms": max(times) * 1000,
        "points": points,
        "raw_ms": raw_s * 1000,
        "raw_points": len(raw),
        "stored": stored,
        "own": own,
        "devices": devices,
        "runs": runs,
    }
