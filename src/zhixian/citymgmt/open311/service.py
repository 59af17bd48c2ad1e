"""What Open311 publishes: only the cases the county marks public, with neutral notes, in a bounded window.

Open311 reads are anonymous, so the documents here carry nothing from the internal timeline: no
step notes (a 不予立案 reason, a handler's remark), no reporter name, phone or address of origin.
A case from a source the county keeps internal (inspectors, hotline, sensors, video, referrals)
answers exactly like a number that does not exist, so walking the sequential numbers finds nothing
more than the public list already shows. The submission cap counts an IPv6 /64 as one address,
since one household or one cloud host holds a whole /64.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from zhixian.citymgmt.config.parameters import config
from zhixian.citymgmt.models import Case, CaseClass, CasePhoto
from zhixian.clock import LOCAL_TZ, utcnow
from zhixian.errors import FieldError, Invalid, TooManyRequests

__all__ = [
    "MAX_PAGE_SIZE",
    "MAX_WINDOW",
    "MERGED_NOTE",
    "OPEN_STATUSES",
    "PUBLIC_NOTES",
    "PublicCase",
    "Window",
    "check_page",
    "check_public_rate",
    "check_submission_rate",
    "find_public",
    "list_public",
    "progress",
    "public_case",
    "public_cases_near",
    "public_sources",
    "rate_key",
    "recent_submissions",
    "request_document",
]

MAX_WINDOW = timedelta(days=90)  # GeoReport v2: the default and the widest start_date..end_date range
MAX_PAGE_SIZE = 200  # GeoReport v2 lets a server cap the list; 200 keeps one anonymous call cheap
CLOSED = ("closed", "rejected")

# The only status text the public sees: one neutral sentence per status, never a note from the timeline.
PUBLIC_NOTES: dict[str, str] = {
    "reported": "已受理，等待核实",
    "verifying": "正在核实",
    "dispatching": "已立案，等待派遣",
    "handling": "已派遣至责任部门处置",
    "checking": "已处置，等待核查",
    "on_hold": "暂缓办理",
    "closed": "已办结",
    "rejected": "经核实，不予立案",
}
MERGED_NOTE = "已与同一问题的其他上报合并办理"


def public_sources(session: Session) -> tuple[str, ...]:
    """The intake sources the county publishes (运行参数 ``open311_public_sources``)."""
    return tuple(str(s) for s in config(session).get("open311_public_sources") or ())


def _public(session: Session) -> Select[Any]:
    return select(Case).where(Case.source.in_(public_sources(session)))


def find_public(session: Session, *, number: str | None = None, token: str | None = None) -> Case | None:
    """A public case by number or token; a non-public one is None, like a missing one."""
    query = _public(session)
    query = query.where(Case.number == number) if number is not None else query.where(Case.token == token)
    return session.execute(query).scalar_one_or_none()


@dataclass(frozen=True)
class Window:
    start: datetime | None = None
    end: datetime | None = None
    service_code: str | None = None
    status: str | None = None
    page: int = 1
    page_size: int = MAX_PAGE_SIZE


def _bounds(window: Window) -> tuple[datetime, datetime]:
    for value, name in ((window.start, "start_date"), (window.end, "end_date")):
        if value is not None and value.tzinfo is None:
            raise Invalid(f"{name} must be w3c format with a time zone / {name} 须带时区", field=name)
    end = window.end or (window.start + MAX_WINDOW if window.start else utcnow())
    start = window.start or end - MAX_WINDOW
    if start > end:
        raise Invalid("start_date must not be after end_date / 开始时间不能晚于结束时间", field="start_date")
    if end - start > MAX_WINDOW:
        raise Invalid(
            f"start_date..end_date may span at most {MAX_WINDOW.days} days / 查询时间范围不能超过 {MAX_WINDOW.days} 天",
            field="start_date",
        )
    return start, end


def list_public(session: Session, *, ids: list[str] | None, window: Window) -> list[Case]:
    """GeoReport v2 list: by ids (public ones only), or public cases reported within the window."""
    query = _public(session)
    if ids:
        query = query.where(Case.number.in_(ids[:MAX_PAGE_SIZE]))
    else:
        start, end = _bounds(window)
        query = query.where(Case.reported_at >= start, Case.reported_at <= end)
        if window.service_code:
            query = query.where(Case.class_code.in_([c.strip() for c in window.service_code.split(",")]))
        if window.status == "open":
            query = query.where(Case.status.not_in((*CLOSED, "merged")))
        elif window.status == "closed":
            query = query.where(Case.status.in_(CLOSED))
        elif window.status:
            raise Invalid("status must be open or closed / status 只能是 open 或 closed", field="status")
    query = query.order_by(Case.reported_at.desc(), Case.id.desc())
    query = query.offset((window.page - 1) * window.page_size).limit(window.page_size)
    return list(session.execute(query).scalars())


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(LOCAL_TZ).isoformat(timespec="seconds") if value else None


def request_document(
    session: Session, case: Case, classes: dict[str, CaseClass], depts: dict[int, str]
) -> dict[str, Any]:
    """One service request as GeoReport v2 publishes it: the citizen's own report and a neutral status."""
    shown = case
    if case.status == "merged" and case.merged_into_id:
        shown = session.get(Case, case.merged_into_id) or case  # its progress, never its number or notes
    notes = MERGED_NOTE if case.status == "merged" else PUBLIC_NOTES.get(shown.status)
    cls = classes.get(case.class_code)
    media = session.execute(
        select(CasePhoto.id).where(CasePhoto.case_id == case.id, CasePhoto.stage == "open311")
    ).first()
    return {
        "service_request_id": case.number,
        "status": "closed" if shown.status in CLOSED else "open",
        "status_notes": notes,
        "service_name": cls.name if cls else case.class_code,
        "service_code": case.class_code,
        "description": case.description,
        "agency_responsible": depts.get(shown.department_id or 0),
        "service_notice": None,
        "requested_datetime": _iso(case.reported_at),
        "updated_datetime": _iso(shown.updated_at),
        "expected_datetime": _iso(shown.deadline),
        "address": case.address or None,
        "address_id": None,
        "zipcode": None,
        "lat": case.lat,
        "long": case.lon,
        "media_url": case.external_ref
        if case.external_ref and case.external_ref.startswith("http") and media is None
        else None,
    }


