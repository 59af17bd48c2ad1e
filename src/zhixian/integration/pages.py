"""HTML pages of integration: sources with mapping and preview, runs, quarantine, conflicts, quality."""

from __future__ import annotations

import io
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from openpyxl import Workbook
from sqlalchemy import select

from zhixian.catalog import service as catalog_service
from zhixian.catalog.models import Resource
from zhixian.db import SessionDep
from zhixian.errors import DomainError
from zhixian.integration import basedata, quarantine, service, worker
from zhixian.integration.api import Cipher, start_in_background
from zhixian.integration.schemas import MappingIn, ResubmitIn
from zhixian.platform.actor import Actor
from zhixian.web.auth import Require, SettingsDep
from zhixian.web.templating import render

router = APIRouter(include_in_schema=False)

Viewer = Annotated[Actor, Depends(Require("integration.view"))]
Runner = Annotated[Actor, Depends(Require("integration.run"))]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _targets(session: SessionDep, actor: Actor) -> list[Resource]:
    rows = (
        session.execute(
            select(Resource)
            .where(
                Resource.status == "published",
                Resource.classified.is_(False),
                Resource.key_field != "",
                Resource.base_library != "地理",
            )
            .order_by(Resource.code)
        )
        .scalars()
        .all()
    )
    if actor.county_scope:
        return list(rows)
    names = catalog_service.department_names(session)
    return [r for r in rows if r.kind == "基础" or names.get(r.department_id) == actor.department_name]


def _index(request: Request, actor: Actor, session: SessionDep, error: str = "", status: int = 200) -> HTMLResponse:
    sources = [service.source_read(session, s) for s in service.list_sources(session, actor=actor)]
    return render(
        request,
        "integration/index.html",
        actor,
        status_code=status,
        sources=sources,
        runs=service.list_runs(session, actor=actor, limit=30),
        targets=_targets(session, actor),
        error=error,
    )


@router.get("/integration")
def index(request: Request, actor: Viewer, session: SessionDep) -> HTMLResponse:
    return _index(request, actor, session)


@router.post("/integration/sources")
def upload(
    request: Request,
    actor: Runner,
    session: SessionDep,
    settings: SettingsDep,
    file: Annotated[UploadFile, File()],
    name: Annotated[str, Form(max_length=200)],
    resource_id: Annotated[int, Form(ge=1)],
) -> Response:
    try:
        row = service.create_file_source(
            session,
            actor=actor,
            settings=settings,
            name=name,
            resource_id=resource_id,
            filename=file.filename or "",
            stream=file.file,
        )
    except DomainError as exc:
        session.rollback()
        detail = exc.detail + ("：" + "；".join(e.message for e in exc.errors[:5]) if exc.errors else "")
        return _index(request, actor, session, error=detail, status=exc.status)
    return RedirectResponse(f"/integration/sources/{row.id}", status_code=303)


@router.get("/integration/sources/{source_id}")
def source_page(
    request: Request, source_id: int, actor: Runner, session: SessionDep, cipher: Cipher, settings: SettingsDep
) -> HTMLResponse:
    row = service.get_source(session, actor=actor, source_id=source_id)
    error = ""
    preview = None
    try:
        preview = service.preview(session, actor=actor, cipher=cipher, settings=settings, source_id=source_id)
    except DomainError as exc:
        error = exc.detail
    return render(
        request,
        "integration/source.html",
        actor,
        s=service.source_read(session, row),
        preview=preview,
        runs=service.list_runs(session, actor=actor, source_id=source_id),
        error=error,
    )


@router.post("/integration/sources/{source_id}/mapping")
async def save_mapping(request: Request, source_id: int, actor: Runner, session: SessionDep) -> Response:
    form = await request.form()
    columns = {k.removeprefix("map_"): str(v) for k, v in form.items() if k.startswith("map_") and v}
    try:
        service.set_mapping(session, actor=actor, source_id=source_id, data=MappingIn(columns=columns))
    except DomainError as exc:
        session.rollback()
        return render(
            request,
            "integration/message.html",
            actor,
            status_code=exc.status,
            title="映射未保存",
            message=exc.detail,
            back=f"/integration/sources/{source_id}",
        )
    return RedirectResponse(f"/integration/sources/{source_id}", status_code=303)


@router.post("/integration/sources/{source_id}/run")
def run(request: Request, source_id: int, actor: Runner, session: SessionDep) -> Response:
    try:
        started = service.start_run(session, actor=actor, source_id=source_id)
    except DomainError as exc:
        session.rollback()
        return render(
            request,
            "integration/message.html",
            actor,
            status_code=exc.status,
            title="未能开始运行",
            message=exc.detail,
            back=f"/integration/sources/{source_id}",
        )
    start_in_background(request, session, started.id)
    return RedirectResponse(f"/integration/runs/{started.id}", status_code=303)


@router.post("/integration/runs/{run_id}/resume")
def resume(request: Request, run_id: int, actor: Runner, session: SessionDep) -> Response:
    run = service.queue_resume(session, actor=actor, run_id=run_id)
    start_in_background(request, session, run.id)
    return RedirectResponse(f"/integration/runs/{run.id}", status_code=303)


