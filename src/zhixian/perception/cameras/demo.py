"""Demo seed for 视频共享: three departments' video platforms hand over their GB/T 28181 catalogues, imported
through the same path as a real one (regions by township, a business group and a virtual organisation per
township, cameras at points inside the county's grids), and the grant requests a county sees in its first
weeks — approved, pending (one county-wide region request waiting for the county level), and refused with its
reason. No stream addresses: a county sets those (or a media server) for its own cameras."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from xml.sax.saxutils import escape

import shapely
from sqlalchemy import select
from sqlalchemy.orm import Session

from zhixian.citymgmt import service as citymgmt
from zhixian.clock import utcnow
from zhixian.perception.cameras import grants, service
from zhixian.perception.cameras.models import Camera
from zhixian.perception.cameras.schemas import GrantDecision, GrantIn
from zhixian.platform import service as platform
from zhixian.platform.actor import system_actor

# (owner, business group, GB/T 28181 industry code, cameras, name stem)
PLAN = (
    ("gaj", "雪亮工程·治安监控", "00", 16, "治安监控"),
    ("zjj", "城市管理视频", "08", 10, "城管监控"),
    ("sthj", "危化品企业周边监控", "09", 6, "环境监控"),
)
PLACES = ("路口", "广场", "菜场", "学校门口", "桥头", "公园", "车站", "主干道")
NETWORK = "6"  # 政务网


def _gb(county: str, industry: str, type_code: str, serial: int) -> str:
    return f"{county}00{industry}{type_code}{NETWORK}{serial:06d}"


def _catalogue(
    county: str, towns: dict[str, tuple[str, str]], n: int, plan: tuple[Any, ...], spots: list[Any]
) -> bytes:
    """One department's Catalog response: regions, its business group, a virtual organisation per township."""
    _dept, group_name, industry, _count, stem = plan
    group = _gb(county, industry, "215", n)
    items = [f"<Item><DeviceID>{county}</DeviceID><Name>本县</Name></Item>"]
    items += [f"<Item><DeviceID>{civil}</DeviceID><Name>{escape(name)}</Name></Item>" for civil, name in towns.values()]
    items.append(f"<Item><DeviceID>{group}</DeviceID><Name>{escape(group_name)}</Name></Item>")
    orgs: dict[str, str] = {}
    for i, (lon, lat, town, status, ptz) in enumerate(spots, start=1):
        civil, town_name = towns[town]
        if town not in orgs:
            orgs[town] = _gb(county, industry, "216", n * 100 + len(orgs) + 1)
            items.append(
                f"<Item><DeviceID>{orgs[town]}</DeviceID><Name>{escape(town_name)}</Name>"
                f"<BusinessGroupID>{group}</BusinessGroupID><ParentID>{group}</ParentID></Item>"
            )
        name = f"{town_name}{PLACES[i % len(PLACES)]}{stem}{i:02d}"
        items.append(
            f"<Item><DeviceID>{_gb(county, industry, '132', n * 1000 + i)}</DeviceID><Name>{escape(name)}</Name>"
            f"<Manufacturer>{'海康威视' if i % 2 else '大华'}</Manufacturer><CivilCode>{civil}</CivilCode>"
            f"<ParentID>{orgs[town]}</ParentID><Status>{status}</Status>"
            f"<Longitude>{lon:.6f}</Longitude><Latitude>{lat:.6f}</Latitude><Info><PTZType>{ptz}</PTZType></Info></Item>"
        )
    body = (
        '<?xml version="1.0" encoding="GB2312"?>\n<Response><CmdType>Catalog</CmdType><SN>1</SN>'
        f"<DeviceID>{_gb(county, industry, '200', n)}</DeviceID><SumNum>{len(items)}</SumNum>"
        f'<DeviceList Num="{len(items)}">' + "".join(items) + "</DeviceList></Response>"
    )
    return body.encode("gb18030")


def seed(session: Session, ctx: Any) -> None:
    if session.execute(select(Camera.id).limit(1)).first() is not None:
        return
    rng = ctx.rng("perception-cameras")
    county = ctx.settings.county_code
    depts = {d.code: d for d in platform.list_departments(session)}
    grids = citymgmt.grid_outlines(session)
    towns: dict[str, tuple[str, str]] = {}  # street code -> (8-digit civil code, name)
    importer = system_actor(frozenset({service.MANAGE, "platform.scope.county"}))
    groups: dict[str, str] = {}
    for n, plan in enumerate(PLAN, start=1):
        dept = depts.get(plan[0])
        if dept is None:
            continue
        spots = []
        for _code, wkt in rng.sample(grids, min(plan[3], len(grids))):
            p = shapely.from_wkt(wkt).representative_point()
            where = citymgmt.locate(session, p.x, p.y)
            town = where.street_code or county
            if town not in towns:
                towns[town] = (
                    f"{county}{len(towns) + 1:02d}",
                    ctx.county.division(town).name if where.street_code else "本县",
                )
            spots.append((p.x, p.y, town, "OFF" if rng.random() < 0.1 else "ON", 1 if rng.random() < 0.3 else 3))
        content = _catalogue(county, towns, n, plan, spots)
        service.import_catalogue(
            session, actor=importer, kind="catalog", content=content, county_code=county, department_id=dept.id
        )
        groups[plan[0]] = _gb(county, plan[2], "215", n)
    _grants(session, county, groups)


@dataclass(frozen=True)
class _Ask:
    who: str
    scope: str
    target: str  # an owner's department code for its business group, or "county" for the whole county
    modes: tuple[bool, bool, bool]  # live, playback, ptz
    purpose: str
    decider: str = ""  # nobody yet: pending
    approve: bool = True
    note: str = ""
    windows: tuple[str, ...] = ()


ASKS = (
    _Ask("shiftlead", "group", "gaj", (True, True, False), "数字城管案件核实：查看案发点位周边治安监控", "gaj_officer"),
    _Ask("zfj_officer", "group", "zjj", (True, False, False), "综合执法巡查：占道经营、渣土抛洒取证", "zjj_officer",
         windows=("08:00-20:00",)),
    _Ask("zjj_officer", "group", "sthj", (True, False, False), "工地扬尘联动处置：查看周边企业情况"),
    _Ask("sthj_officer", "group", "gaj", (True, False, True), "环境执法：夜间偷排追溯需要云台控制", "gaj_officer",
         approve=False, note="云台控制仅限公安指挥使用；可申请实时视频与录像回放"),
    _Ask("shiftlead", "region", "county", (False, True, False), "防汛期间全县易涝点录像回放（须县级审批）"),
)  # fmt: skip


def _grants(session: Session, county: str, groups: dict[str, str]) -> None:
    """The requests a county has after its first weeks, each through the real request and decision."""
    until = utcnow() + timedelta(days=180)
    for ask in ASKS:
        actor = platform.actor_named(session, ask.who)
        target = county if ask.target == "county" else groups.get(ask.target, "")
        if actor is None or not target:
            continue  # a county whose demo lacks that department or user: the rest still shows
        live, playback, ptz = ask.modes
        data = GrantIn(
            scope=ask.scope, target=target, live=live, playback=playback, ptz=ptz, windows=list(ask.windows),
            purpose=ask.purpose, valid_until=until,
        )  # fmt: skip
        grant = grants.request_grant(session, actor=actor, data=data, county_code=county)
        judge = platform.actor_named(session, ask.decider) if ask.decider else None
        if judge is not None:
            decision = GrantDecision(approve=ask.approve, note=ask.note)
            grants.decide_grant(session, actor=judge, grant_id=grant.id, data=decision)
