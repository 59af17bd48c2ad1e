"""好差评: one five-grade rating per finished application or per closed citizen-reported city-management case
(channel ``report``); a bad one opens a rectification task for the (handling) department with a working-day
limit, escalated when it runs out; statistics whose every figure is counted by the same conditions as the list
it opens. Case ratings have no matter, so they count by department only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import ColumnElement, Select, case, func, select
from sqlalchemy.orm import Session

from zhixian.clock import utcnow
from zhixian.errors import Conflict, Invalid, NotFound, NotPermitted
from zhixian.platform import audit
from zhixian.platform import service as platform_service
from zhixian.platform.actor import Actor
from zhixian.services.applications import service as applications
from zhixian.services.models import Matter, Rating, Rectification
from zhixian.services.schemas import GRADES, RatingIn, RatingRead, RectificationRead, RectifyIn
from zhixian.services.settings import BAD_GRADE, RECTIFY_DAYS
from zhixian.settings import Settings

HEAD = "services.head"
RATEABLE = ("done", "rejected")


@dataclass(frozen=True)
class RatingFilter:
    department_id: int | None = None
    matter_id: int | None = None
    grade: int | None = None
    bad: bool = False
    good: bool = False

    def query_string(self) -> str:
        pairs = [(k, ("1" if v is True else v)) for k, v in vars(self).items() if v not in ("", None, False)]
        return urlencode(pairs)


def _scope(actor: Actor) -> ColumnElement[bool]:
    if actor.county_scope:
        return Rating.id.is_not(None)
    return actor.department_filter(Rating.department_path)


def rating_conditions(actor: Actor, settings: Settings, flt: RatingFilter) -> list[ColumnElement[bool]]:
    """The one definition of a rating list; figures and lists are both counted with it."""
    out = [_scope(actor)]
    if flt.department_id:
        out.append(Rating.department_id == flt.department_id)
    if flt.matter_id:
        out.append(Rating.matter_id == flt.matter_id)
    if flt.grade:
        out.append(Rating.grade == flt.grade)
    if flt.bad:
        out.append(Rating.grade <= settings.declared(BAD_GRADE))
    if flt.good:
        out.append(Rating.grade >= 4)
    return out


def list_ratings(
    session: Session, *, actor: Actor, settings: Settings, flt: RatingFilter, offset: int = 0, limit: int = 50
) -> tuple[list[Rating], int]:
    actor.require("services.view")
    stmt: Select[Any] = select(Rating).where(*rating_conditions(actor, settings, flt))
    total = int(session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one())
    if limit <= 0:
        return [], total
    rows = session.execute(stmt.order_by(Rating.id.desc()).offset(offset).limit(limit)).scalars()
    return list(rows), total


def rate(session: Session, *, actor: Actor, settings: Settings, application_id: int, data: RatingIn) -> Rating:
    """The applicant's rating, entered at the window's 评价器 (the citizen's own rating comes with the portal)."""
    app = applications.get_application(session, actor=actor, application_id=application_id)
    if not (actor.can(applications.WINDOW) and actor.sees_department(app.intake_path)):
        raise NotPermitted("只有受理窗口可以记录申请人的评价")
    if app.status not in RATEABLE:
        raise Conflict("办件办结或不予受理后才能评价")
    if session.execute(select(Rating.id).where(Rating.application_id == app.id)).scalar():
        raise Conflict("该办件已评价，每个办件只评价一次")
    row = Rating(
        application_id=app.id,
        matter_id=app.matter_id,
        department_id=app.department_id,
        department_path=app.department_path,
        channel=app.channel,
        recorded_by=actor.username,
    )
    return _record(session, settings, actor.audit, row, data, {"application": app.id})


def _record(
    session: Session, settings: Settings, ctx: audit.AuditContext, row: Rating, data: RatingIn, detail: dict[str, Any]
) -> Rating:
    """Save a rating; a bad one needs a reason and opens the department's rectification task."""
    bad = data.grade <= settings.declared(BAD_GRADE)
    reasons = [r.strip() for r in data.reasons if r.strip()]
    if bad and not reasons and not data.comment.strip():
        raise Invalid("差评须说明理由", field="reasons")
    row.grade, row.reasons, row.comment = data.grade, reasons, data.comment.strip()
    session.add(row)
    session.flush()
    detail = {**detail, "grade": data.grade, "reasons": reasons}
    if bad:
        due = platform_service.add_working_time(
            session, settings=settings, start=utcnow(), days=settings.declared(RECTIFY_DAYS)
        )
        task = Rectification(
            rating_id=row.id, department_id=row.department_id, department_path=row.department_path, due_at=due.at
        )
        session.add(task)
        session.flush()
        detail["rectification"] = task.id
    audit.record(session, ctx, action="services.rating", object_type="services_rating", object_id=row.id, detail=detail)
    return row


def rate_case(
    session: Session,
    *,
    settings: Settings,
    ctx: audit.AuditContext,
    case_id: int,
    case_number: str,
    department_id: int | None,
    recorded_by: str,
    data: RatingIn,
) -> Rating:
    """A citizen's rating of the closed case they reported (the caller has checked it is theirs and closed).

    The handling department answers for it; a case closed without one (e.g. 不予立案) has no one to rate.
    """
    if department_id is None:
        raise Conflict("该案件未派遣至处置部门，无需评价")
    if session.execute(select(Rating.id).where(Rating.case_id == case_id)).scalar():
        raise Conflict("该案件已评价，每个案件只评价一次")
    dept = platform_service.get_department(session, department_id)
    row = Rating(
        case_id=case_id,
        case_number=case_number,
        department_id=dept.id,
        department_path=dept.path,
        channel="report",
        recorded_by=recorded_by,
    )
    return _record(session, settings, ctx, row, data, {"case": case_number})


def rating_for_case(session: Session, *, case_id: int) -> Rating | None:
    """The rating of a citizen-reported case (the caller has already checked the case is theirs)."""
    return session.execute(select(Rating).where(Rating.case_id == case_id)).scalar_one_or_none()


def rating_for(session: Session, *, application_id: int) -> Rating | None:
    """The application's rating (the caller has already opened the application, so scope holds)."""
    return session.execute(select(Rating).where(Rating.application_id == application_id)).scalar_one_or_none()


def rating_read(session: Session, row: Rating) -> RatingRead:
    out = RatingRead.model_validate(row)
    out.grade_label = GRADES.get(row.grade, str(row.grade))
    out.rectification_id = session.execute(select(Rectification.id).where(Rectification.rating_id == row.id)).scalar()
    return out


# --- rectification


def _late(row: Rectification, now: datetime) -> bool:
    return (row.done_at or now) > row.due_at


def rectification_read(row: Rectification, now: datetime | None = None) -> RectificationRead:
    out = RectificationRead.model_validate(row)
    out.late = _late(row, now or utcnow())
    return out


def list_rectifications(
    session: Session, *, actor: Actor, status: str = "", late: bool = False, offset: int = 0, limit: int = 50
) -> tuple[list[Rectification], int]:
    actor.require("services.view")
    scope = (
        Rectification.id.is_not(None) if actor.county_scope else actor.department_filter(Rectification.department_path)
    )
    stmt: Select[Any] = select(Rectification).where(scope)
    if status:
        stmt = stmt.where(Rectification.status == status)
    if late:
        now = utcnow()
        stmt = stmt.where(func.coalesce(Rectification.done_at, now) > Rectification.due_at)
    total = int(session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one())
    if limit <= 0:
        return [], total
    rows = session.execute(stmt.order_by(Rectification.due_at).offset(offset).limit(limit)).scalars()
    return list(rows), total


def get_rectification(session: Session, *, actor: Actor, rectification_id: int) -> Rectification:
    actor.require("services.view")
    row = session.get(Rectification, rectification_id)
    if row is None or not actor.sees_department(row.department_path):
        raise NotFound("整改任务不存在或无权查看")
    return row


def rectify(session: Session, *, actor: Actor, rectification_id: int, data: RectifyIn) -> Rectification:
    """整改 and 回访: the department head records what was done and what the applicant said on callback."""
    row = get_rectification(session, actor=actor, rectification_id=rectification_id)
    if not actor.can(HEAD):
        raise NotPermitted("只有部门负责人可以办结差评整改")
    if row.status != "open":
        raise Conflict("整改任务已办结")
    now = utcnow()
    row.status, row.measures, row.callback, row.outcome = "done", data.measures, data.callback, data.outcome
    row.done_at, row.done_by = now, actor.username
    session.flush()
    audit.record(
        session,
        actor.audit,
        action="services.rectify",
        object_type="services_rectification",
        object_id=row.id,
        detail={"outcome": data.outcome, "late": _late(row, now)},
    )
    return row


def escalate(session: Session, *, now: datetime) -> int:
    """Open tasks past their limit are escalated once (to the county's supervision, on the audit trail)."""
    rows = session.execute(
        select(Rectification).where(
            Rectification.status == "open", Rectification.due_at < now, Rectification.escalated_at.is_(None)
        )
    ).scalars()
    n = 0
    for row in rows:
        row.escalated_at = now
        audit.record(
            session,
            audit.SYSTEM,
            action="services.rectify_escalate",
            object_type="services_rectification",
            object_id=row.id,
            detail={"late": True},
        )
        n += 1
    session.flush()
    return n


# --- statistics


@dataclass
class StatRow:
    key: int
    name: str
    total: int
    good: int
    bad: int

    @property
    def good_rate(self) -> str:
        return f"{self.good * 100 / self.total:.1f}%" if self.total else "—"


def statistics(session: Session, *, actor: Actor, settings: Settings, by: str) -> list[StatRow]:
    """Ratings by department or matter: total, 好评 (4–5) and 差评, each counted with ``rating_conditions``."""
    actor.require("services.view")
    column = Rating.department_id if by == "department" else Rating.matter_id
    bad_max = settings.declared(BAD_GRADE)
    stmt = (
        select(
            column,
            func.count(),
            func.sum(case((Rating.grade >= 4, 1), else_=0)),
            func.sum(case((Rating.grade <= bad_max, 1), else_=0)),
        )
        .where(*rating_conditions(actor, settings, RatingFilter()), column.is_not(None))
        .group_by(column)
    )
    rows = session.execute(stmt).all()
    if by == "department":
        names = {d.id: d.name for d in platform_service.list_departments(session)}
    else:
        ids = [r[0] for r in rows]
        names = dict(session.execute(select(Matter.id, Matter.name).where(Matter.id.in_(ids))).all())
    out = [StatRow(int(k), names.get(int(k), str(k)), int(t), int(g or 0), int(b or 0)) for k, t, g, b in rows]
    return sorted(out, key=lambda r: (-r.total, r.name))
