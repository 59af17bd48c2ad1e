"""HTML pages of usage transparency and documentation: who uses whose data (every figure opens its
calls), the county's statistics, one person's data use, the call list, and per-resource API docs."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse

from zhixian.errors import DomainError, NotFound
from zhixian.exchange import corrections, docs, reads, requests, sources, usage
from zhixian.exchange.pages import common
from zhixian.exchange.settings import CLOCK_SKEW_SECONDS, PAGE_SIZE_MAX
from zhixian.fields import Moment
from zhixian.platform.actor import Actor
from zhixian.web.auth import Require, SettingsDep
from zhixian.web.deps import SessionDep
from zhixian.web.forms import FormErrors, form_errors
from zhixian.web.params import IdPath, IdQuery
from zhixian.web.templating import render

router = APIRouter(include_in_schema=False)

Viewer = Annotated[Actor, Depends(Require("exchange.view"))]
Stats = Annotated[Actor, Depends(Require("exchange.stats"))]
PersonOfficer = Annotated[Actor, Depends(Require("exchange.usage.person"))]
PAGE = 50
RESULTS = ("成功", "拒绝", "失败")
PERSON_LABELS = {"id_number": "公民身份号码", "note": "查询事由"}


@router.get("/exchange/usage")
def usage_page(
    request: Request,
    actor: Viewer,
    session: SessionDep,
    side: Annotated[str, Query(pattern="^(provider|consumer|county)$")] = "provider",
    days: Annotated[int, Query(ge=1, le=366)] = 30,
) -> HTMLResponse:
    if side == "county" and not requests.is_authority(actor):
        side = "provider"
    rows = usage.usage_table(session, actor=actor, side=side, days=days)
    daily = usage.daily_calls(session, actor=actor, side=side, days=days)
    since = usage.window_start(days)
    flt_side = side if side != "county" else ""
    figures = []
    for result in RESULTS:
        flt = usage.CallFilter(since=since, side=flt_side, result=result)
        _, n = usage.list_calls(session, actor=actor, flt=flt, limit=0)
        figures.append((result, n, "/exchange/calls?" + flt.query_string()))
    all_flt = usage.CallFilter(since=since, side=flt_side)
    _, total = usage.list_calls(session, actor=actor, flt=all_flt, limit=0)
    known = usage.names(session)
    return render(
        request,
        "exchange/usage.html",
        actor,
        **common(
            side=side,
            days=days,
            rows=rows,
            daily=daily,
            daily_json=json.dumps(daily, ensure_ascii=False),
            figures=figures,
            total=total,
            total_href="/exchange/calls?" + all_flt.query_string(),
            known=known,
            authority=requests.is_authority(actor),
        ),
    )


@router.get("/exchange/calls")
def call_list(
    request: Request,
    actor: Viewer,
    session: SessionDep,
    application_id: IdQuery = None,
    resource_id: IdQuery = None,
    consumer_department_id: IdQuery = None,
    provider_department_id: IdQuery = None,
    grant_id: IdQuery = None,
    operation: Annotated[
        str, Query(pattern="^(|list|lookup|query|verify|changes|push|export|export_get|export_file|export_run)$")
    ] = "",
    result: Annotated[str, Query(pattern="^(|成功|拒绝|失败)$")] = "",
    side: Annotated[str, Query(pattern="^(|consumer|provider)$")] = "",
    via: Annotated[str, Query(pattern="^(|app|department)$")] = "",
    purpose: Annotated[str, Query(max_length=500)] = "",
    node: Annotated[str, Query(max_length=40, pattern=r"^[A-Za-z0-9._:-]*$")] = "",
    since: Annotated[Moment | None, Query()] = None,
    until: Annotated[Moment | None, Query()] = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> HTMLResponse:
    flt = usage.CallFilter(
        application_id=application_id,
        resource_id=resource_id,
        consumer_department_id=consumer_department_id,
        provider_department_id=provider_department_id,
        grant_id=grant_id,
        operation=operation,
        result=result,
        purpose=purpose,
        since=since,
        until=until,
        side=side,
        via=via,
        node=node,
    )
    rows, total = usage.list_calls(session, actor=actor, flt=flt, offset=(page - 1) * PAGE, limit=PAGE)
    names = reads.Names(session)
    resources = usage.names(session)["resources"]
    return render(
        request,
        "exchange/calls.html",
        actor,
        **common(
            rows=[reads.call_read(c, names, resources) for c in rows],
            total=total,
            page=page,
            size=PAGE,
            base_query=flt.query_string(),
            flt=flt,
            names=names,
            resources=resources,
        ),
    )


@router.get("/exchange/statistics")
def statistics_page(request: Request, actor: Stats, session: SessionDep, settings: SettingsDep) -> HTMLResponse:
    stats = usage.statistics(session, actor=actor, settings=settings)
    known = usage.names(session)
    figures = corrections.figures(session, actor=actor)
    return render(
        request, "exchange/statistics.html", actor, **common(s=stats, known=known, correction_figures=figures)
    )


@router.get("/exchange/person-usage")
def person_usage_form(request: Request, actor: PersonOfficer) -> HTMLResponse:
    return render(request, "exchange/person_usage.html", actor, **common(rows=None, errors=None, note=""))


@router.post("/exchange/person-usage")
def person_usage_page(
    request: Request,
    actor: PersonOfficer,
    session: SessionDep,
    id_number: Annotated[str, Form(max_length=30)] = "",
    note: Annotated[str, Form(max_length=500)] = "",
) -> HTMLResponse:
    errors: FormErrors | None = None
    try:
        rows: list[dict[str, Any]] | None = usage.person_usage(
            session, actor=actor, cipher=request.app.state.cipher, id_number=id_number, note=note
        )
    except DomainError as exc:
        rows, errors = None, form_errors(exc, PERSON_LABELS, title="未查询")
    return render(
        request,
        "exchange/person_usage.html",
        actor,
        status_code=422 if errors else 200,
        **common(rows=rows, errors=errors, note=note),
    )


@router.get("/exchange/docs")
def docs_index(
    request: Request, actor: Viewer, session: SessionDep, q: Annotated[str, Query(max_length=100)] = ""
) -> HTMLResponse:
    rows = [r for r in sources.published(session) if r.base_library != "地理" and (not q or q in r.name)]
    return render(
        request,
        "exchange/docs_index.html",
        actor,
        **common(rows=rows, q=q, names=reads.Names(session), example=docs.signature_example()),
    )


@router.get("/exchange/docs/{resource_id}")
def doc_page(
    request: Request, actor: Viewer, session: SessionDep, settings: SettingsDep, resource_id: IdPath
) -> HTMLResponse:
    source = sources.load(session, resource_id)
    if source is None or not source.servable:
        raise NotFound("目录中没有该资源，或该资源不通过共享网关提供")
    return render(
        request,
        "exchange/doc.html",
        actor,
        **common(
            source=source,
            items=docs.items(source, settings),
            endpoints=docs.endpoints(source, settings),
            errors_table=docs.ERRORS,
            example=docs.signature_example(),
            skew=settings.declared(CLOCK_SKEW_SECONDS),
            page_max=settings.declared(PAGE_SIZE_MAX),
        ),
    )
