"""Demo data: county geography (communities, grids), components, a gazetteer and ~2 years of cases.

Geometry is synthetic (Voronoi cells around a plausible centre); cases follow seasons, weekdays and
office hours, and a few departments are chronically late so evaluation has something true to show.
Volume: ``ZHIXIAN_CITYMGMT_DEMO_CASES`` (default 6000; the test suite sets a small number).
"""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta
from typing import Any

import shapely
from shapely.geometry import MultiPoint, Polygon
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from zhixian.citymgmt.config import service as catalogue
from zhixian.citymgmt.config.standards import DEFAULT_CONFIG
from zhixian.citymgmt.geo import service as geo
from zhixian.citymgmt.models import Address, Area, Case, CaseClass, CaseEvent, Component, Grid, Task
from zhixian.citymgmt.settings import DEMO_CASES
from zhixian.clock import utcnow
from zhixian.platform import service as platform
from zhixian.platform.calendar import WorkingCalendar
from zhixian.subsystems import CaseCategory

CENTRE = (120.92, 30.84)
ROADS = (
    "人民路",
    "解放路",
    "中山路",
    "环城路",
    "体育路",
    "花园路",
    "施家南路",
    "谈公路",
    "晋阳路",
    "亭桥路",
    "魏中路",
    "罗星路",
    "车站路",
    "枫南路",
    "嘉善大道",
    "归家浜路",
)
DESCRIPTIONS = ("情况较严重", "影响通行", "群众反映强烈", "需尽快处理", "现场拍照上报")
LATE_DEPARTMENTS = ("zjj", "xz103", "slj")


def _county_outline(rng: random.Random) -> Polygon:
    pts = []
    for i in range(24):
        a = 2 * math.pi * i / 24
        r = 1 + rng.uniform(-0.12, 0.12)
        pts.append((CENTRE[0] + 0.14 * r * math.cos(a), CENTRE[1] + 0.11 * r * math.sin(a)))
    return Polygon(pts)


def _random_in(rng: random.Random, poly: Any, n: int) -> list[tuple[float, float]]:
    minx, miny, maxx, maxy = poly.bounds
    out: list[tuple[float, float]] = []
    shapely.prepare(poly)
    while len(out) < n:
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if shapely.contains_xy(poly, x, y):
            out.append((x, y))
    return out


def _cells(points: list[tuple[float, float]], boundary: Any, rounds: int = 2) -> list[Any]:
    """Voronoi cells clipped to the boundary, relaxed (Lloyd) so they look like real parishes."""
    for _ in range(rounds + 1):
        if len(points) == 1:
            return [boundary]
        regions = shapely.voronoi_polygons(MultiPoint(points), extend_to=boundary, ordered=True)
        cells = [shapely.intersection(g, boundary) for g in regions.geoms]
        points = [(c.centroid.x, c.centroid.y) for c in cells]
    return [geo.polygonal(c) if not isinstance(c, Polygon) else c for c in cells]


def _point_in(rng: random.Random, poly: Any) -> tuple[float, float]:
    minx, miny, maxx, maxy = poly.bounds
    for _ in range(20):
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if shapely.contains_xy(poly, x, y):
            return x, y
    p = poly.representative_point()
    return p.x, p.y


