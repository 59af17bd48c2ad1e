"""Scoped reads of cases: who may see what, the list filters, and the read model with its light.

Every query starts from ``visible(actor)``, so a case outside the actor's scope answers 404.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select
from sqlalchemy.orm import Session

from zhixian.citymgmt.config.standards import SOURCES, STATUS_LABELS
from zhixian.citymgmt.models import Case, CaseClass, Task
from zhixian.citymgmt.schemas import CaseRead
from zhixian.clock import utcnow
from zhixian.errors import NotFound, NotPermitted
from zhixian.platform import service as platform
from zhixian.platform.actor import Actor

__all__ = ["CaseFilter", "case_query", "case_read", "get_case", "light", "list_cases", "visible"]


def visible(actor: Actor) -> ColumnElement[bool]:
    """Cases an actor may see: the centre and leaders all; a department its own; an inspector their own."""
    if actor.can("citymgmt.view") or actor.county_scope:
        return Case.id.is_not(None)
    conditions: list[ColumnElement[bool]] = []
    if actor.can("citymgmt.handle"):
        conditions.append(actor.department_filter(Case.department_path))  # type: ignore[arg-type]
    if actor.can("citymgmt.report"):
        conditions.append(Case.reporter_id == actor.user_id)
        conditions.append(exists().where(Task.case_id == Case.id, Task.assignee_id == actor.user_id))
    if not conditions:
        raise NotPermitted("没有查看案件的权限")
    return or_(*conditions)


def get_case(session: Session, *, actor: Actor, case_id: int) -> Case:
    row = session.execute(select(Case).where(Case.id == case_id, visible(actor))).scalar_one_or_none()
    if row is None:
        raise NotFound("案件不存在或无权查看")
    return row


@dataclass
class CaseFilter:
    status: str | None = None
    light: str | None = None  # red / yellow
    source: str | None = None
    class_code: str | None = None
    department_id: int | None = None
    grid_code: str | None = None
    community_code: str | None = None
    street_code: str | None = None
    q: str = ""
    open_only: bool = False
    closed: bool | None = None
    reported_from: datetime | None = None
    reported_to: datetime | None = None
    dispatched_from: datetime | None = None
    dispatched_to: datetime | None = None
    mine: bool = False
    extra: list[ColumnElement[bool]] = field(default_factory=list)


def case_query(  # noqa: PLR0912 - one condition per filter field
    actor: Actor, flt: CaseFilter, *, now: datetime | None = None
) -> Select[Any]:
    now = now or utcnow()
    query = select(Case).where(visible(actor))
    conds: list[ColumnElement[bool]] = list(flt.extra)
    if flt.status == "open":
        conds.append(Case.status.in_(("reported", "verifying", "dispatching", "handling", "checking", "on_hold")))
    elif flt.status:
        conds.append(Case.status == flt.status)
    if flt.light == "red":
        conds += [Case.status == "handling", Case.deadline < now]
    elif flt.light == "yellow":
        conds += [Case.status == "handling", Case.deadline >= now, Case.warn_at <= now]
    elif flt.light == "overdue_closed":
        conds += [Case.status == "closed", Case.completed_on_time.is_(False)]
    for column, value in (
        (Case.source, flt.source),
        (Case.class_code, flt.class_code),
        (Case.department_id, flt.department_id),
        (Case.grid_code, flt.grid_code),
        (Case.community_code, flt.community_code),
        (Case.street_code, flt.street_code),
    ):
        if value:
            conds.append(column == value)
    if flt.q:
        like = f"%{flt.q.replace('%', '').replace('_', '')}%"
        conds.append(or_(Case.number.like(like), Case.description.like(like), Case.address.like(like)))
    if flt.reported_from:
        conds.append(Case.reported_at >= flt.reported_from)
    if flt.reported_to:
        conds.append(Case.reported_at < flt.reported_to)
    if flt.dispatched_from:
        conds.append(Case.dispatched_at >= flt.dispatched_from)
    if flt.dispatched_to:
        conds.append(Case.dispatched_at < flt.dispatched_to)
    if flt.mine:
        conds.append(
            or_(
                and_(
                    Case.department_path.is_not(None),
                    actor.department_filter(Case.department_path),  # type: ignore[arg-type]
                    Case.status == "handling",
                ),
                exists().where(Task.case_id == Case.id, Task.assignee_id == actor.user_id, Task.done_at.is_(None)),
            )
        )
    if conds:
        query = query.where(*conds)
    return query


def list_cases(
    session: Session, *, actor: Actor, flt: CaseFilter, offset: int = 0, limit: int = 50, order: str = "recent"
) -> tuple[list[Case], int]:
    query = case_query(actor, flt)
    total = session.execute(select(func.count()).select_from(query.order_by(None).subquery())).scalar_one()
    ordering = (Case.deadline.asc(), Case.id) if order == "deadline" else (Case.reported_at.desc(), Case.id.desc())
    rows = session.execute(query.order_by(*ordering).offset(offset).limit(limit)).scalars().all()
    return list(rows), int(total)


def light(case: Case, now: datetime | None = None) -> Literal["green", "yellow", "red", "none"]:
    if case.status != "handling" or case.deadline is None:
        return "none"
    now = now or utcnow()
    if now > case.deadline:
        return "red"
    if case.warn_at is not None and now >= case.warn_at:
        return "yellow"
    return "green"


def case_read(
    session: Session, case: Case, *, names: dict[str, str] | None = None, now: datetime | None = None
) -> CaseRead:
    cls = session.get(CaseClass, case.class_code)  # identity map: one load per class per request
    dept = platform.get_department(session, case.department_id) if case.department_id else None
    return CaseRead(
        id=case.id,
        number=case.number,
        source=case.source,
        source_label=SOURCES.get(case.source, case.source),
        kind=case.kind,
        class_code=case.class_code,
        class_name=cls.name if cls else case.class_code,
        status=case.status,
        status_label=STATUS_LABELS.get(case.status, case.status),
        urgent=case.urgent,
        description=case.description,
        address=case.address,
        lon=case.lon,
        lat=case.lat,
        coord_note=case.coord_note,
        grid_code=case.grid_code,
        community_code=case.community_code,
        street_code=case.street_code,
        component_code=case.component_code,
        department_id=case.department_id,
        department_name=dept.name if dept else None,
        merged_into_id=case.merged_into_id,
        reported_at=case.reported_at,
        filed_at=case.filed_at,
        dispatched_at=case.dispatched_at,
        deadline=case.deadline,
        completed_at=case.completed_at,
        closed_at=case.closed_at,
        light=light(case, now),
        self_disposed=case.self_disposed,
        rework_count=case.rework_count,
        return_count=case.return_count,
        postpone_count=case.postpone_count,
        hold_count=case.hold_count,
        supervise_count=case.supervise_count,
    )
