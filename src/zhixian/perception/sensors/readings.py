"""Reading history: chart series at the resolution a range needs, retention, ingest counts, rule tests.

A chart never reads more than a few thousand points: up to a day comes from raw readings, up to ten
days from the 5-minute rollups, longer ranges from the hourly rollups — so a 30-day chart costs the
same whether the device stored ten thousand readings or ten million.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, delete, func, select
from sqlalchemy.orm import Session

from zhixian.clock import LOCAL_TZ, utcnow
from zhixian.errors import Invalid
from zhixian.perception.sensors import ingest
from zhixian.perception.sensors import rules as engine
from zhixian.perception.sensors import service as registry
from zhixian.perception.sensors.models import Device, IngestCount, Reading, Refusal, Rollup
from zhixian.perception.sensors.schemas import RuleIn, RuleTestHit, RuleTestResult, Series
from zhixian.platform.actor import Actor

RAW_MAX = timedelta(days=1)
FIVE_MAX = timedelta(days=10)
RANGE_MAX = timedelta(days=3 * 366)


def series(
    session: Session,
    *,
    actor: Actor,
    device_id: int,
    key: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> Series:
    device = registry.get_device(session, actor=actor, device_id=device_id)
    profile = registry.get_profile(session, device.profile_id)
    meta = {str(t["key"]): t for t in profile.telemetry}
    key = key or next(iter(meta), "")
    if key not in meta:
        raise Invalid(f"设备类型“{profile.name}”没有遥测项 {key}", field="key")
    end = end or utcnow()
    start = start or end - timedelta(hours=24)
    if start >= end:
        raise Invalid("开始时间须早于结束时间", field="start")
    if end - start > RANGE_MAX:
        raise Invalid("时间范围最长 3 年", field="start")
    span = end - start
    if span <= RAW_MAX:
        raw = session.execute(
            select(Reading.ts, Reading.value)
            .where(Reading.device_id == device.id, Reading.key == key, Reading.ts >= start, Reading.ts <= end)
            .order_by(Reading.ts)
            .limit(20_000)
        ).all()
        points = [(int(ts.timestamp() * 1000), v, v, v) for ts, v in raw]
        resolution = "raw"
    else:
        seconds = 300 if span <= FIVE_MAX else 3600
        rolled = session.execute(
            select(Rollup.bucket, Rollup.n, Rollup.total, Rollup.vmin, Rollup.vmax)
            .where(
                Rollup.device_id == device.id,
                Rollup.key == key,
                Rollup.seconds == seconds,
                Rollup.bucket >= start - timedelta(seconds=seconds),
                Rollup.bucket <= end,
            )
            .order_by(Rollup.bucket)
        ).all()
        points = [(int(b.timestamp() * 1000), round(t / n, 4), lo, hi) for b, n, t, lo, hi in rolled if n]
        resolution = "5m" if seconds == 300 else "1h"
    return Series(
        device_id=device.id,
        key=key,
        name=str(meta[key].get("name", key)),
        unit=str(meta[key].get("unit", "")),
        resolution=resolution,
        start=start,
        end=end,
        points=points,
    )


def _deleted(session: Session, stmt: Any) -> int:
    result: CursorResult[Any] = session.execute(stmt)  # type: ignore[assignment]  # a DELETE gives a cursor result
    return int(result.rowcount or 0)


def purge(
    session: Session, *, raw_days: int, five_days: int, hour_days: int, now: datetime | None = None
) -> dict[str, int]:
    """Retention: raw readings, then each rollup, older than their setting are deleted.

    At most one day of raw readings goes per run (the oldest), so a first run over a large backlog does
    not hold the database for long; the hourly job catches up a day at a time.
    """
    now = now or utcnow()
    cutoff = now - timedelta(days=raw_days)
    oldest = session.execute(select(func.min(Reading.ts)).where(Reading.ts < cutoff)).scalar()
    done = {"raw": 0}
    if oldest is not None:
        done["raw"] = _deleted(session, delete(Reading).where(Reading.ts < min(cutoff, oldest + timedelta(days=1))))
    for seconds, days, name in ((300, five_days, "5m"), (3600, hour_days, "1h")):
        stmt = delete(Rollup).where(Rollup.seconds == seconds, Rollup.bucket < now - timedelta(days=days))
        done[name] = _deleted(session, stmt)
    keep = session.execute(select(Refusal.id).order_by(Refusal.id.desc()).offset(5000).limit(1)).scalar()
    done["refusals"] = _deleted(session, delete(Refusal).where(Refusal.id <= keep)) if keep else 0
    return done


def ingest_stats(session: Session, *, actor: Actor, days: int = 7) -> dict[str, Any]:
    """Accepted and refused readings per day and outcome, and the newest refusal samples (for integrators)."""
    actor.require("perception.device.manage")
    since = (utcnow().astimezone(LOCAL_TZ).date() - timedelta(days=days - 1)).isoformat()
    table: dict[str, dict[str, int]] = defaultdict(dict)
    for day, channel, outcome, n in session.execute(
        select(IngestCount.day, IngestCount.channel, IngestCount.outcome, IngestCount.n).where(IngestCount.day >= since)
    ):
        table[day][f"{channel}:{outcome}"] = int(n)
    scope = registry.sees_all(actor)
    stmt = select(Refusal).order_by(Refusal.id.desc()).limit(50)
    if not scope:
        mine = select(Device.id).where(registry.device_scope(actor))
        stmt = stmt.where(Refusal.device_id.in_(mine))
    samples = [
        {
            "at": r.at,
            "channel": r.channel,
            "reason": r.reason,
            "label": ingest.REASONS.get(r.reason, r.reason),
            "device_code": r.device_code,
            "detail": r.detail,
        }
        for r in session.execute(stmt).scalars()
    ]
    totals: dict[str, int] = defaultdict(int)
    for row in table.values():
        for k, n in row.items():
            totals[k.split(":", 1)[1]] += n
    return {
        "days": dict(sorted(table.items(), reverse=True)),
        "totals": dict(totals),
        "samples": samples,
        "labels": ingest.OUTCOMES,
        "channels": ingest.CHANNELS,
    }


def try_rule(
    session: Session, *, actor: Actor, profile_id: int, data: RuleIn, device_id: int | None = None, hours: int = 24
) -> RuleTestResult:
    """Runs a draft rule over the recent readings of the profile's devices: what it would have raised and cleared."""
    actor.require("perception.profile.manage")
    profile = registry.get_profile(session, profile_id)
    params = engine.check(data.kind, data.key, data.params, {str(t["key"]): t for t in profile.telemetry})
    if data.kind == "offline":
        raise Invalid("离线规则按无数据时长判断，无法用历史读数试算", field="kind")
    spec = engine.RuleSpec(code=data.code, name=data.name, kind=data.kind, key=data.key, params=params)
    stmt = select(Device).where(registry.device_scope(actor), Device.profile_id == profile.id).order_by(Device.code)
    if device_id:
        stmt = stmt.where(Device.id == device_id)
    devices = session.execute(stmt.limit(200)).scalars().all()
    since = utcnow() - timedelta(hours=hours)
    hits: list[RuleTestHit] = []
    readings = 0
    unit = registry.units(profile).get(data.key, "")
    for device in devices:
        state: dict[str, Any] = {}
        rows = session.execute(
            select(Reading.ts, Reading.value)
            .where(Reading.device_id == device.id, Reading.key == data.key, Reading.ts >= since)
            .order_by(Reading.ts)
            .limit(50_000)
        ).all()
        readings += len(rows)
        for ts, value in rows:
            effect = engine.evaluate(spec, state, ts, value, unit)
            if effect is not None and len(hits) < 500:
                hits.append(
                    RuleTestHit(
                        device_id=device.id,
                        device_code=device.code,
                        at=ts,
                        action=effect.action,
                        severity=effect.severity,
                        level=effect.colour,
                        value=effect.value,
                        message=effect.message,
                    )
                )
    return RuleTestResult(devices=len(devices), readings=readings, hits=hits, truncated=len(hits) >= 500)


def latest_count(session: Session, device_id: int) -> int:
    return int(
        session.execute(select(func.count()).select_from(Reading).where(Reading.device_id == device_id)).scalar_one()
    )
