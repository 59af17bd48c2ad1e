"""Scoped reads of cases: who may see what, the list filters, and the read model with its light.

Every query starts from ``visible(actor)``, so a case outside the actor's scope answers 404.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, and_, case, exists, func, or_, select
from sqlalchemy.orm import Session

from zhixian.citymgmt.cases.filters import CaseFilter, conditions, matches
from zhixian.citymgmt.config.standards import SOURCES, STATUS_LABELS
from zhixian.citymgmt.models import Case, CaseClass, Task
from zhixian.citymgmt.schemas import CaseRead
from zhixian.clock import utcnow
from zhixian.errors import NotFound, NotPermitted
from zhixian.platform import service as platform
from zhixian.platform.actor import Actor

__all__ = [
    "CaseFilter",
    "case_query",
    "case_read",
    "count_cases",
    "count_cases_by",
    "get_case",
    "light",
    "list_cases",
    "visible",
]


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


def _where(actor: Actor, flt: CaseFilter, now: datetime | None) -> list[ColumnElement[bool]]:
    conds = [visible(actor), *conditions(flt, now=now or utcnow())]
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
    return conds


def case_query(actor: Actor, flt: CaseFilter, *, now: datetime | None = None) -> Select[Any]:
    """The cases a filter selects among those the actor may see."""
    return select(Case).where(*_where(actor, flt, now))


def count_cases(session: Session, *, actor: Actor, flt: CaseFilter, now: datetime | None = None) -> int:
    """How many cases the list with this filter shows: the number of every figure."""
    query = select(func.count()).select_from(Case).where(*_where(actor, flt, now))
    return int(session.execute(query).scalar_one())


def count_cases_by(
    session: Session, *, actor: Actor, flt: CaseFilter, column: Any, now: datetime | None = None
) -> dict[Any, int]:
    """The same count per value of a ``Case`` column (grid, street, source …), in one grouped query."""
    return {key: n for key, (n,) in count_cases_by_with(session, actor=actor, flt=flt, column=column, now=now).items()}


def count_cases_by_with(
    session: Session,
    *,
    actor: Actor,
    flt: CaseFilter,
    column: Any,
    narrower: Sequence[CaseFilter] = (),
    now: datetime | None = None,
) -> dict[Any, tuple[int, ...]]:
    """Per value of ``column``: the count of ``flt`` and, in the same pass, of each narrower filter
    (each must select a subset of ``flt``'s cases, e.g. 红灯 within 在办)."""
    now = now or utcnow()
    subsets = [func.sum(case((matches(f, now=now), 1), else_=0)) for f in narrower]
    query = select(column, func.count(), *subsets).select_from(Case).where(*_where(actor, flt, now)).group_by(column)
    return {row[0]: tuple(int(n or 0) for n in row[1:]) for row in session.execute(query)}


def list_cases(
    session: Session,
    *,
    actor: Actor,
    flt: CaseFilter,
    offset: int = 0,
    limit: int = 50,
    order: str = "recent",
    now: datetime | None = None,
) -> tuple[list[Case], int]:
    """A page of cases and the total, counted by ``count_cases`` like every figure that links here."""
    now = now or utcnow()
    query = case_query(actor, flt, now=now)
    total = count_cases(session, actor=actor, flt=flt, now=now)
    ordering = {
        "deadline": (Case.deadline.asc(), Case.id),
        "closed": (Case.closed_at.desc(), Case.id.desc()),
    }.get(order, (Case.reported_at.desc(), Case.id.desc()))
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
    session: Session,
    case: Case,
    *,
    names: dict[str, str] | None = None,  # noqa: ARG001 - the signature is fixed by its caller
    now: datetime | None = None,
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
