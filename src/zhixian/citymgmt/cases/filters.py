"""The case filter: one definition of "which cases", shared by lists, figures, the map and evaluation.

A figure on any screen is a ``CaseFilter``: its number is the count of the cases the filter selects
and its link is the case list with the same filter as query parameters (``to_params``), read back by
``from_params``. So a number and the list it opens cannot drift apart: there is nothing to keep in step.
Empty query parameters mean "no filter"; dates are Beijing calendar days, both ends included.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import date, datetime, time, timedelta
from typing import Any, Literal
from urllib.parse import urlencode

from sqlalchemy import ColumnElement, and_, or_, select, true

from zhixian.citymgmt.config.standards import PUBLIC_SOURCES, SOURCES, STATUS_LABELS
from zhixian.citymgmt.models import Case, Grid
from zhixian.clock import LOCAL_TZ
from zhixian.errors import FieldError, Invalid
from zhixian.fields import DATE_MAX, DATE_MIN, ID_MAX

__all__ = ["ACTIVE_STATUSES", "CASE_LIST", "FILTER_LABELS", "NO_AREA", "CaseFilter", "conditions", "href"]

CASE_LIST = "/citymgmt/cases"
# 在办: being worked on. 挂账缓办 is set aside by the shift lead (long-term or seasonal work) and is
# counted on its own, as evaluation does (结案率 = 结案数 / (应结案数 − 缓办数)); ``on_hold=include`` adds it.
ACTIVE_STATUSES = ("reported", "verifying", "dispatching", "handling", "checking")
NO_AREA = "none"  # street/community/grid code of cases outside every grid (属地未定)
PUBLIC = "public"  # source group: first reported by the public (hotline, Open311)
LIGHTS = {"red": "超期", "yellow": "临期", "overdue_closed": "超期结案"}
HOLD = {"include": "含挂账缓办", "exclude": "不含挂账缓办"}

FILTER_LABELS: dict[str, str] = {
    "q": "编号/描述/地址",
    "status": "状态",
    "on_hold": "挂账缓办",
    "light": "时限",
    "source": "来源",
    "class_code": "类别",
    "department_id": "处置部门",
    "street_code": "街道/镇",
    "community_code": "社区/村",
    "grid_code": "网格",
    "reporter_id": "上报人",
    "grid_inspector_id": "责任监督员",
    "reported_from": "上报起",
    "reported_to": "上报止",
    "filed_from": "立案起",
    "filed_to": "立案止",
    "dispatched_from": "派遣起",
    "dispatched_to": "派遣止",
    "closed_from": "结案起",
    "closed_to": "结案止",
    "filed": "已立案",
    "dispatched": "已派遣",
    "completed": "已处置",
    "on_time": "按期处置",
    "reworked": "返工过",
    "postponed": "延期过",
    "held": "缓办过",
    "mine": "我的待办",
}

_DATES = ("reported", "filed", "dispatched", "closed")
_AREAS = ("street_code", "community_code", "grid_code")


@dataclass(frozen=True)
class CaseFilter:
    """Which cases; every field is optional and ``None``/empty means "any"."""

    status: str | None = None  # a status, or "open" (在办)
    on_hold: Literal["include", "exclude"] | None = None  # 挂账缓办: default excluded from "open" only
    light: str | None = None  # red / yellow / overdue_closed
    source: str | None = None  # a source, or "public"
    class_code: str | None = None
    department_id: int | None = None
    street_code: str | None = None  # a code, or NO_AREA
    community_code: str | None = None
    grid_code: str | None = None
    reporter_id: int | None = None
    grid_inspector_id: int | None = None  # cases in the grids this inspector is responsible for
    q: str = ""
    reported_from: date | None = None
    reported_to: date | None = None
    filed_from: date | None = None
    filed_to: date | None = None
    dispatched_from: date | None = None
    dispatched_to: date | None = None
    closed_from: date | None = None
    closed_to: date | None = None
    filed: bool | None = None
    dispatched: bool | None = None
    completed: bool | None = None  # the department has reported it done
    on_time: bool | None = None  # completed within the time limit
    reworked: bool | None = None
    postponed: bool | None = None
    held: bool | None = None  # ever put on hold
    mine: bool = False

    def with_(self, **changes: Any) -> CaseFilter:
        return replace(self, **changes)

    def to_params(self) -> dict[str, str]:
        """The filter as query parameters, in field order, defaults left out."""
        out: dict[str, str] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None or value == "" or (f.name == "mine" and not value):
                continue
            if isinstance(value, bool):
                out[f.name] = "1" if value else "0"
            else:
                out[f.name] = value.isoformat() if isinstance(value, date) else str(value)
        return out

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> CaseFilter:
        """Reads query parameters back; unknown ones are ignored, bad ones named in Chinese (422)."""
        values: dict[str, Any] = {}
        errors: list[FieldError] = []
        for f in fields(cls):
            raw = (params.get(f.name) or "").strip()
            if not raw:
                continue
            try:
                values[f.name] = _parse(f.name, raw)
            except ValueError as exc:
                errors.append(FieldError(f"{FILTER_LABELS[f.name]}：{exc}", field=f.name))
        if errors:
            raise Invalid("查询条件有误：" + "；".join(e.message for e in errors), errors)
        return cls(**values)

    def without(self, name: str) -> CaseFilter:
        """The same filter less one condition (a tag's "×" on the list page)."""
        return replace(self, **{name: _DEFAULTS[name]})

    def chips(self, names: Mapping[str, str] | None = None) -> list[tuple[str, str, str]]:
        """(field, label, shown value) of each condition, for the list page to say what it shows."""
        names = names or {}
        out = []
        for key, value in self.to_params().items():
            if key == "q":
                continue
            shown = {"1": "是", "0": "否"}.get(value, value) if key in _BOOLS else value
            if key == "status":
                shown = "在办" if value == "open" else STATUS_LABELS.get(value, value)
            elif key == "source":
                shown = "公众首报（12345、市民上报）" if value == PUBLIC else SOURCES.get(value, value)
            elif key == "light":
                shown = LIGHTS[value]
            elif key == "on_hold":
                shown = HOLD[value]
            elif key in _AREAS and value == NO_AREA:
                shown = "属地未定"
            else:
                shown = names.get(f"{key}:{value}", shown)
            out.append((key, FILTER_LABELS[key], shown))
        return out


_DEFAULTS: dict[str, Any] = {f.name: f.default for f in fields(CaseFilter)}
_CODE = re.compile(r"[A-Za-z0-9_.-]{1,20}")  # sources come from extensions too, so any code is allowed
_BOOLS = {"filed", "dispatched", "completed", "on_time", "reworked", "postponed", "held", "mine"}
_INTS = {"department_id", "reporter_id", "grid_inspector_id"}


def _parse(name: str, raw: str) -> Any:
    if name in _BOOLS:
        if raw in ("1", "true", "on", "yes"):
            return True
        if raw in ("0", "false", "off", "no"):
            return False
        raise ValueError("应为 1（是）或 0（否）")
    if name in _INTS:
        if not raw.isdigit() or not 1 <= int(raw) <= ID_MAX:
            raise ValueError("应为记录编号（正整数）")
        return int(raw)
    if name.endswith(("_from", "_to")):
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            raise ValueError("日期格式应为 YYYY-MM-DD") from None
        if not DATE_MIN <= day <= DATE_MAX:
            raise ValueError(f"日期须在 {DATE_MIN.isoformat()} 至 {DATE_MAX.isoformat()} 之间")
        return day
    checks: dict[str, tuple[Any, str]] = {
        "status": ({"open", *STATUS_LABELS}, "不是已知的状态"),
        "on_hold": (set(HOLD), "应为 include 或 exclude"),
        "light": (set(LIGHTS), "应为 red、yellow 或 overdue_closed"),
    }
    if name in checks and raw not in checks[name][0]:
        raise ValueError(checks[name][1])
    if name == "q" and len(raw) > 50:
        raise ValueError("最多 50 个字符")
    if name in (*_AREAS, "class_code", "source") and not _CODE.fullmatch(raw):
        raise ValueError("应为编码（字母、数字，最多 20 位）")
    return raw


def _start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=LOCAL_TZ)


