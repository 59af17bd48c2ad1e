"""The KPI page and the lists its figures open that no other page lists (application materials, and ratings
and rectifications within a period). Applications and matters open their own lists."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from zhixian.clock import LOCAL_TZ, local_today
from zhixian.fields import Day
from zhixian.platform.actor import Actor
from zhixian.services import kpis, replaceable
from zhixian.services.matters import service as matters
from zhixian.services.ratings import service as ratings
from zhixian.services.schemas import GRADES, SOURCES
from zhixian.web.auth import Require, SettingsDep
from zhixian.web.deps import SessionDep
from zhixian.web.templating import render

router = APIRouter(include_in_schema=False)
Viewer = Annotated[Actor, Depends(Require("services.view"))]
Reporter = Annotated[Actor, Depends(Require(replaceable.REPORT))]
PAGE = 50
STATE_LABELS = {"missing": "未收取", "uploaded": "申请人提交", "licence": "电子证照", "shared": "共享数据"}
PERIOD_STATES = {"given": "已收取的必要材料", "exempt": "免提交的必要材料", "uploaded": "申请人提交的必要材料"}


def _presets() -> list[tuple[str, str]]:
    today = local_today()
    return [
        ("本月", f"since={today.replace(day=1).isoformat()}"),
        ("本年", f"since={today.replace(month=1, day=1).isoformat()}"),
        ("全部", ""),
    ]


def _period_label(since: date | None, until: date | None) -> str:
    if not since and not until:
        return "全部时间"
    return f"{since.isoformat() if since else '最早'} 至 {until.isoformat() if until else '今天'}"


@router.get("/services/kpis")
def kpi_page(
    request: Request,
    actor: Viewer,
    session: SessionDep,
    settings: SettingsDep,
    since: Annotated[Day | None, Query()] = None,
    until: Annotated[Day | None, Query()] = None,
) -> HTMLResponse:
    rows = kpis.kpis(session, actor=actor, settings=settings, period=kpis.Period(since, until))
    return render(
        request,
        "services/kpis.html",
        actor,
        rows=rows,
        since=since,
        until=until,
        period=_period_label(since, until),
        presets=_presets(),
        scope="全县" if actor.county_scope else "本部门办理",
    )


def _list(
    request: Request, actor: Actor, title: str, heads: list[str], rows: list[list[tuple[str, str]]], **kw: Any
) -> HTMLResponse:
    return render(request, "services/kpi_list.html", actor, title=title, heads=heads, rows=rows, **kw)


@router.get("/services/kpis/materials")
def material_list(
    request: Request,
    actor: Viewer,
    session: SessionDep,
    state: Annotated[str, Query(pattern="^(|given|exempt|uploaded)$")] = "given",
    name: Annotated[str, Query(max_length=200)] = "",
    since: Annotated[Day | None, Query()] = None,
    until: Annotated[Day | None, Query()] = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> HTMLResponse:
    flt = kpis.MaterialFilter(since=since, until=until, state=state or "given", name=name)
    found, total = kpis.list_materials(session, actor=actor, flt=flt, offset=(page - 1) * PAGE, limit=PAGE)
    apps = kpis.application_labels(session, {m.application_id for m in found})
    rows = [
        [
            (apps.get(m.application_id, ("", ""))[0], f"/services/applications/{m.application_id}"),
            (apps.get(m.application_id, ("", ""))[1], ""),
            (m.name, ""),
            (SOURCES.get(m.source, m.source), ""),
            (STATE_LABELS.get(m.state, m.state), ""),
        ]
        for m in found
    ]
    return _list(
        request,
        actor,
        f"{PERIOD_STATES[flt.state]}{f'：{name}' if name else ''}（{_period_label(since, until)}）",
        ["办件编号", "事项", "材料", "清单所列方式", "实际收取方式"],
        rows,
        total=total,
        page=page,
        size=PAGE,
        base_query=flt.query_string(),
    )


@router.get("/services/kpis/ratings")
def rating_list(
    request: Request,
    actor: Viewer,
    session: SessionDep,
    settings: SettingsDep,
    good: bool = False,
    since: Annotated[Day | None, Query()] = None,
    until: Annotated[Day | None, Query()] = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> HTMLResponse:
    flt = kpis.RatingPeriodFilter(since=since, until=until, good=good)
    found, total = kpis.list_ratings(
        session, actor=actor, settings=settings, flt=flt, offset=(page - 1) * PAGE, limit=PAGE
    )
    apps = kpis.application_labels(session, {r.application_id for r in found if r.application_id is not None})
    depts = matters.Departments(session)

    def subject(r: Any) -> tuple[tuple[str, str], tuple[str, str]]:
        """An application's number and matter, or a public report's case (随手拍 ratings have no application)."""
        if r.application_id is None:
            return (r.case_number or "", ""), ("市民随手拍", "")  # the case opens in 数字城管 for its own roles
        number, matter = apps.get(r.application_id, ("", ""))
        return (number, f"/services/applications/{r.application_id}"), (matter, "")

    rows = [
        [
            *subject(r),
            (depts.name(r.department_id), ""),
            (GRADES.get(r.grade, str(r.grade)), ""),
            ("、".join(r.reasons) or r.comment or "—", ""),
        ]
        for r in found
    ]
    return _list(
        request,
        actor,
        f"{'好评' if good else '全部评价'}（{_period_label(since, until)}）",
        ["办件编号", "事项", "办理部门", "评价", "理由"],
        rows,
        total=total,
        page=page,
        size=PAGE,
        base_query=flt.query_string(),
    )


@router.get("/services/kpis/rectifications")
def rectification_list(
    request: Request,
    actor: Viewer,
    session: SessionDep,
    on_time: bool = False,
    since: Annotated[Day | None, Query()] = None,
    until: Annotated[Day | None, Query()] = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> HTMLResponse:
    flt = kpis.RectificationFilter(since=since, until=until, on_time=on_time)
    found, total = kpis.list_rectifications(session, actor=actor, flt=flt, offset=(page - 1) * PAGE, limit=PAGE)
    depts = matters.Departments(session)
    rows = []
    for r in found:
        read = ratings.rectification_read(r)
        rows.append(
            [
                (depts.name(r.department_id), ""),
                (f"{r.due_at.astimezone(LOCAL_TZ):%Y-%m-%d %H:%M} 前", ""),
                ("已整改" if r.status == "done" else "待整改", ""),
                ("逾期" if read.late else "按时", ""),
                (r.measures or "—", ""),
            ]
        )
    return _list(
        request,
        actor,
        f"{'按时完成的整改' if on_time else '已完成或已到期的整改'}（{_period_label(since, until)}）",
        ["部门", "整改时限", "状态", "是否按时", "整改措施"],
        rows,
        total=total,
        page=page,
        size=PAGE,
        base_query=flt.query_string(),
    )


@router.get("/services/replaceable")
def replaceable_page(request: Request, actor: Reporter, session: SessionDep) -> HTMLResponse:
    """政务数据主管部门: uploaded materials, the resources that could replace them, the grants still missing."""
    rows = replaceable.report(session, actor=actor)
    return render(
        request,
        "services/replaceable.html",
        actor,
        matched=[r for r in rows if r.candidates],
        unmatched=[r for r in rows if not r.candidates],
    )