def rate_key(ip: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """The unit the hourly cap counts: one IPv4 address, or the /64 an IPv6 address belongs to."""
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    prefix = 32 if addr.version == 4 else 64
    return ipaddress.ip_network(f"{addr}/{prefix}", strict=False)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def recent_submissions(session: Session, ip: str, *, limit: int) -> tuple[int, int]:
    """(reports from this address or /64 in the last hour, seconds until one more is allowed)."""
    now = utcnow()
    since = now - timedelta(hours=1)
    net = rate_key(ip)
    if net is None or net.version == 4:
        # IPv4 (and a mapped IPv4 written either way): the plain and the ::ffff: form count together
        names = [ip] if net is None else [str(net.network_address), f"::ffff:{net.network_address}"]
        times = [
            _aware(t)
            for t in session.execute(
                select(Case.reported_at)
                .where(Case.reporter_ip.in_(names), Case.reported_at >= since)
                .order_by(Case.reported_at.desc())
                .limit(limit)
            ).scalars()
        ]
    else:
        # compressed IPv6 text has no fixed /64 prefix, but its first group is exact: narrow by it in SQL
        first = ip.split(":", 1)[0] + ":"
        rows = session.execute(
            select(Case.reporter_ip, Case.reported_at).where(
                Case.reporter_ip.startswith(first, autoescape=True), Case.reported_at >= since
            )
        ).all()
        times = sorted((_aware(at) for addr, at in rows if rate_key(addr or "") == net), reverse=True)
    count = len(times)
    if count < limit:
        return count, 0
    oldest_counted = times[limit - 1]  # one more is allowed once this one is an hour old
    return count, max(1, math.ceil((oldest_counted + timedelta(hours=1) - now).total_seconds()))


def check_submission_rate(session: Session, ip: str, *, per_hour: int) -> None:
    """Public reports are capped per address (IPv6: per /64) per hour; over the cap is a 429 with Retry-After."""
    _, retry_after = recent_submissions(session, ip, limit=per_hour)
    if retry_after:
        raise TooManyRequests(
            f"too many requests from this address, retry after {retry_after} s"
            f" / 本地址提交过于频繁，请 {retry_after} 秒后再试",
            retry_after,
        )


def check_page(page: int, page_size: int) -> None:
    errors = []
    if page < 1:
        errors.append(FieldError("page 须为正整数", field="page"))
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        errors.append(FieldError(f"page_size 须在 1–{MAX_PAGE_SIZE} 之间", field="page_size"))
    if errors:
        raise Invalid(f"page/page_size out of range / 分页参数超出范围（每页最多 {MAX_PAGE_SIZE} 条）", errors)


# --- the public side, for the citizen portal: the same rules Open311 publishes by


@dataclass(frozen=True)
class PublicCase:
    """A case as the public may see it: the citizen's own words and place, and one neutral status sentence.

    No reporter, no timeline note, no handler; ``department_id`` is only for the 好差评 of a closed case.
    """

    id: int
    number: str
    token: str | None
    class_code: str
    class_name: str
    closed: bool
    status_note: str
    description: str
    address: str
    lon: float
    lat: float
    reported_at: datetime
    updated_at: datetime
    department_id: int | None


OPEN_STATUSES = ("reported", "verifying", "dispatching", "handling", "checking", "on_hold")


def _public_case(session: Session, case: Case, names: dict[str, str]) -> PublicCase:
    shown = case
    if case.status == "merged" and case.merged_into_id:
        shown = session.get(Case, case.merged_into_id) or case  # its progress, never its number or notes
    note = MERGED_NOTE if case.status == "merged" else PUBLIC_NOTES.get(shown.status, "")
    return PublicCase(
        id=case.id,
        number=case.number,
        token=case.token,
        class_code=case.class_code,
        class_name=names.get(case.class_code, case.class_code),
        closed=shown.status in CLOSED,
        status_note=note,
        description=case.description,
        address=case.address,
        lon=case.lon,
        lat=case.lat,
        reported_at=case.reported_at,
        updated_at=shown.updated_at,
        department_id=shown.department_id,
    )


def public_case(session: Session, *, token: str) -> PublicCase | None:
    """A public case by its token; a case from an internal source is ``None``, exactly like a missing one."""
    case = find_public(session, token=token) if token else None
    return _public_case(session, case, _class_names(session)) if case is not None else None


def progress(session: Session, *, case_ids: Sequence[int]) -> dict[int, PublicCase]:
    """The public view of cases the caller already owns a link to (a citizen's own reports), by id."""
    if not case_ids:
        return {}
    names = _class_names(session)
    rows = session.execute(select(Case).where(Case.id.in_(case_ids))).scalars()
    return {c.id: _public_case(session, c, names) for c in rows}


def public_cases_near(
    session: Session, *, lon: float, lat: float, radius_m: float, limit: int = 10
) -> list[tuple[PublicCase, float]]:
    """Open public cases within ``radius_m`` of a point, nearest first, with their distance in metres."""
    dlat = radius_m / 110_540.0
    dlon = radius_m / (111_320.0 * max(0.1, math.cos(math.radians(lat))))
    rows = session.execute(
        select(Case)
        .where(
            Case.source.in_(public_sources(session)),
            Case.status.in_(OPEN_STATUSES),
            Case.lon.between(lon - dlon, lon + dlon),
            Case.lat.between(lat - dlat, lat + dlat),
        )
        .order_by(Case.reported_at.desc())
        .limit(200)
    ).scalars()
    names = _class_names(session)
    near = [(c, _distance_m(lon, lat, c.lon, c.lat)) for c in rows]
    near = sorted(((c, d) for c, d in near if d <= radius_m), key=lambda p: p[1])[:limit]
    return [(_public_case(session, c, names), round(d, 1)) for c, d in near]


def check_public_rate(session: Session, ip: str) -> None:
    """The Open311 cap (``open311_reports_per_hour`` per address, IPv6 per /64), counted over every public channel."""
    check_submission_rate(session, ip, per_hour=int(config(session)["open311_reports_per_hour"]))


def _class_names(session: Session) -> dict[str, str]:
    return {c.code: c.name for c in session.execute(select(CaseClass)).scalars()}


def _distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_000.0 * math.asin(math.sqrt(a))