def seed(session: Session, ctx: Any) -> None:
    catalogue.seed_classes(session, _contributed_classes(ctx))
    if session.execute(select(Grid.id).limit(1)).first() is not None:
        return
    rng = ctx.rng("citymgmt-geo")
    county = ctx.county
    towns = [d for d in county.divisions if d.level == "town"]
    outline = _county_outline(rng)
    seeds = _random_in(rng, outline, len(towns))
    seeds.sort(key=lambda p: math.dist(p, CENTRE))  # 街道 (first in the plan) sit in the middle
    town_cells = _cells(seeds, outline)
    users = {
        u.username: u
        for u in platform.list_users(
            session,
            actor=platform.system_actor(frozenset({"platform.users.read", platform.COUNTY_SCOPE})),
            limit=10_000,
        )[0]
    }
    township_depts = [d for d in county.departments if d.kind == "乡镇街道"]
    grid_rows: list[dict[str, Any]] = []
    community_geoms: dict[str, Any] = {}
    for ti, (town, tcell) in enumerate(zip(towns, town_cells, strict=True)):
        session.add(
            Area(division_code=town.code, name=town.name, level="town", parent_code=town.parent_code, wkt=tcell.wkt)
        )
        villages = [d for d in county.divisions if d.parent_code == town.code]
        vseeds = _random_in(rng, tcell, len(villages))
        centre = (tcell.centroid.x, tcell.centroid.y)
        cells = _cells(vseeds, tcell)
        cells.sort(key=lambda c: math.dist((c.centroid.x, c.centroid.y), centre))  # 社区 near the town seat
        dept_code = township_depts[ti].code if ti < len(township_depts) else None
        inspectors = [users.get(f"inspector{2 * ti + k + 1:02d}") for k in range(2)] if dept_code else []
        for vi, (village, vcell) in enumerate(zip(villages, cells, strict=True)):
            session.add(
                Area(
                    division_code=village.code, name=village.name, level="village", parent_code=town.code, wkt=vcell.wkt
                )
            )
            community_geoms[village.code] = vcell
            size = 350.0 if village.kind == "社区" else 1200.0
            squares = geo.grid_cover(vcell, size_m=size)
            inspector = inspectors[vi % 2] if inspectors and inspectors[vi % 2] else None
            for gi, sq in enumerate(squares, start=1):
                minx, miny, maxx, maxy = sq.bounds
                grid_rows.append(
                    {
                        "code": f"{village.code}{gi:03d}",
                        "name": f"{village.name}{gi:03d}号网格",
                        "community_code": village.code,
                        "street_code": town.code,
                        "wkt": sq.wkt,
                        "min_lon": minx,
                        "min_lat": miny,
                        "max_lon": maxx,
                        "max_lat": maxy,
                        "area_m2": geo.area_m2(sq),
                        "inspector_id": inspector.id if inspector else None,
                    }
                )
    session.flush()
    session.execute(insert(Grid), grid_rows)
    geo.bump_version(session)
    _components_and_addresses(session, ctx, grid_rows, community_geoms)
    volume = ctx.settings.declared(DEMO_CASES)
    if volume > 0:
        generate_cases(session, ctx, volume=volume, years=2.0)
    ctx.notes.append(f"数字城管：{len(grid_rows)} 个单元网格，约 {volume} 件历史案件")


def _contributed_classes(ctx: Any) -> list[CaseCategory]:
    from zhixian.subsystems import load

    try:
        return list(load(ctx.settings).contributed("case_categories"))
    except ValueError:
        return []


def _components_and_addresses(
    session: Session, ctx: Any, grid_rows: list[dict[str, Any]], communities: dict[str, Any]
) -> None:
    rng = ctx.rng("citymgmt-components")
    county_code = ctx.county.code
    classes = (
        session.execute(select(CaseClass).where(CaseClass.kind == "component", CaseClass.parent_code.is_not(None)))
        .scalars()
        .all()
    )
    depts = {d.code: d.id for d in platform.list_departments(session)}
    serial: dict[str, int] = {}
    comps = []
    urban = [g for g in grid_rows if g["community_code"][9] == "0"]
    for g in urban[::2]:
        cls = rng.choice(classes)
        serial[cls.code] = serial.get(cls.code, 0) + 1
        dept = depts.get(cls.department_code or "") or depts.get(f"xz{g['street_code'][6:9]}")
        poly = shapely.from_wkt(g["wkt"])
        x, y = _point_in(rng, poly)
        comps.append(
            {
                "code": f"{county_code}{cls.code[1:]}{serial[cls.code]:06d}",
                "class_code": cls.code,
                "name": f"{cls.name}",
                "owner_department_id": dept,
                "maintainer_department_id": dept,
                "grid_code": g["code"],
                "state": rng.choice(["完好", "完好", "完好", "破损"]),
                "lon": x,
                "lat": y,
                "initial_date": f"20{rng.randint(10, 24)}-{rng.randint(1, 12):02d}-01",
                "data_source": "部件普查",
            }
        )
    if comps:
        session.execute(insert(Component), comps)
    names = {d.code: d.name for d in ctx.county.divisions}
    addresses = []
    for code, poly in communities.items():
        town = names[code[:9] + "000"]
        for road in rng.sample(ROADS, 3):
            for _ in range(2):
                x, y = _point_in(rng, poly)
                text = f"{town}{names[code]}{road}{rng.randint(1, 399)}号"
                addresses.append(
                    {
                        "text": text,
                        "tokens": catalogue.address_tokens(text),
                        "lon": x,
                        "lat": y,
                        "grid_code": None,
                        "community_code": code,
                    }
                )
    session.execute(insert(Address), addresses)
    session.flush()


