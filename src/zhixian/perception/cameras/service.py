"""The camera registry and what approved grants allow: who may see, play and change which camera.

A camera is its department's; anyone else sees it, and may play it, only through an approved grant on
the camera, a group above it or its region, within the grant's time windows and before it ends. The
registry is filled by catalogue import (read in ``catalog_import``, written here); how a grant is asked
for and answered is in ``grants``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time
from typing import Any

from sqlalchemy import ColumnElement, false, func, or_, select
from sqlalchemy.orm import Session

from zhixian.clock import LOCAL_TZ, utcnow
from zhixian.errors import FieldError, Invalid, NotFound
from zhixian.perception.cameras import gbid
from zhixian.perception.cameras.catalog_import import PARSERS, Entry
from zhixian.perception.cameras.models import Camera, Grant, VideoGroup, VideoRegion
from zhixian.perception.cameras.relay import check_source
from zhixian.perception.cameras.schemas import CameraRead, ImportResult, RefusedRow, TreeNode
from zhixian.platform import audit
from zhixian.platform import service as platform
from zhixian.platform.actor import Actor

VIEW = "perception.camera.view"
MANAGE = "perception.camera.manage"
REQUEST = "perception.camera.request"
APPROVE = "perception.camera.approve"
PLAY = "perception.camera.play"
EVENT = "perception.video.event"


# --- grants: which cameras a department may use


def _active_grants(session: Session, department_path: str, now: datetime) -> list[Grant]:
    """Approved, unexpired grants of the department or a department above it."""
    rows = session.execute(select(Grant).where(Grant.status == "approved", Grant.valid_until > now)).scalars()
    return [g for g in rows if department_path.startswith(g.department_path)]


def _group_closure(session: Session, roots: Sequence[str]) -> set[str]:
    """The groups and every group below them."""
    if not roots:
        return set()
    children: dict[str, list[str]] = {}
    for gb, parent in session.execute(select(VideoGroup.gb_id, VideoGroup.parent_gb_id)):
        children.setdefault(parent, []).append(gb)
    seen, todo = set(), list(roots)
    while todo:
        g = todo.pop()
        if g not in seen:
            seen.add(g)
            todo.extend(children.get(g, []))
    return seen


def _covers(session: Session, grants: Sequence[Grant]) -> ColumnElement[bool]:
    ids = [g.target for g in grants if g.scope == "camera"]
    groups = _group_closure(session, [g.target for g in grants if g.scope == "group"])
    regions = [g.target for g in grants if g.scope == "region"]
    parts: list[ColumnElement[bool]] = []
    if ids:
        parts.append(Camera.gb_id.in_(ids))
    if groups:
        parts.append(Camera.group_gb_id.in_(groups))
    parts.extend(Camera.civil_code.startswith(r) for r in regions)
    return or_(*parts) if parts else false()


def _visible(session: Session, actor: Actor) -> ColumnElement[bool]:
    if actor.county_scope:
        return Camera.id.is_not(None)
    grants = _active_grants(session, actor.department_path, utcnow())
    return or_(actor.department_filter(Camera.department_path), _covers(session, grants))


def _in_window(windows: Sequence[str], now: datetime) -> bool:
    if not windows:
        return True
    local = now.astimezone(LOCAL_TZ).time()
    for w in windows:
        start, end = (time.fromisoformat(x) for x in w.split("-"))
        if (start <= local < end) if start <= end else (local >= start or local < end):
            return True
    return False


def grant_for(
    session: Session, *, department_path: str, camera: Camera, mode: str, now: datetime | None = None
) -> Grant | None:
    """The grant that lets this department use this camera now in this mode (live/playback/ptz)."""
    now = now or utcnow()
    grants = [
        g for g in _active_grants(session, department_path, now) if getattr(g, mode) and _in_window(g.windows, now)
    ]
    groups_of: dict[int, set[str]] = {}
    for g in grants:
        if g.scope == "camera" and g.target == camera.gb_id:
            return g
        if g.scope == "region" and camera.civil_code.startswith(g.target):
            return g
        if g.scope == "group":
            groups_of.setdefault(g.id, _group_closure(session, [g.target]))
            if camera.group_gb_id in groups_of[g.id]:
                return g
    return None


def may_use(session: Session, *, department_path: str, camera: Camera, mode: str, now: datetime | None = None) -> str:
    """'' when allowed (own department or a grant), else the reason in Chinese."""
    if department_path.startswith(camera.department_path):
        return ""
    if grant_for(session, department_path=department_path, camera=camera, mode=mode, now=now) is not None:
        return ""
    what = {"live": "实时视频", "playback": "录像回放", "ptz": "云台控制"}[mode]
    return f"本部门没有该摄像机的{what}授权（或不在授权时段内、授权已到期）"


# --- registry reads


def camera_read(camera: Camera, actor: Actor) -> CameraRead:
    read = CameraRead.model_validate(camera)
    read.type_name = gbid.TYPES.get(camera.type_code, camera.type_code)
    read.relay = bool(camera.source_url)
    read.own = actor.sees_department(camera.department_path) and not (
        actor.county_scope and not camera.department_path.startswith(actor.department_path)
    )
    return read


def list_cameras(
    session: Session,
    *,
    actor: Actor,
    q: str = "",
    status: str = "",
    civil_code: str = "",
    group: str = "",
    page: int = 1,
    size: int = 50,
) -> tuple[int, list[Camera]]:
    actor.require(VIEW)
    query = select(Camera).where(_visible(session, actor))
    if q:
        query = query.where(or_(Camera.name.contains(q), Camera.gb_id.startswith(q), Camera.address.contains(q)))
    if status:
        query = query.where(Camera.status == status)
    if civil_code:
        query = query.where(Camera.civil_code.startswith(civil_code))
    if group:
        query = query.where(Camera.group_gb_id.in_(_group_closure(session, [group])))
    total = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = session.execute(query.order_by(Camera.gb_id).offset((page - 1) * size).limit(size)).scalars()
    return total, list(rows)


def get_camera(session: Session, *, actor: Actor, camera_id: int) -> Camera:
    actor.require(VIEW)
    camera = session.execute(select(Camera).where(Camera.id == camera_id, _visible(session, actor))).scalar()
    if camera is None:
        raise NotFound("摄像机不存在")
    return camera


def owned_camera(session: Session, *, actor: Actor, camera_id: int) -> Camera:
    """For changes: only the department that runs the camera (or county scope)."""
    actor.require(MANAGE)
    camera = session.get(Camera, camera_id)
    if camera is None:
        raise NotFound("摄像机不存在")
    actor.check_department(camera.department_path)
    return camera


def set_event_classes(session: Session, *, actor: Actor, camera_id: int, classes: dict[str, str]) -> Camera:
    camera = owned_camera(session, actor=actor, camera_id=camera_id)
    camera.event_classes = {k: v for k, v in classes.items() if v}
    camera.updated_at = utcnow()
    audit.record(session, actor.audit, action="perception.camera_classes", object_type="pv_camera", object_id=camera.id)
    session.flush()
    return camera


def set_source(session: Session, *, actor: Actor, camera_id: int, source_url: str) -> Camera:
    """Where the platform's own relay pulls the camera from (RTSP or HLS); kept from the viewers."""
    camera = owned_camera(session, actor=actor, camera_id=camera_id)
    camera.source_url = check_source(source_url) if source_url else ""
    camera.updated_at = utcnow()
    audit.record(session, actor.audit, action="perception.camera_source", object_type="pv_camera", object_id=camera.id)
    session.flush()
    return camera