def _report_context(session: SessionDep, actor: Actor, run_id: int) -> dict[str, Any]:
    row = service.get_run(session, actor=actor, run_id=run_id)
    return {
        "r": row,
        "view": service.run_read(session, row),
        "active": row.status in ("queued", "running"),
        "stalled": row.status == "running" and not worker.in_flight(row.id),
        "source": service.get_source(session, actor=actor, source_id=row.source_id),
    }


@router.get("/integration/runs/{run_id}")
def run_page(request: Request, run_id: int, actor: Viewer, session: SessionDep) -> HTMLResponse:
    return render(request, "integration/run.html", actor, **_report_context(session, actor, run_id))


@router.get("/integration/runs/{run_id}/report")
def run_report(request: Request, run_id: int, actor: Viewer, session: SessionDep) -> HTMLResponse:
    """The report fragment the run page polls (htmx, every 2 s) while the run is queued or running."""
    return render(request, "integration/_run_report.html", actor, **_report_context(session, actor, run_id))


@router.get("/integration/quarantine")
def quarantine_list(
    request: Request, actor: Viewer, session: SessionDep, source_id: int | None = None, status: str = "open"
) -> HTMLResponse:
    rows = quarantine.list_quarantine(session, actor=actor, source_id=source_id, status=status)
    return render(request, "integration/quarantine.html", actor, rows=rows, status=status, source_id=source_id)


@router.get("/integration/quarantine/{quarantine_id}")
def quarantine_row(
    request: Request, quarantine_id: int, actor: Runner, session: SessionDep, cipher: Cipher
) -> HTMLResponse:
    row = quarantine.get_quarantine(session, actor=actor, quarantine_id=quarantine_id)
    data = quarantine.quarantine_data(session, actor=actor, cipher=cipher, row=row)
    return render(request, "integration/fix.html", actor, q=row, data=data, errors=row.reasons, message="")


@router.post("/integration/quarantine/{quarantine_id}")
async def fix(
    request: Request, quarantine_id: int, actor: Runner, session: SessionDep, cipher: Cipher, settings: SettingsDep
) -> Response:
    form = await request.form()
    if form.get("do") == "discard":
        quarantine.discard(session, actor=actor, quarantine_id=quarantine_id)
        return RedirectResponse("/integration/quarantine", status_code=303)
    values = {k.removeprefix("col_"): str(v) for k, v in form.items() if k.startswith("col_")}
    row, done, errors = quarantine.resubmit(
        session,
        actor=actor,
        cipher=cipher,
        settings=settings,
        quarantine_id=quarantine_id,
        data=ResubmitIn(values=values),
    )
    if done is None:
        return render(
            request,
            "integration/fix.html",
            actor,
            status_code=422,
            q=row,
            data=values,
            errors=errors,
            message="仍未通过校验，请按提示修改",
        )
    return RedirectResponse(f"/integration/quarantine?source_id={row.source_id}&done={row.id}", status_code=303)


@router.get("/integration/conflicts")
def conflicts(request: Request, actor: Viewer, session: SessionDep, cipher: Cipher) -> HTMLResponse:
    rows = [
        basedata.conflict_read(session, cipher=cipher, row=c) for c in basedata.list_conflicts(session, actor=actor)
    ]
    return render(request, "integration/conflicts.html", actor, rows=rows)


@router.post("/integration/conflicts/{conflict_id}")
def resolve(
    conflict_id: int,
    actor: Runner,
    session: SessionDep,
    cipher: Cipher,
    action: Annotated[str, Form(pattern="^(keep|replace)$")],
) -> Response:
    basedata.resolve_conflict(session, actor=actor, cipher=cipher, conflict_id=conflict_id, action=action)
    return RedirectResponse("/integration/conflicts", status_code=303)


@router.get("/integration/quality")
def quality(request: Request, actor: Viewer, session: SessionDep, overdue: int = 0) -> HTMLResponse:
    rows = basedata.latest_quality(session, actor=actor)
    if overdue:
        rows = [r for r in rows if r.overdue]
    return render(request, "integration/quality.html", actor, rows=rows, overdue=overdue)


@router.get("/integration/resources/{resource_id}/template.xlsx")
def template(resource_id: int, actor: Viewer, session: SessionDep) -> Response:
    """An empty workbook whose header is the resource's item names: fill it in and upload it as a source."""
    resource = catalog_service.get_resource(session, actor=actor, resource_id=resource_id)
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "数据"
    ws.append([i.name for i in resource.items])
    ws.append(
        [
            f"{i.data_type}{'，必填' if i.required or i.field_name == resource.key_field else ''}"
            f"{'，' + i.rule if i.rule else ''}"
            for i in resource.items
        ]
    )
    buf = io.BytesIO()
    wb.save(buf)
    return Response(
        buf.getvalue(),
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="template-{resource_id}.xlsx"'},
    )