def conditions(flt: CaseFilter, *, now: datetime) -> list[ColumnElement[bool]]:  # noqa: C901, PLR0912 - one block per field
    """The WHERE conditions of a filter (without the actor's scope, which ``queries.visible`` adds).

    ``mine`` needs the actor: ``queries.case_query`` adds it, since it also needs the department filter.
    """
    conds: list[ColumnElement[bool]] = []
    if flt.status == "open":
        statuses = ACTIVE_STATUSES + (("on_hold",) if flt.on_hold == "include" else ())
        conds.append(Case.status.in_(statuses))
    elif flt.status:
        conds.append(Case.status == flt.status)
    if flt.on_hold == "exclude":
        conds.append(Case.status != "on_hold")
    if flt.light == "red":
        conds += [Case.status == "handling", Case.deadline < now]
    elif flt.light == "yellow":
        conds += [Case.status == "handling", Case.deadline >= now, Case.warn_at <= now]
    elif flt.light == "overdue_closed":
        conds += [Case.status == "closed", Case.completed_on_time.is_(False)]
    if flt.source == PUBLIC:
        conds.append(Case.source.in_(PUBLIC_SOURCES))
    elif flt.source:
        conds.append(Case.source == flt.source)
    for column, value in (
        (Case.class_code, flt.class_code),
        (Case.department_id, flt.department_id),
        (Case.reporter_id, flt.reporter_id),
        (Case.street_code, flt.street_code),
        (Case.community_code, flt.community_code),
        (Case.grid_code, flt.grid_code),
    ):
        if value == NO_AREA:
            conds.append(column.is_(None))
        elif value:
            conds.append(column == value)
    if flt.grid_inspector_id:
        conds.append(Case.grid_code.in_(select(Grid.code).where(Grid.inspector_id == flt.grid_inspector_id)))
    if flt.q:
        like = f"%{flt.q.replace('%', '').replace('_', '')}%"
        conds.append(or_(Case.number.like(like), Case.description.like(like), Case.address.like(like)))
    moments = (Case.reported_at, Case.filed_at, Case.dispatched_at, Case.closed_at)
    for name, moment in zip(_DATES, moments, strict=True):
        lo, hi = getattr(flt, f"{name}_from"), getattr(flt, f"{name}_to")
        if lo:
            conds.append(moment >= _start(lo))
        if hi:
            conds.append(moment < _start(hi + timedelta(days=1)))
    for reached, moment in (
        (flt.filed, Case.filed_at),
        (flt.dispatched, Case.dispatched_at),
        (flt.completed, Case.completed_at),
    ):
        if reached is not None:
            conds.append(moment.is_not(None) if reached else moment.is_(None))
    if flt.on_time is not None:
        conds.append(Case.completed_on_time.is_(flt.on_time))
    counters = ((flt.reworked, Case.rework_count), (flt.postponed, Case.postpone_count), (flt.held, Case.hold_count))
    for value, counter in counters:
        if value is not None:
            conds.append(counter > 0 if value else counter == 0)
    return conds