def tree(session: Session, *, actor: Actor) -> list[TreeNode]:
    """Regions and groups: county-wide names a department needs to ask for a grant; camera counts are scoped."""
    actor.require(VIEW)
    counts_region: dict[str, int] = {}
    counts_group: dict[str, int] = {}
    for civil, group in session.execute(select(Camera.civil_code, Camera.group_gb_id).where(_visible(session, actor))):
        counts_region[civil] = counts_region.get(civil, 0) + 1
        counts_group[group] = counts_group.get(group, 0) + 1
    nodes = [
        TreeNode(
            code=r.civil_code,
            name=r.name,
            kind="region",
            parent=r.parent_code,
            cameras=sum(n for c, n in counts_region.items() if c.startswith(r.civil_code)),
        )
        for r in session.execute(select(VideoRegion).order_by(VideoRegion.civil_code)).scalars()
    ]
    nodes += [
        TreeNode(code=g.gb_id, name=g.name, kind=g.kind, parent=g.parent_gb_id, cameras=counts_group.get(g.gb_id, 0))
        for g in session.execute(select(VideoGroup).order_by(VideoGroup.gb_id)).scalars()
    ]
    return nodes


# --- import


def _department(session: Session, actor: Actor, department_id: int | None) -> Any:
    if department_id is None:
        department_id = actor.department_id
    try:
        dept = platform.get_department(session, department_id)
    except NotFound:
        raise Invalid("部门不存在", field="department_id") from None
    if not actor.sees_department(dept.path):
        raise Invalid("只能为本部门及下属单位登记摄像机", field="department_id")
    return dept


