"""The figures a county reports upward on 一网通办, each a share of two counts of records.

Every count is made by the function that lists its records (an ``ApplicationFilter``, ``MatterFilter``,
``MaterialFilter``, ``RatingPeriodFilter`` or ``RectificationFilter``), and the page links each count to that
list, so a figure can always be opened and checked record by record (反"盆景").

Definitions (what is counted, over the chosen period of 收件 / 评价 / 整改 creation dates):
- 材料减免率: required materials of applications satisfied by an 电子证照 or shared data, over required
  materials satisfied in any way (upload, licence, shared); a material still missing counts in neither.
- 全程网办率: applications taken in online, over all applications.
- 即办件比例: matters promised within one working day (当场或次日办结) or marked 即办件, over all matters
  (the catalogue as it stands; the period does not apply).
- 承诺时限压缩率: 1 − Σ承诺办结时限 / Σ法定办结时限 over the matters; the figures are the matters whose
  promised limit is shorter than the statutory one, and all matters.
- 按时办结率: applications finished on or before their due time, over all finished applications.
- 好评率: ratings of 4 or 5 (满意、非常满意), over all ratings.
- 差评整改按时率: rectifications done by their due time, over those done or past their due time.
Scope: the county for viewers with county scope (data authority, leaders); otherwise the applications,
matters, ratings and rectifications of the viewer's department and those below it (as the handling side).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from zhixian.clock import utcnow
from zhixian.platform.actor import Actor
from zhixian.services.applications import service as applications
from zhixian.services.matters import service as matters
from zhixian.services.models import ApplicationMaterial, Matter, Rating, Rectification, ServiceApplication
from zhixian.services.ratings import service as ratings
from zhixian.settings import Settings

EXEMPT = ("licence", "shared")
GIVEN = ("uploaded", "licence", "shared")


def _qs(obj: Any) -> str:
    return urlencode([(k, "1" if v is True else v) for k, v in vars(obj).items() if v not in ("", None, False)])


@dataclass(frozen=True)
class Period:
    since: date | None = None
    until: date | None = None


@dataclass(frozen=True)
class Figure:
    label: str
    value: int
    href: str


@dataclass(frozen=True)
class Kpi:
    code: str
    name: str
    numerator: Figure
    denominator: Figure
    definition: str
    rate: float | None  # 0..1, None when nothing is counted
    note: str = ""

    @property
    def percent(self) -> str:
        return "—" if self.rate is None else f"{self.rate * 100:.1f}%"


def box(actor: Actor) -> str:
    """County viewers see every application; a department sees those it handles."""
    return "" if actor.county_scope else "handling"


# --- materials of applications


@dataclass(frozen=True)
class MaterialFilter:
    since: date | None = None
    until: date | None = None
    state: str = "given"  # given: satisfied in any way; exempt: by a licence or shared data; uploaded
    name: str = ""  # materials of this name (the data authority's report of replaceable uploads)

    def query_string(self) -> str:
        return _qs(self)


def _material_stmt(actor: Actor, flt: MaterialFilter) -> Select[Any]:
    app_flt = applications.ApplicationFilter(box=box(actor), since=flt.since, until=flt.until)
    states = {"exempt": EXEMPT, "uploaded": ("uploaded",)}.get(flt.state, GIVEN)
    named = [ApplicationMaterial.name == flt.name] if flt.name else []
    return (
        select(ApplicationMaterial)
        .join(ServiceApplication, ServiceApplication.id == ApplicationMaterial.application_id)
        .where(
            *applications.conditions(actor, app_flt, utcnow()),
            ApplicationMaterial.required.is_(True),
            ApplicationMaterial.state.in_(states),
            *named,
        )
    )


def list_materials(
    session: Session, *, actor: Actor, flt: MaterialFilter, offset: int = 0, limit: int = 50
) -> tuple[list[ApplicationMaterial], int]:
    actor.require(applications.VIEW)
    stmt = _material_stmt(actor, flt)
    total = int(session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one())
    if limit <= 0:
        return [], total
    rows = session.execute(
        stmt.order_by(ApplicationMaterial.application_id.desc(), ApplicationMaterial.seq).offset(offset).limit(limit)
    ).scalars()
    return list(rows), total


def application_labels(session: Session, ids: set[int]) -> dict[int, tuple[str, str]]:
    """Application number and matter name per application id, for the rows of a list already scoped."""
    if not ids:
        return {}
    rows = session.execute(
        select(ServiceApplication, Matter.name)
        .join(Matter, Matter.id == ServiceApplication.matter_id)
        .where(ServiceApplication.id.in_(ids))
    ).all()
    return {app.id: (applications.number(app), name) for app, name in rows}


# --- ratings and rectifications in a period (the ratings list has no period of its own)


@dataclass(frozen=True)
class RatingPeriodFilter:
    since: date | None = None
    until: date | None = None
    good: bool = False

    def query_string(self) -> str:
        return _qs(self)


def list_ratings(
    session: Session,
    *,
    actor: Actor,
    settings: Settings,
    flt: RatingPeriodFilter,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[Rating], int]:
    actor.require(applications.VIEW)
    where = ratings.rating_conditions(actor, settings, ratings.RatingFilter(good=flt.good))
    stmt: Select[Any] = select(Rating).where(*where, *applications.period_conditions(Rating.at, flt.since, flt.until))
    total = int(session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one())
    if limit <= 0:
        return [], total
    rows = session.execute(stmt.order_by(Rating.id.desc()).offset(offset).limit(limit)).scalars()
    return list(rows), total


@dataclass(frozen=True)
class RectificationFilter:
    since: date | None = None
    until: date | None = None
    on_time: bool = False  # done by the due time

    def query_string(self) -> str:
        return _qs(self)


def _rectification_where(actor: Actor, flt: RectificationFilter) -> list[ColumnElement[bool]]:
    now = utcnow()
    out = [
        Rectification.id.is_not(None) if actor.county_scope else actor.department_filter(Rectification.department_path),
        (Rectification.status == "done") | (Rectification.due_at < now),  # 应整改: done, or its time is up
        *applications.period_conditions(Rectification.created_at, flt.since, flt.until),
    ]
    if flt.on_time:
        out.append((Rectification.status == "done") & (Rectification.done_at <= Rectification.due_at))
    return out


def list_rectifications(
    session: Session, *, actor: Actor, flt: RectificationFilter, offset: int = 0, limit: int = 50
) -> tuple[list[Rectification], int]:
    actor.require(applications.VIEW)
    stmt: Select[Any] = select(Rectification).where(*_rectification_where(actor, flt))
    total = int(session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one())
    if limit <= 0:
        return [], total
    rows = session.execute(stmt.order_by(Rectification.due_at.desc()).offset(offset).limit(limit)).scalars()
    return list(rows), total


# --- the figures


def _share(code: str, name: str, definition: str, num: Figure, den: Figure, note: str = "") -> Kpi:
    rate = num.value / den.value if den.value else None
    return Kpi(code, name, num, den, definition, rate, note)


def kpis(session: Session, *, actor: Actor, settings: Settings, period: Period) -> list[Kpi]:
    """The seven figures for the viewer's scope; each count comes from the list its link opens."""
    actor.require(applications.VIEW)
    since, until = period.since, period.until

    def apps(label: str, **kw: Any) -> Figure:
        flt = applications.ApplicationFilter(box=box(actor), since=since, until=until, **kw)
        _, n = applications.list_applications(session, actor=actor, flt=flt, limit=0)
        return Figure(label, n, "/services/applications?" + flt.query_string())

    def mats(label: str, state: str) -> Figure:
        flt = MaterialFilter(since=since, until=until, state=state)
        _, n = list_materials(session, actor=actor, flt=flt, limit=0)
        return Figure(label, n, "/services/kpis/materials?" + flt.query_string())

    def matter_fig(label: str, **kw: Any) -> Figure:
        flt = matters.MatterFilter(mine=not actor.county_scope, **kw)
        _, n = matters.list_matters(session, actor=actor, flt=flt, limit=0)
        return Figure(label, n, "/services/matters?" + flt.query_string())

    def rating_fig(label: str, *, good: bool) -> Figure:
        flt = RatingPeriodFilter(since=since, until=until, good=good)
        _, n = list_ratings(session, actor=actor, settings=settings, flt=flt, limit=0)
        return Figure(label, n, "/services/kpis/ratings?" + flt.query_string())

    def rect_fig(label: str, *, on_time: bool) -> Figure:
        flt = RectificationFilter(since=since, until=until, on_time=on_time)
        _, n = list_rectifications(session, actor=actor, flt=flt, limit=0)
        return Figure(label, n, "/services/kpis/rectifications?" + flt.query_string())

    promised, statutory = session.execute(
        select(func.coalesce(func.sum(Matter.promised_days), 0), func.coalesce(func.sum(Matter.statutory_days), 0))
        .select_from(Matter)
        .where(*matters.conditions(matters.MatterFilter(mine=not actor.county_scope), actor))
    ).one()
    all_matters, compressed = matter_fig("事项"), matter_fig("压缩时限的事项", compressed=True)
    compression = Kpi(
        "compression",
        "承诺时限压缩率",
        compressed,
        all_matters,
        "1 − 承诺办结时限合计 ÷ 法定办结时限合计",
        1 - int(promised) / int(statutory) if statutory else None,
        f"承诺合计 {int(promised)} 个工作日，法定合计 {int(statutory)} 个工作日",
    )
    return [
        _share(
            "materials",
            "材料减免率",
            "以电子证照或共享数据免提交的必要材料 ÷ 已收取的必要材料",
            mats("免提交的材料", "exempt"),
            mats("已收取的材料", "given"),
        ),
        _share(
            "online",
            "全程网办率",
            "网上申请的办件 ÷ 全部办件",
            apps("网上申请的办件", channel="online"),
            apps("全部办件"),
        ),
        _share(
            "instant",
            "即办件比例",
            "承诺 1 个工作日内办结或标为即办件的事项 ÷ 全部事项",
            matter_fig("即办件", instant=True),
            matter_fig("事项"),
        ),
        compression,
        _share(
            "on_time",
            "按时办结率",
            "在办结时限内办结的办件 ÷ 已办结的办件",
            apps("按时办结", status="done", on_time="yes"),
            apps("已办结", status="done"),
        ),
        _share(
            "good",
            "好评率",
            "满意、非常满意的评价 ÷ 全部评价",
            rating_fig("好评", good=True),
            rating_fig("全部评价", good=False),
        ),
        _share(
            "rectified",
            "差评整改按时率",
            "按时完成的整改 ÷ 已完成或已到期的整改",
            rect_fig("按时整改", on_time=True),
            rect_fig("应整改", on_time=False),
        ),
    ]