def matches(flt: CaseFilter, *, now: datetime) -> ColumnElement[bool]:
    """The filter as one condition, for counting several figures in one grouped query."""
    conds = conditions(flt, now=now)
    return and_(*conds) if conds else true()


def href(flt: CaseFilter, *, base: str = CASE_LIST) -> str:
    """The case list that shows exactly the cases a figure with this filter counts."""
    params = flt.to_params()
    return f"{base}?{urlencode(params)}" if params else base


def day_range(start: datetime, end: datetime) -> tuple[date, date]:
    """Beijing days of a half-open [start, end) period, both ends included (a period ending at
    midnight ends the day before; one ending mid-day includes that day)."""
    last = (end - timedelta(microseconds=1)).astimezone(LOCAL_TZ).date()
    return start.astimezone(LOCAL_TZ).date(), last


def day_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """The half-open [start, end) datetimes of Beijing days ``first`` to ``last``, both included."""
    return _start(first), _start(last + timedelta(days=1))


def query_parameters() -> list[dict[str, Any]]:
    """The filter's query parameters as OpenAPI parameter objects, for the JSON list's documentation."""
    out = []
    for f in fields(CaseFilter):
        schema: dict[str, Any] = {"type": "string"}
        if f.name in _BOOLS:
            schema = {"type": "string", "enum": ["", "1", "0"]}
        elif f.name in _INTS:
            schema = {"type": "integer", "minimum": 1, "maximum": ID_MAX}
        elif f.name.endswith(("_from", "_to")):
            schema = {"type": "string", "format": "date"}
        elif f.name == "status":
            schema = {"type": "string", "enum": ["", "open", *STATUS_LABELS]}
        elif f.name == "on_hold":
            schema = {"type": "string", "enum": ["", *HOLD]}
        elif f.name == "light":
            schema = {"type": "string", "enum": ["", *LIGHTS]}
        elif f.name == "q":
            schema = {"type": "string", "maxLength": 50}
        else:
            schema = {"type": "string", "pattern": "^[A-Za-z0-9_.-]{0,20}$"}
        out.append(
            {"name": f.name, "in": "query", "required": False, "description": FILTER_LABELS[f.name], "schema": schema}
        )
    return out
