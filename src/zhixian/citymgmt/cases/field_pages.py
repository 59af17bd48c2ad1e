"""Pages and look-ups for the people who work cases in the street: 我的上报, the place under a point,
and the inspector's start on the home page (a 上报 button and their own reports)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from zhixian.citymgmt import service
from zhixian.citymgmt.cases import places
from zhixian.platform.actor import Actor
from zhixian.subsystems import HomeCard
from zhixian.web.auth import Require
from zhixian.web.deps import SessionDep
from zhixian.web.pagination import PageParams, page_params
from zhixian.web.templating import render

router = APIRouter(prefix="/citymgmt", include_in_schema=False)
api_router = APIRouter(prefix="/api/v1/citymgmt", tags=["数字城管"])
Reporter = Annotated[Actor, Depends(Require("citymgmt.report"))]

# 我的上报 filter: what an inspector asks of their own reports
REPORT_STATES = {"open": "办理中", "closed": "已结案", "rejected": "不予立案", "merged": "已合并"}
GROUP = "数字城管"


def my_reports_filter(actor: Actor, state: str | None = None) -> service.CaseFilter:
    """The actor's own reports (any channel they reported through), optionally by state: one definition
    for the home card's figure and the list it opens."""
    mine = service.CaseFilter(reporter_id=actor.user_id)
    if state == "open":  # every unfinished report, 挂账缓办 included
        return mine.with_(status="open", on_hold="include")
    return mine.with_(status=state if state in REPORT_STATES else None)


@router.get("/reports/mine")
def my_reports(
    request: Request,
    session: SessionDep,
    actor: Reporter,
    paging: Annotated[PageParams, Depends(page_params)],
    state: Annotated[str | None, Query(max_length=16)] = None,
) -> HTMLResponse:
    state = state if state in REPORT_STATES else None
    rows, total = service.list_cases(
        session, actor=actor, flt=my_reports_filter(actor, state), offset=paging.offset, limit=paging.size
    )
    return render(
        request,
        "citymgmt/my_reports.html",
        actor,
        rows=[service.case_read(session, c) for c in rows],
        places=places.places(session, rows),
        total=total,
        page=paging.page,
        size=paging.size,
        state=state or "",
        states=REPORT_STATES,
        base_query=urlencode({"state": state} if state else {}),
    )


@api_router.get("/places", summary="位置查询：坐标所在网格、社区、街道与最近的标准地址（上报前确认位置）")
def where(
    session: SessionDep,
    actor: Reporter,
    lon: Annotated[float, Query(ge=-180, le=180, description="经度（WGS 84）")],
    lat: Annotated[float, Query(ge=-90, le=90, description="纬度（WGS 84）")],
) -> dict[str, Any]:
    return places.where(session, lon, lat)


# --- home page: the 上报 button is the primary menu entry (subsystem.py); these are the figures


def home_cards(session: Session, actor: Actor, _settings: Any) -> list[HomeCard]:
    """我的上报 and those still being handled; each opens exactly the list it counts."""
    if not actor.can("citymgmt.report"):
        return []
    _, total = service.list_cases(session, actor=actor, flt=my_reports_filter(actor), limit=1)
    _, open_ = service.list_cases(session, actor=actor, flt=my_reports_filter(actor, "open"), limit=1)
    return [
        HomeCard(title="我的上报", value=total, href="/citymgmt/reports/mine", group=GROUP),
        HomeCard(title="我的上报中办理中", value=open_, href="/citymgmt/reports/mine?state=open", group=GROUP),
    ]
