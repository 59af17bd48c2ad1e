"""Devices: registering, changing and re-keying them, and reading them back with state and alarm counts.

A device is placed on the map (grid, community, street from its coordinates), belongs to a department,
may name the city component it watches, and gets a secret shown once. Apart from ``service`` because
ingest, alarms, escalation and readings need only the shared core there (scope, secrets, profiles and
rules), not how a device is registered or listed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from zhixian.citymgmt import service as citymgmt
from zhixian.clock import utcnow
from zhixian.errors import Conflict, FieldError, Invalid, NotFound
from zhixian.perception.sensors.models import Alarm, Device, DeviceState, Profile
from zhixian.perception.sensors.schemas import DeviceIn, DeviceRead, DeviceUpdate
from zhixian.perception.sensors.service import device_scope, get_device, get_profile, hash_secret, new_secret, sees_all
from zhixian.platform import audit
from zhixian.platform import service as platform
from zhixian.platform.actor import Actor

STATE_LABELS = {"normal": "正常", "alarm": "告警", "offline": "离线", "never": "未上线", "inactive": "停用"}


def _department_for(session: Session, actor: Actor, department_id: int) -> Any:
    try:
        dept = platform.get_department(session, department_id)
    except NotFound:
        raise Invalid("部门不存在", field="department_id") from None
    if not (sees_all(actor) or actor.sees_department(dept.path)):
        raise Invalid("只能为本部门及下属单位登记设备", field="department_id")
    return dept


@dataclass
class Placed:
    lon: float
    lat: float
    grid_code: str | None
    community_code: str | None
    street_code: str | None


def _place(session: Session, lon: float, lat: float) -> Placed:
    where = citymgmt.locate(session, lon, lat)
    return Placed(lon, lat, where.grid_code, where.community_code, where.street_code)


def _check_component(session: Session, code: str | None) -> None:
    if code and citymgmt.component(session, code) is None:
        raise Invalid("部件编码不存在", field="component_code")


def create_device(session: Session, *, actor: Actor, data: DeviceIn) -> tuple[Device, str]:
    """Registers a device; returns it with its secret, which is shown this once."""
    actor.require("perception.device.manage")
    if session.execute(select(Device.id).where(Device.code == data.code)).first():
        taken = f"设备编码 {data.code} 已登记"
        raise Conflict(taken, [FieldError(taken, field="code")])
    profile = get_profile(session, data.profile_id)
    dept = _department_for(session, actor, data.department_id)
    _check_component(session, data.component_code)
    at = _place(session, data.lon, data.lat)
    secret = new_secret()
    device = Device(
        code=data.code,
        name=data.name,
        profile_id=data.profile_id,
        department_id=dept.id,
        department_path=dept.path,
        address=data.address,
        lon=at.lon,
        lat=at.lat,
        grid_code=at.grid_code,
        community_code=at.community_code,
        street_code=at.street_code,
        component_code=data.component_code,
        secret_hash=hash_secret(secret),
        active=data.active,
        note=data.note,
    )
    session.add(device)
    session.flush()
    session.add(DeviceState(device_id=device.id))
    session.flush()
    audit.record(
        session,
        actor.audit,
        action="perception.device_create",
        object_type="ps_device",
        object_id=device.code,
        detail={"profile": profile.code},
    )
    return device, secret


def update_device(session: Session, *, actor: Actor, device_id: int, data: DeviceUpdate) -> Device:
    actor.require("perception.device.manage")
    device = get_device(session, actor=actor, device_id=device_id)
    if data.department_id is not None:
        dept = _department_for(session, actor, data.department_id)
        device.department_id, device.department_path = dept.id, dept.path
    if (data.lon is None) != (data.lat is None):
        raise Invalid("经纬度须同时提供", field="lon")
    if data.lon is not None and data.lat is not None:
        at = _place(session, data.lon, data.lat)
        device.lon, device.lat = at.lon, at.lat
        device.grid_code, device.community_code, device.street_code = at.grid_code, at.community_code, at.street_code
    if data.component_code is not None:
        _check_component(session, data.component_code or None)
        device.component_code = data.component_code or None
    for name in ("name", "address", "note", "active"):
        value = getattr(data, name)
        if value is not None:
            setattr(device, name, value)
    device.updated_at = utcnow()
    session.flush()
    audit.record(
        session,
        actor.audit,
        action="perception.device_update",
        object_type="ps_device",
        object_id=device.code,
        detail={k: v for k, v in data.model_dump(exclude_none=True).items() if isinstance(v, str | int | float | bool)},
    )
    return device


def rotate_secret(session: Session, *, actor: Actor, device_id: int) -> tuple[Device, str]:
    """A new secret (the old one stops working at once); shown this once."""
    actor.require("perception.device.manage")
    device = get_device(session, actor=actor, device_id=device_id)
    secret = new_secret()
    device.secret_hash, device.secret_set_at, device.updated_at = hash_secret(secret), utcnow(), utcnow()
    session.flush()
    audit.record(
        session, actor.audit, action="perception.device_secret", object_type="ps_device", object_id=device.code
    )
    return device, secret


def device_state(device: Device, state: DeviceState | None, alarms: int) -> str:
    if not device.active:
        return "inactive"
    if state is None or state.last_seen is None:
        return "never"
    if state.offline:
        return "offline"
    return "alarm" if alarms else "normal"


def device_reads(session: Session, devices: Sequence[Device]) -> list[DeviceRead]:
    """Read models for devices, with state, last values and active alarm counts (three queries in all)."""
    ids = [d.id for d in devices]
    if not ids:
        return []
    states = {
        s.device_id: s for s in session.execute(select(DeviceState).where(DeviceState.device_id.in_(ids))).scalars()
    }
    alarms = dict(
        session.execute(
            select(Alarm.device_id, func.count())
            .where(Alarm.device_id.in_(ids), Alarm.status == "active")
            .group_by(Alarm.device_id)
        ).all()
    )
    profiles = {p.id: p for p in session.execute(select(Profile)).scalars()}
    depts = {d.id: d.name for d in platform.list_departments(session, include_inactive=True)}
    out = []
    for d in devices:
        state = states.get(d.id)
        code = device_state(d, state, int(alarms.get(d.id, 0)))
        profile = profiles[d.profile_id]
        out.append(
            DeviceRead(
                id=d.id,
                code=d.code,
                name=d.name,
                profile_id=d.profile_id,
                profile_code=profile.code,
                profile_name=profile.name,
                department_id=d.department_id,
                department_name=depts.get(d.department_id, ""),
                address=d.address,
                lon=d.lon,
                lat=d.lat,
                grid_code=d.grid_code,
                community_code=d.community_code,
                street_code=d.street_code,
                component_code=d.component_code,
                active=d.active,
                note=d.note,
                state=code,
                state_label=STATE_LABELS[code],
                last_seen=state.last_seen if state else None,
                values=dict(state.values) if state else {},
                active_alarms=int(alarms.get(d.id, 0)),
                secret_set_at=d.secret_set_at,
                links={"page": f"/perception/devices/{d.id}", "alarms": f"/perception/alarms?device_id={d.id}"},
            )
        )
    return out


def list_devices(
    session: Session,
    *,
    actor: Actor,
    profile_code: str | None = None,
    state: str | None = None,
    q: str = "",
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[DeviceRead], int]:
    """Devices in scope, filtered by profile, state and text; ``state`` is computed, so it filters in SQL too."""
    stmt = select(Device).where(device_scope(actor))
    if profile_code:
        stmt = stmt.join(Profile, Profile.id == Device.profile_id).where(Profile.code == profile_code)
    if q.strip():
        text = q.strip()
        stmt = stmt.where(
            Device.code.contains(text, autoescape=True)
            | Device.name.contains(text, autoescape=True)
            | Device.address.contains(text, autoescape=True)
        )
    if state:
        stmt = _state_filter(stmt, state)
    total = int(session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one())
    rows = session.execute(stmt.order_by(Device.code).offset(offset).limit(limit)).scalars().all()
    return device_reads(session, rows), total


def _state_filter(stmt: Any, state: str) -> Any:
    has_alarm = select(Alarm.id).where(Alarm.device_id == Device.id, Alarm.status == "active").exists()
    stmt = stmt.outerjoin(DeviceState, DeviceState.device_id == Device.id)
    if state == "inactive":
        return stmt.where(Device.active.is_(False))
    stmt = stmt.where(Device.active.is_(True))
    if state == "never":
        return stmt.where(DeviceState.last_seen.is_(None))
    if state == "offline":
        return stmt.where(DeviceState.offline.is_(True), DeviceState.last_seen.is_not(None))
    seen = stmt.where(DeviceState.last_seen.is_not(None), DeviceState.offline.is_(False))
    if state == "alarm":
        return seen.where(has_alarm)
    if state == "normal":
        return seen.where(~has_alarm)
    raise Invalid("未知的设备状态", field="state")


def devices_geojson(
    session: Session, *, actor: Actor, profile_code: str | None = None, state: str | None = None
) -> dict[str, Any]:
    """Every device in scope as a GeoJSON point with its state and links (the perception map)."""
    reads, _ = list_devices(session, actor=actor, profile_code=profile_code, state=state, limit=20_000)
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [d.lon, d.lat]},
                "properties": {
                    "id": d.id,
                    "code": d.code,
                    "name": d.name,
                    "profile": d.profile_code,
                    "profile_name": d.profile_name,
                    "state": d.state,
                    "state_label": d.state_label,
                    "alarms": d.active_alarms,
                    "href": d.links["page"],
                    "alarms_href": d.links["alarms"],
                },
            }
            for d in reads
        ],
    }
