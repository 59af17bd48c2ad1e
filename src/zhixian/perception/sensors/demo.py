"""Demo seed: the standard profiles, about fifty devices in the demo county's grids, and recent history.

History goes through the real ingest (validation, rollups, rules) hour by hour, so the alarms it leaves
are the ones the rules would have raised: yesterday's storm flooded the low points and cleared again.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import shapely
from sqlalchemy import select
from sqlalchemy.orm import Session

from zhixian.citymgmt import service as citymgmt
from zhixian.clock import utcnow
from zhixian.perception.sensors import catalogue, ingest, simulate
from zhixian.perception.sensors import service as registry
from zhixian.perception.sensors.models import Device, DeviceState, Profile, Rule
from zhixian.perception.settings import DEMO_HISTORY_HOURS, DEMO_STEP_MINUTES
from zhixian.platform import service as platform

# (profile, count, owner department, where: "component" | "urban" | "any")
PLAN = (
    ("manhole", 10, "zjj", "component"),
    ("water", 8, "zjj", "urban"),
    ("gas", 6, "yjj", "urban"),
    ("toxic", 4, "sthj", "urban"),
    ("smoke", 8, "yjj", "urban"),
    ("noise", 5, "sthj", "urban"),
    ("pm25", 5, "sthj", "any"),
)


def seed_profiles(session: Session) -> dict[str, Profile]:
    """The standard profiles and their rules (kept as edited when they exist)."""
    out = {}
    for spec in catalogue.PROFILES:
        profile = session.execute(select(Profile).where(Profile.code == spec["code"])).scalar_one_or_none()
        if profile is None:
            profile = Profile(**{k: v for k, v in spec.items() if k != "rules"})
            session.add(profile)
            session.flush()
            for r in spec["rules"]:
                session.add(Rule(profile_id=profile.id, **r))
        out[profile.code] = profile
    session.flush()
    return out


def _spots(session: Session, rng: Any, where: str, n: int, taken: set[str]) -> list[tuple[float, float, str | None]]:
    grids = citymgmt.grid_outlines(session)
    urban = [g for g in grids if g[0][9] == "0"]
    pool = urban if where == "urban" and urban else grids
    out: list[tuple[float, float, str | None]] = []
    for code, wkt in rng.sample(pool, min(len(pool), n * 3)):
        if code in taken:
            continue
        p = shapely.from_wkt(wkt).representative_point()
        out.append((p.x, p.y, None))
        taken.add(code)
        if len(out) == n:
            break
    return out


def seed(session: Session, ctx: Any) -> None:
    citymgmt.add_case_classes(session, catalogue.CATEGORIES)
    profiles = seed_profiles(session)
    if session.execute(select(Device.id).limit(1)).first() is not None:
        return
    rng = ctx.rng("perception-devices")
    depts = {d.code: d for d in platform.list_departments(session)}
    covers = citymgmt.components(session, class_codes=["B0102", "B0103", "B0101", "B0106"], limit=200)
    taken: set[str] = set()
    devices: list[tuple[str, str]] = []
    now = utcnow()
    for profile_code, count, dept_code, where in PLAN:
        if where == "component":
            chosen = rng.sample(covers, min(count, len(covers)))
            spots = [(c.lon, c.lat, c.code) for c in chosen]
        else:
            spots = _spots(session, rng, where, count, taken)
        dept = depts[dept_code]
        profile = profiles[profile_code]
        for i, (lon, lat, component) in enumerate(spots, start=1):
            code = f"{simulate.DEMO_PREFIX[profile_code]}-{i:04d}"
            where_ = citymgmt.locate(session, lon, lat)
            place = ctx.county.division(where_.community_code).name if where_.community_code else ""
            device = Device(
                code=code,
                name=f"{profile.name}{i:02d}",
                profile_id=profile.id,
                department_id=dept.id,
                department_path=dept.path,
                address=f"{place}{profile.name}点位{i}",
                lon=lon,
                lat=lat,
                grid_code=where_.grid_code,
                community_code=where_.community_code,
                street_code=where_.street_code,
                component_code=component,
                secret_hash=registry.hash_secret(simulate.demo_secret(ctx.settings, code)),
                note="演示设备：密钥由节点密钥派生，供模拟器使用",
                created_at=now - timedelta(days=30),
            )
            session.add(device)
            session.flush()
            session.add(DeviceState(device_id=device.id, values={}, rules={}))
            devices.append((code, profile_code))
    session.flush()
    hours = ctx.settings.declared(DEMO_HISTORY_HOURS)
    if hours:
        stored = history(
            session,
            ctx.settings,
            devices,
            hours=hours,
            step=timedelta(minutes=ctx.settings.declared(DEMO_STEP_MINUTES)),
        )
        ctx.notes.append(f"城市感知：{len(devices)} 台传感器，{stored} 条历史读数")


def history(session: Session, settings: Any, devices: list[tuple[str, str]], *, hours: int, step: timedelta) -> int:
    """Feeds the model's past through ingest an hour at a time, as if the devices had been reporting."""
    now = utcnow()
    model = simulate.Model(events=simulate.history_events(now))
    start = now - timedelta(hours=hours)
    cache = ingest.DeviceCache()
    limits = ingest.Limits(max_age=timedelta(hours=hours + 2))
    secrets = {code: simulate.demo_secret(settings, code) for code, _ in devices}
    stored = 0
    chunk_start = start
    while chunk_start < now:
        chunk_end = min(now, chunk_start + timedelta(hours=1))
        batch = [
            ingest.Message(
                device_code=code,
                payload=json.dumps(
                    {"token": secrets[code], "ts": int(t.timestamp() * 1000), "values": values}
                ).encode(),
                channel="mqtt",
                received=t,
            )
            for t, code, values in simulate.timeline(
                model, devices, chunk_start, chunk_end - timedelta(microseconds=1), step
            )
        ]
        if batch:
            result = ingest.process(session, batch, cache=cache, limits=limits, now=chunk_end)
            stored += result.accepted
        chunk_start = chunk_end
    return stored