SOURCES_MIX = (
    ("inspector", 0.7),
    ("hotline", 0.15),
    ("open311", 0.05),
    ("video", 0.05),
    ("sensor", 0.03),
    ("referral", 0.02),
)
SEASON = {1: 0.75, 2: 0.6, 3: 0.9, 4: 1.0, 5: 1.1, 6: 1.3, 7: 1.4, 8: 1.35, 9: 1.1, 10: 1.0, 11: 0.9, 12: 0.8}


def generate_cases(session: Session, ctx: Any, *, volume: int, years: float, now: datetime | None = None) -> int:
    """Bulk history: timestamps and outcomes drawn per case, inserted in chunks with their timelines."""
    rng = ctx.rng(f"citymgmt-cases-{volume}")
    now = now or utcnow()
    settings = ctx.settings
    calendar = WorkingCalendar(periods=settings.work_periods)
    classes = (
        session.execute(select(CaseClass).where(CaseClass.parent_code.is_not(None), CaseClass.source == "citymgmt"))
        .scalars()
        .all()
    )
    depts = {d.code: d for d in platform.list_departments(session)}
    grids = session.execute(select(Grid.code, Grid.community_code, Grid.street_code, Grid.wkt, Grid.inspector_id)).all()
    urban = [g for g in grids if g[1][9] == "0"]
    weights = [3 if g[1][9] == "0" else 1 for g in grids]
    span = timedelta(days=365 * years)
    # draw report instants with seasonal thinning
    instants: list[datetime] = []
    while len(instants) < volume:
        t = now - span * rng.random()
        local = t + timedelta(hours=8)
        keep = (
            SEASON[local.month] / 1.4 * (1.0 if local.weekday() < 5 else 0.6) * (1.0 if 7 <= local.hour <= 19 else 0.15)
        )
        if rng.random() < keep:
            instants.append(t)
    instants.sort()
    prepared = {}
    total = 0
    user_names = {
        u.id: u.full_name
        for u in platform.list_users(
            session,
            actor=platform.system_actor(frozenset({"platform.users.read", platform.COUNTY_SCOPE})),
            limit=10_000,
        )[0]
    }
    for chunk_start in range(0, len(instants), 2000):
        chunk = instants[chunk_start : chunk_start + 2000]
        cases: list[dict[str, Any]] = []
        plans: list[tuple[list[dict[str, Any]], list[dict[str, Any]]]] = []
        for t in chunk:
            source = rng.choices([s for s, _ in SOURCES_MIX], [w for _, w in SOURCES_MIX])[0]
            cls = rng.choice(classes)
            g = rng.choice(urban) if rng.random() < 0.7 and urban else rng.choices(grids, weights)[0]
            if g[0] not in prepared:
                prepared[g[0]] = shapely.from_wkt(g[3])
            x, y = _point_in(rng, prepared[g[0]])
            dept_code = cls.department_code if cls.department_code != "@属地" else f"xz{g[2][6:9]}"
            dept = depts.get(dept_code or "") or depts.get(f"xz{g[2][6:9]}")
            late_dept = dept is not None and dept.code in LATE_DEPARTMENTS
            reporter = g[4] if source == "inspector" else None
            row, events, tasks = _simulate(
                rng, calendar, t, now, cls, source, dept, late_dept, reporter, g[4], user_names
            )
            row.update(
                number=f"D{chunk_start + len(cases):011d}",
                source=source,
                kind=cls.kind,
                class_code=cls.code,
                lon=x,
                lat=y,
                grid_code=g[0],
                community_code=g[1],
                street_code=g[2],
                reporter_id=reporter,
                reporter_name=user_names.get(reporter or 0, "市民" if source in ("hotline", "open311") else ""),
                description=f"{cls.name}：{rng.choice(DESCRIPTIONS)}",
                address="",
                coord_note="WGS84",
            )
            cases.append(row)
            plans.append((events, tasks))
        ids = session.execute(insert(Case).returning(Case.id, sort_by_parameter_order=True), cases).scalars().all()
        table: Any = Case.__table__
        session.connection().execute(
            update(table).where(table.c.id == bindparam("cid")).values(number=bindparam("num")),
            [
                {"cid": cid, "num": f"{(row['reported_at'] + timedelta(hours=8)).year}{cid:08d}"}
                for cid, row in zip(ids, cases, strict=True)
            ],
        )
        events_all = [dict(e, case_id=cid) for cid, (events, _) in zip(ids, plans, strict=True) for e in events]
        tasks_all = [dict(t, case_id=cid) for cid, (_, tasks) in zip(ids, plans, strict=True) for t in tasks]
        if events_all:
            session.execute(insert(CaseEvent), events_all)
        if tasks_all:
            session.execute(insert(Task), tasks_all)
        total += len(cases)
    session.flush()
    return total