def import_catalogue(
    session: Session,
    *,
    actor: Actor,
    kind: str,
    content: bytes,
    county_code: str,
    department_id: int | None = None,
) -> ImportResult:
    """Creates or updates by GB ID (re-import never duplicates); bad rows are refused one by one with the reason."""
    actor.require(MANAGE)
    if kind not in PARSERS:
        raise Invalid("导入格式应为 catalog、csv、excel 或 wvp", field="format")
    dept = _department(session, actor, department_id)
    entries = PARSERS[kind](content)
    result = ImportResult()
    groups = {g.gb_id for g in session.execute(select(VideoGroup)).scalars()}
    groups |= {e.gb_id for e in entries if gbid.is_id(e.gb_id) and e.gb_id[10:13] in gbid.GROUP_TYPES}
    for entry in entries:
        reason = _apply(
            session,
            actor=actor,
            entry=entry,
            dept=dept,
            county_code=county_code,
            groups=groups,
            kind=kind,
            result=result,
        )
        if reason:
            result.refused.append(
                RefusedRow(row=entry.row, gb_id=entry.gb_id[:40], message=f"第 {entry.row} 条：{reason}")
            )
    if result.refused and not (result.created or result.updated or result.unchanged or result.regions or result.groups):
        raise Invalid(
            "目录中没有可导入的条目",
            [FieldError(r.message, row=r.row) for r in result.refused[:200]],
        )
    audit.record(
        session,
        actor.audit,
        action="perception.camera_import",
        object_type="pv_camera",
        detail={"format": kind, **result.model_dump(exclude={"refused"}), "refused": len(result.refused)},
    )
    session.flush()
    return result


def _apply(  # noqa: PLR0911 -- one early answer per kind of catalogue entry reads best
    session: Session,
    *,
    actor: Actor,
    entry: Entry,
    dept: Any,
    county_code: str,
    groups: set[str],
    kind: str,
    result: ImportResult,
) -> str | None:
    if entry.problems:
        return "；".join(entry.problems)
    if gbid.is_civil(entry.gb_id):
        return _region(session, entry, county_code, result)
    reason = gbid.problem(entry.gb_id, county_code)
    if reason:
        return reason
    type_code = entry.gb_id[10:13]
    if not entry.name:
        return "缺少名称"
    if type_code in gbid.GROUP_TYPES:
        return _group(session, actor, entry, dept, type_code, result)
    if int(type_code) >= 200:
        result.skipped += 1  # platforms and users travel in catalogues too; they are not cameras
        return None
    if entry.civil_code and gbid.civil_problem(entry.civil_code, county_code):
        return gbid.civil_problem(entry.civil_code, county_code)
    parents = [p for p in entry.parent_id.split("/") if p]
    group = next((p for p in reversed(parents) if p in groups), "")
    if not group and entry.business_group_id in groups:
        group = entry.business_group_id
    values = {
        "name": entry.name,
        "type_code": type_code,
        "industry_code": entry.gb_id[8:10],
        "network_code": entry.gb_id[13],
        "civil_code": entry.civil_code or entry.gb_id[:8],
        "parent_gb_id": parents[-1] if parents else "",
        "group_gb_id": group,
        "manufacturer": entry.manufacturer,
        "model": entry.model,
        "address": entry.address,
        "ptz_type": entry.ptz_type,
        "lon": entry.lon,
        "lat": entry.lat,
        "status": entry.status,
    }
    camera = session.execute(select(Camera).where(Camera.gb_id == entry.gb_id)).scalar()
    if camera is None:
        session.add(Camera(gb_id=entry.gb_id, department_id=dept.id, department_path=dept.path, source=kind, **values))
        result.created += 1
        return None
    if not actor.sees_department(camera.department_path):
        return "该编码已由其他部门登记，不能覆盖"
    changed = {k: v for k, v in values.items() if getattr(camera, k) != v}
    if not changed:
        result.unchanged += 1
        return None
    for k, v in changed.items():
        setattr(camera, k, v)
    camera.source, camera.updated_at = kind, utcnow()
    result.updated += 1
    return None


def _region(session: Session, entry: Entry, county_code: str, result: ImportResult) -> str | None:
    reason = gbid.civil_problem(entry.gb_id, county_code)
    if reason:
        return reason
    parent = entry.gb_id[:-2] if len(entry.gb_id) > 2 else ""
    region = session.execute(select(VideoRegion).where(VideoRegion.civil_code == entry.gb_id)).scalar()
    if region is None:
        session.add(VideoRegion(civil_code=entry.gb_id, name=entry.name or entry.gb_id, parent_code=parent))
        session.flush()
    else:
        region.name = entry.name or region.name
    result.regions += 1
    return None


def _group(session: Session, actor: Actor, entry: Entry, dept: Any, kind: str, result: ImportResult) -> str | None:
    parents = [p for p in entry.parent_id.split("/") if p]
    parent = parents[-1] if parents else ""
    if kind == "216" and not (entry.business_group_id or parent):
        return "虚拟组织（216）须有所属业务分组（BusinessGroupID）或上级"
    group = session.execute(select(VideoGroup).where(VideoGroup.gb_id == entry.gb_id)).scalar()
    if group is None:
        group = VideoGroup(gb_id=entry.gb_id, kind=kind, department_path=dept.path, name=entry.name)
        session.add(group)
    elif not actor.sees_department(group.department_path):
        return "该分组已由其他部门登记，不能覆盖"
    group.name = entry.name
    group.parent_gb_id = parent if parent != entry.gb_id else ""
    group.business_group_id = entry.business_group_id
    group.updated_at = utcnow()
    session.flush()
    result.groups += 1
    return None
