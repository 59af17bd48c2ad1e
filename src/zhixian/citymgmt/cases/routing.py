"""Where a case goes next, with the reason: the suggested department and the merge candidates.

The 派遣员 must see *why* a department is suggested (a component's maintainer, the class's default,
the 属地 rule) and be able to overrule it quickly; the 受理员 must see why two cases may be one, or
why none qualifies. ``service.suggest_department`` is this module's rule without the words.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhixian.citymgmt.cases.places import division_names
from zhixian.citymgmt.config.classes import class_table
from zhixian.citymgmt.config.parameters import config
from zhixian.citymgmt.models import Case, CaseEvent, Component
from zhixian.citymgmt.schemas import DuplicateRead
from zhixian.platform import service as platform

if TYPE_CHECKING:
    from zhixian.platform.models import Department

__all__ = [
    "DispatchChoices",
    "MergeChoices",
    "Suggestion",
    "dispatch_choices",
    "merge_choices",
    "suggest",
]

TOWNSHIP_KIND = "乡镇街道"


@dataclass(frozen=True)
class Suggestion:
    """The suggested department, which rule chose it (component / class / territory / none) and why, in words."""

    department_id: int | None
    rule: str
    reason: str


def _territory(session: Session, case: Case, cls_name: str) -> Suggestion:
    """属地: the government of the street or township the case lies in."""
    if not case.street_code:
        return Suggestion(None, "none", f"类别“{cls_name}”按属地处置，但案件位置不在任何街道/乡镇内，请手工选择")
    where = division_names(session).get(case.street_code) or case.street_code
    dept = platform.department_by_code(session, f"xz{case.street_code[6:9]}")
    if dept is None:
        return Suggestion(None, "none", f"类别“{cls_name}”按属地处置，但{where}没有登记对应的政府部门，请手工选择")
    return Suggestion(dept.id, "territory", f"类别“{cls_name}”按属地处置：案件位于{where}，由属地政府办理")


def suggest(session: Session, case: Case) -> Suggestion:
    """Component maintainer (or owner) first, then the class's department; ``@属地`` → the street's government."""
    if case.component_code:
        comp = session.execute(select(Component).where(Component.code == case.component_code)).scalar_one_or_none()
        if comp is not None and (comp.maintainer_department_id or comp.owner_department_id):
            role = "养护单位" if comp.maintainer_department_id else "权属单位"
            dept_id = comp.maintainer_department_id or comp.owner_department_id
            return Suggestion(dept_id, "component", f"部件 {comp.code}（{comp.name}）登记的{role}")
    cls = class_table(session).get(case.class_code)
    code = cls.department_code if cls else None
    if cls is None or not code:
        what = f"类别“{cls.name}”未设定处置部门（应用维护 → 分类）" if cls else f"类别 {case.class_code} 已不在分类表中"
        return Suggestion(None, "none", f"{what}，请手工选择处置部门")
    if code == "@属地":
        return _territory(session, case, cls.name)
    dept = platform.department_by_code(session, code)
    if dept is None:
        return Suggestion(
            None, "none", f"类别“{cls.name}”设定的处置部门编码 {code} 在部门表中不存在，请在应用维护中修正"
        )
    return Suggestion(dept.id, "class", f"类别“{cls.name}”在应用维护中设定的默认处置部门")


# --- the dispatch form


@dataclass(frozen=True)
class DeptOption:
    id: int
    name: str
    note: str  # "建议" / "曾回退" …, shown beside the name


@dataclass(frozen=True)
class DispatchChoices:
    suggestion: Suggestion
    suggested_name: str
    groups: list[tuple[str, list[DeptOption]]]
    returned_by: list[str]


def _pinyin_key(dept: Department) -> str:
    """Sort county departments by the pinyin of their short name (公安局 → gong an ju), not by code points."""
    from pypinyin import lazy_pinyin  # deferred: its dictionaries take ~0.9 s to load

    return " ".join(lazy_pinyin(dept.short_name or dept.name))


def _returned_by(session: Session, case: Case) -> set[int]:
    rows = session.execute(
        select(CaseEvent.department_id).where(CaseEvent.case_id == case.id, CaseEvent.step == "回退")
    ).scalars()
    return {r for r in rows if r}


def dispatch_choices(session: Session, case: Case) -> DispatchChoices:
    """The suggested department first, then township governments in division order, then county
    departments by pinyin; departments that already returned this case are marked."""
    suggestion = suggest(session, case)
    returned = _returned_by(session, case)
    depts = platform.list_departments(session)
    by_id = {d.id: d for d in depts}

    def option(d: Department, note: str = "") -> DeptOption:
        marks = [note] if note else []
        if d.id in returned:
            marks.append("曾回退本案")
        return DeptOption(d.id, d.name, "，".join(marks))

    groups: list[tuple[str, list[DeptOption]]] = []
    suggested = by_id.get(suggestion.department_id or 0)
    if suggested is not None:
        groups.append(("建议", [option(suggested, "建议")]))
    rest = [d for d in depts if d is not suggested]
    towns = sorted(
        (d for d in rest if d.kind == TOWNSHIP_KIND or d.division_code), key=lambda d: d.division_code or d.code
    )
    county = sorted((d for d in rest if d not in towns), key=_pinyin_key)
    if county:
        groups.append(("县级部门（按拼音排序）", [option(d) for d in county]))
    if towns:
        groups.append(("乡镇街道（按区划代码排序）", [option(d) for d in towns]))
    return DispatchChoices(
        suggestion=suggestion,
        suggested_name=suggested.name if suggested is not None else "",
        groups=groups,
        returned_by=[by_id[i].name for i in sorted(returned) if i in by_id],
    )


# --- the merge form


@dataclass(frozen=True)
class MergeCandidate:
    id: int
    number: str
    reason: str


@dataclass(frozen=True)
class MergeChoices:
    candidates: list[MergeCandidate]
    why_none: str
    rule: str


def _hours(a: datetime, b: datetime) -> str:
    h = abs((a - b).total_seconds()) / 3600
    return f"{h * 60:.0f} 分钟" if h < 1 else f"{h:.1f} 小时"


def merge_choices(
    session: Session, case: Case, duplicates: list[DuplicateRead], statuses: dict[str, str]
) -> MergeChoices:
    """Near-duplicates (same class, within the distance and time window) with the reason each qualifies."""
    cfg = config(session)
    radius, window = float(cfg["duplicate_distance_m"]), float(cfg["duplicate_hours"])
    cls = class_table(session).get(case.class_code)
    cls_name = cls.name if cls else case.class_code
    rule = f"同类别、相距 {radius:g} 米以内、上报时间前后 {window:g} 小时以内的未办结案件"
    out = []
    for d in duplicates:
        when = "早于本案" if d.reported_at <= case.reported_at else "晚于本案"
        out.append(
            MergeCandidate(
                d.id,
                d.number,
                f"同为“{cls_name}”，相距 {d.distance_m:g} 米，上报{when} {_hours(d.reported_at, case.reported_at)}，"
                f"{statuses.get(d.status, d.status)}",
            )
        )
    why = ""
    if not out:
        why = (
            f"没有可合并的案件：{window:g} 小时内、{radius:g} 米范围内没有“{cls_name}”类的未办结案件。"
            "判定范围可在 应用维护 → 运行参数 中调整。"
        )
    return MergeChoices(out, why, rule)