def _simulate(  # noqa: C901, PLR0911, PLR0912, PLR0915 - one case life cut off at now; each return is a stage
    rng: random.Random,
    calendar: WorkingCalendar,
    t: datetime,
    now: datetime,
    cls: CaseClass,
    source: str,
    dept: Any,
    late_dept: bool,
    reporter: int | None,
    inspector: int | None,
    names: dict[int, str],
) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """One case's life, cut off at ``now``: the row, its timeline and its inspector tasks."""
    events: list[dict[str, Any]] = []
    tasks: list[dict[str, Any]] = []
    row: dict[str, Any] = {"status": "reported", "reported_at": t, "updated_at": t, "urgent": rng.random() < 0.05}
    centre_name = "受理员"

    def ev(
        step: str, at: datetime, frm: str | None, to: str | None, actor: str, dept_id: int | None = None, note: str = ""
    ) -> None:
        events.append(
            {
                "step": step,
                "from_status": frm,
                "to_status": to,
                "actor_id": None,
                "actor_name": actor,
                "note": note,
                "data": {},
                "at": at,
                "department_id": dept_id,
            }
        )
        row["updated_at"] = at

    ev("上报", t, None, "reported", names.get(reporter or 0, "市民"))
    if source == "inspector" and rng.random() < 0.08:
        done = t + timedelta(minutes=rng.randint(5, 40))
        if done < now:
            row.update(
                status="closed",
                self_disposed=True,
                closed_at=done,
                filed_at=done,
                completed_at=done,
                completed_on_time=True,
                filed_on_time=True,
            )
            ev("自行处置", done, "reported", "closed", names.get(reporter or 0, "监督员"))
        return row, events, tasks
    cursor = t
    if source != "inspector" and rng.random() < 0.3 and inspector:
        sent = calendar.add(cursor, hours=rng.uniform(0.05, 0.3)).at
        if sent >= now:
            return row, events, tasks
        ddl = calendar.add(sent, hours=float(DEFAULT_CONFIG["verify_limit_hours"])).at
        back = calendar.add(sent, hours=rng.uniform(0.2, 1.6)).at
        tasks.append(
            {
                "kind": "verify",
                "assignee_id": inspector,
                "created_at": sent,
                "deadline": ddl,
                "done_at": back if back < now else None,
                "result": "confirmed" if back < now else None,
                "note": "",
            }
        )
        ev("派发核实", sent, "reported", "verifying", centre_name)
        row["status"] = "verifying"
        if back >= now:
            return row, events, tasks
        ev("核实反馈", back, "verifying", "reported", names.get(inspector, "监督员"), note="属实")
        row["status"] = "reported"
        cursor = back
    filed = calendar.add(cursor, hours=rng.uniform(0.05, 1.4)).at
    if filed >= now:
        return row, events, tasks
    if rng.random() < 0.05:
        row.update(status="rejected", closed_at=filed)
        ev("不予立案", filed, row["status"], "rejected", centre_name, note="不符合立案标准")
        return row, events, tasks
    seconds, _ = calendar.working_seconds_between(t, filed)
    row.update(status="dispatching", filed_at=filed, filed_on_time=seconds <= 3600)
    ev("立案", filed, "reported", "dispatching", centre_name)
    if dept is None:
        return row, events, tasks
    dispatched = filed + timedelta(minutes=rng.randint(3, 45))
    if dispatched >= now:
        return row, events, tasks
    hours, days = (cls.limit_value, 0.0) if cls.limit_unit == "hours" else (0.0, cls.limit_value)
    deadline = calendar.add(dispatched, hours=hours, days=days).at
    warn = calendar.add(dispatched, hours=hours * 0.8, days=days * 0.8).at
    row.update(
        status="handling",
        department_id=dept.id,
        department_path=dept.path,
        dispatched_at=dispatched,
        deadline=deadline,
        warn_at=warn,
    )
    ev("派遣", dispatched, "dispatching", "handling", "派遣员", dept.id)
    if now - t < timedelta(days=6) and rng.random() < (0.6 if late_dept else 0.3):
        return row, events, tasks  # still being worked on: the live picture of the operations view
    if rng.random() < 0.01:
        row.update(status="on_hold", hold_count=1)
        ev("挂账缓办", dispatched + timedelta(hours=2), "handling", "on_hold", "值班长", note="季节性问题，挂账")
        return row, events, tasks
    limit_hours = hours + days * 7.5
    factor = rng.lognormvariate(-0.6, 0.5) * (2.2 if late_dept and rng.random() < 0.5 else 1.0)
    if rng.random() < 0.02:
        row["postpone_count"] = 1
        extra = max(1.0, limit_hours * 0.5)
        ev("申请延期", dispatched + timedelta(hours=1), "handling", "handling", "处置人员")
        deadline = calendar.add(deadline, hours=extra).at
        row["deadline"] = deadline
        ev("延期批准", dispatched + timedelta(hours=2), "handling", "handling", "值班长")
    rounds = 2 if rng.random() < (0.12 if late_dept else 0.03) else 1
    cursor = dispatched
    for n in range(rounds):
        done = calendar.add(cursor, hours=max(0.1, limit_hours * factor / rounds)).at
        if done >= now:
            return row, events, tasks
        secs, _ = calendar.working_seconds_between(dispatched, done)
        row.update(status="checking", completed_at=done, handle_seconds=secs, completed_on_time=done <= deadline)
        ev("处置反馈", done, "handling", "checking", "处置人员", None)
        checked = calendar.add(done, hours=rng.uniform(0.2, 2.5)).at
        ddl = calendar.add(done, hours=float(DEFAULT_CONFIG["check_limit_hours"])).at
        tasks.append(
            {
                "kind": "check",
                "assignee_id": inspector,
                "created_at": done,
                "deadline": ddl,
                "done_at": checked if checked < now else None,
                "result": None,
                "note": "",
            }
        )
        if checked >= now:
            return row, events, tasks
        if n < rounds - 1:
            tasks[-1]["result"] = "failed"
            row.update(
                status="handling",
                rework_count=row.get("rework_count", 0) + 1,
                completed_at=None,
                completed_on_time=None,
                handle_seconds=None,
            )
            ev("返工", checked, "checking", "handling", names.get(inspector or 0, "监督员"), note="现场未整改到位")
            cursor = checked
            continue
        tasks[-1]["result"] = "passed"
        row.update(status="closed", closed_at=checked)
        ev("核查结案", checked, "checking", "closed", names.get(inspector or 0, "监督员"))
    return row, events, tasks
