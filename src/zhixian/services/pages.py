"""HTML pages of 一网通办: the matter catalogue, the window's 受理 desk and queue, an application with the
steps this user may take, and the printable 补正告知书."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from zhixian.errors import DomainError, Invalid
from zhixian.fields import Day
from zhixian.platform import uploads
from zhixian.platform.actor import Actor
from zhixian.services import kpi_pages, ratings_pages, result_pages, workflow
from zhixian.services.applications import materials
from zhixian.services.applications import service as applications
from zhixian.services.licences import service as licences
from zhixian.services.matters import excel
from zhixian.services.matters import service as matters
from zhixian.services.schemas import (
    CHANNELS,
    DEPTHS,
    KINDS,
    LEVELS,
    SOURCES,
    ApplicationIn,
    DecisionIn,
)
from zhixian.web.auth import Require, SettingsDep
from zhixian.web.deps import SessionDep
from zhixian.web.forms import FormErrors, form_errors, labels_of
from zhixian.web.params import IdPath, IdQuery
from zhixian.web.templating import render

router = APIRouter(include_in_schema=False)
router.include_router(ratings_pages.router)
router.include_router(kpi_pages.router)
router.include_router(result_pages.router)

Viewer = Annotated[Actor, Depends(Require("services.view"))]
Cataloguer = Annotated[Actor, Depends(Require("services.catalog"))]
Window = Annotated[Actor, Depends(Require("services.window"))]
PAGE = 50
APP_LABELS = labels_of(ApplicationIn)
ACT_LABELS = {
    "notes": "其他需补正的事项",
    "reason": "不予受理理由",
    "note": "意见",
    "decision": "决定",
    "licence_id": "电子证照",
    "file": "材料文件",
}


def _vocab(**extra: Any) -> dict[str, Any]:
    return {
        "kinds": KINDS,
        "levels": LEVELS,
        "depths": DEPTHS,
        "channels": CHANNELS,
        "sources": SOURCES,
        "status_labels": workflow.STATUS_LABELS,
        "light_labels": workflow.LIGHT_LABELS,
        "action_labels": workflow.ACTIONS,
        **extra,
    }


# --- matters


def _matters_page(
    request: Request, actor: Actor, session: SessionDep, flt: matters.MatterFilter, page: int, **extra: Any
) -> HTMLResponse:
    rows, total = matters.list_matters(session, actor=actor, flt=flt, offset=(page - 1) * PAGE, limit=PAGE)
    depts = matters.Departments(session)
    figures = []
    for key, label in SOURCES.items():
        part = matters.MatterFilter(**{**vars(flt), "source": key})
        _, n = matters.list_matters(session, actor=actor, flt=part, limit=0)
        figures.append((f"含{label}材料的事项", n, "/services/matters?" + part.query_string()))
    owners = sorted(
        {r.department_id for r in matters.list_matters(session, actor=actor, flt=matters.MatterFilter(), limit=1000)[0]}
    )
    return render(
        request,
        "services/matters.html",
        actor,
        status_code=422 if extra.get("errors") else 200,
        **_vocab(
            rows=[matters.matter_read(r, depts) for r in rows],
            total=total,
            page=page,
            size=PAGE,
            base_query=flt.query_string(),
            flt=flt,
            figures=figures,
            departments=[(d, depts.name(d)) for d in owners],
            errors=extra.pop("errors", FormErrors()),
            **extra,
        ),
    )


@router.get("/services/matters")
def matter_list(
    request: Request,
    actor: Viewer,
    session: SessionDep,
    q: Annotated[str, Query(max_length=100)] = "",
    kind: Annotated[str, Query(max_length=20)] = "",
    level: Annotated[str, Query(max_length=8)] = "",
    source: Annotated[str, Query(max_length=10)] = "",
    department_id: IdQuery = None,
    instant: bool = False,
    compressed: bool = False,
    mine: bool = False,
    material: Annotated[str, Query(max_length=200)] = "",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> HTMLResponse:
    flt = matters.MatterFilter(
        q=q,
        kind=kind,
        level=level,
        department_id=department_id,
        source=source if source in SOURCES else "",
        instant=instant,
        compressed=compressed,
        mine=mine,
        material=material,
    )
    return _matters_page(request, actor, session, flt, page)


@router.post("/services/matters/import")
def matter_import(
    request: Request, actor: Cataloguer, session: SessionDep, file: Annotated[UploadFile | None, File()] = None
) -> HTMLResponse:
    message, errors = "", FormErrors()
    try:
        if file is None or not file.filename:
            raise Invalid("请选择要导入的 Excel 文件", field="file")
        content = uploads.read_limited(file.file, uploads.SPREADSHEET_MAX_BYTES)
        result = excel.import_matters(session, actor=actor, content=content)
        message = f"导入完成：{result.rows} 个事项，新增 {result.created}，更新 {result.updated}"
    except DomainError as exc:
        session.rollback()
        errors = form_errors(exc, {"file": "事项清单文件"}, fallback="未导入任何事项")
    return _matters_page(request, actor, session, matters.MatterFilter(), 1, message=message, errors=errors)


@router.get("/services/matters/export")
def matter_export(actor: Viewer, session: SessionDep) -> Response:
    content = excel.export_matters(session, actor=actor, flt=matters.MatterFilter())
    headers = {"Content-Disposition": "attachment; filename*=UTF-8''%E4%BA%8B%E9%A1%B9%E6%B8%85%E5%8D%95.xlsx"}
    return Response(content, media_type=excel_media(), headers=headers)


def excel_media() -> str:
    return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/services/matters/{matter_id}")
def matter_detail(request: Request, actor: Viewer, session: SessionDep, matter_id: IdPath) -> HTMLResponse:
    row = matters.get_matter(session, actor=actor, matter_id=matter_id)
    depts = matters.Departments(session)
    _, n = applications.list_applications(
        session, actor=actor, flt=applications.ApplicationFilter(matter_id=row.id), limit=0
    )
    return render(
        request,
        "services/matter.html",
        actor,
        **_vocab(
            m=matters.matter_read(row, depts),
            type_names=licences.type_names(session),
            applications=n,
            applications_href="/services/applications?"
            + applications.ApplicationFilter(matter_id=row.id).query_string(),
        ),
    )


# --- the window


def _desk(
    request: Request, actor: Actor, session: SessionDep, form: dict[str, Any], errors: FormErrors | None = None
) -> HTMLResponse:
    rows, _ = matters.list_matters(session, actor=actor, flt=matters.MatterFilter(), limit=2000)
    depts = matters.Departments(session)
    grouped: dict[str, list[tuple[int, str]]] = {}
    for r in rows:
        grouped.setdefault(depts.name(r.department_id), []).append((r.id, f"{r.name}（{r.level}级）"))
    queue = []
    for status in workflow.INTAKE:
        flt = applications.ApplicationFilter(box="intake", status=status)
        items, n = applications.list_applications(session, actor=actor, flt=flt, limit=20)
        reads = [applications.application_read(session, actor, r, depts, full=True) for r in items]
        queue.append((workflow.STATUS_LABELS[status], n, "/services/applications?" + flt.query_string(), reads))
    return render(
        request,
        "services/window.html",
        actor,
        status_code=422 if errors else 200,
        **_vocab(matter_groups=sorted(grouped.items()), form=form, queue=queue, errors=errors or FormErrors()),
    )


@router.get("/services/window")
def window(request: Request, actor: Window, session: SessionDep, matter_id: IdQuery = None) -> HTMLResponse:
    return _desk(
        request, actor, session, {"matter_id": matter_id or "", "applicant_kind": "person", "channel": "window"}
    )


@router.post("/services/window")
async def window_create(request: Request, actor: Window, session: SessionDep, settings: SettingsDep) -> Response:
    form = dict((await request.form()).items())
    form.pop("csrf_token", None)
    raw = {k: v for k, v in form.items() if isinstance(v, str)}
    try:
        data = ApplicationIn.model_validate({**raw, "consent": raw.get("consent") == "on"})
        row = applications.create(session, actor=actor, settings=settings, cipher=request.app.state.cipher, data=data)
    except (ValidationError, DomainError) as exc:
        session.rollback()
        raw.pop("applicant_key", None)  # never echo an ID number back into the page
        return _desk(request, actor, session, raw, form_errors(exc, APP_LABELS, title="未收件"))
    return RedirectResponse(f"/services/applications/{row.id}", status_code=303)


# --- applications


@router.get("/services/applications")
def application_list(
    request: Request,
    actor: Viewer,
    session: SessionDep,
    box: Annotated[str, Query(pattern="^(|intake|handling)$")] = "",
    status: Annotated[str, Query(max_length=12)] = "",
    light: Annotated[str, Query(pattern="^(|green|yellow|red|due)$")] = "",
    matter_id: IdQuery = None,
    department_id: IdQuery = None,
    channel: Annotated[str, Query(pattern="^(|window|point|online)$")] = "",
    since: Annotated[Day | None, Query()] = None,
    until: Annotated[Day | None, Query()] = None,
    on_time: Annotated[str, Query(pattern="^(|yes|no)$")] = "",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> HTMLResponse:
    status = status if status in workflow.STATUS_LABELS else ""
    flt = applications.ApplicationFilter(
        box=box,
        status=status,
        light=light,
        matter_id=matter_id,
        department_id=department_id,
        channel=channel,
        since=since,
        until=until,
        on_time=on_time,
    )
    rows, total = applications.list_applications(session, actor=actor, flt=flt, offset=(page - 1) * PAGE, limit=PAGE)
    depts = matters.Departments(session)
    figures = []
    for value in ("green", "yellow", "red"):
        part = applications.ApplicationFilter(**{**vars(flt), "light": value})
        _, n = applications.list_applications(session, actor=actor, flt=part, limit=0)
        figures.append((workflow.LIGHT_LABELS[value], value, n, "/services/applications?" + part.query_string()))
    return render(
        request,
        "services/applications.html",
        actor,
        **_vocab(
            rows=[applications.application_read(session, actor, r, depts) for r in rows],
            total=total,
            page=page,
            size=PAGE,
            base_query=flt.query_string(),
            flt=flt,
            figures=figures,
            filter_note=_filter_note(flt),
        ),
    )


def _filter_note(flt: applications.ApplicationFilter) -> str:
    """The filters the form does not show (set by a KPI's link), in words."""
    parts = []
    if flt.channel:
        parts.append({"online": "网上申请", "window": "窗口收件", "point": "便民服务点收件"}[flt.channel])
    if flt.since or flt.until:
        parts.append(f"收件日期 {flt.since or '最早'} 至 {flt.until or '今天'}")
    if flt.on_time:
        parts.append("按时办结" if flt.on_time == "yes" else "超期办结")
    return "筛选：" + "；".join(parts) if parts else ""


def _detail(
    request: Request,
    actor: Actor,
    session: SessionDep,
    application_id: int,
    errors: FormErrors | None = None,
    **extra: Any,
) -> HTMLResponse:
    row = applications.get_application(session, actor=actor, application_id=application_id)
    read = applications.application_read(session, actor, row, matters.Departments(session), full=True)
    names = licences.type_names(session)
    held = []
    if "cite" in read.actions and row.consent:
        held = [licences.licence_read(x, names) for x in licences.held_by(session, holder_index=row.applicant_index)]
    rated = ratings_pages.rating_of(session, row.id)
    return render(
        request,
        "services/application.html",
        actor,
        status_code=422 if errors else 200,
        **_vocab(
            a=read,
            held=held,
            licence_types=names,
            rated=rated,
            may_rate=ratings_pages.may_rate(actor, row) and rated is None,
            errors=errors or FormErrors(),
            **extra,
        ),
    )


@router.get("/services/applications/{application_id}")
def application_detail(request: Request, actor: Viewer, session: SessionDep, application_id: IdPath) -> HTMLResponse:
    return _detail(request, actor, session, application_id)


@router.get("/services/applications/{application_id}/notice")
def correction_notice(request: Request, actor: Viewer, session: SessionDep, application_id: IdPath) -> HTMLResponse:
    """补正告知书, printable (the browser's print to PDF)."""
    row = applications.get_application(session, actor=actor, application_id=application_id)
    read = applications.application_read(session, actor, row, matters.Departments(session))
    if not read.correction:
        raise Invalid("该办件没有补正告知")
    return render(request, "services/notice.html", actor, a=read)


def _act(
    session: SessionDep, actor: Actor, settings: Any, cipher: Any, application_id: int, do: str, form: dict[str, str]
) -> str:
    """One step on the application; what to tell the window (prefill says what it filled and what it could not)."""
    if do == "prefill":
        got = materials.prefill(session, actor=actor, settings=settings, cipher=cipher, application_id=application_id)
        return f"已预填 {len(got.filled)} 项材料" + "".join(f"；{k}未能预填：{v}" for k, v in got.refused.items())
    if do == "reject" and len(form["reason"].strip()) < 2:
        raise Invalid("请写明不予受理的理由", field="reason")
    steps = {
        "consent": lambda: applications.record_consent(session, actor=actor, application_id=application_id),
        "correction": lambda: applications.request_correction(
            session,
            actor=actor,
            application_id=application_id,
            notes=[x for x in form["notes"].splitlines() if x.strip()],
        ),
        "accept": lambda: applications.accept(session, actor=actor, settings=settings, application_id=application_id),
        "reject": lambda: applications.reject(
            session, actor=actor, application_id=application_id, reason=form["reason"]
        ),
        "review": lambda: applications.review(session, actor=actor, application_id=application_id, note=form["note"]),
        "decide": lambda: applications.decide(
            session,
            actor=actor,
            application_id=application_id,
            data=DecisionIn.model_validate({"decision": form["decision"], "note": form["note"]}),
        ),
        "finish": lambda: applications.finish(session, actor=actor, application_id=application_id),
    }
    if do not in steps:
        raise Invalid("不支持的操作", field="do")
    steps[do]()
    return ""


@router.post("/services/applications/{application_id}/act")
def application_act(
    request: Request,
    actor: Viewer,
    session: SessionDep,
    settings: SettingsDep,
    application_id: IdPath,
    do: Annotated[str, Form(max_length=20)],
    notes: Annotated[str, Form(max_length=4000)] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
    decision: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    form = {"notes": notes, "reason": reason, "note": note, "decision": decision}
    try:
        message = _act(session, actor, settings, request.app.state.cipher, application_id, do, form)
    except (ValidationError, DomainError) as exc:
        session.rollback()
        if isinstance(exc, DomainError) and exc.status == 404:
            raise
        return _detail(request, actor, session, application_id, form_errors(exc, ACT_LABELS, title="未办理"))
    if message:
        return _detail(request, actor, session, application_id, message=message)
    return RedirectResponse(f"/services/applications/{application_id}", status_code=303)


@router.post("/services/applications/{application_id}/materials/{material_id}")
def material_act(
    request: Request,
    actor: Window,
    session: SessionDep,
    settings: SettingsDep,
    application_id: IdPath,
    material_id: IdPath,
    do: Annotated[str, Form(max_length=20)],
    licence_id: Annotated[str, Form(max_length=20)] = "",
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    try:
        if do == "cite":
            if not licence_id.isdigit():
                raise Invalid("请选择电子证照", field="licence_id")
            materials.cite_licence(
                session,
                actor=actor,
                application_id=application_id,
                material_row_id=material_id,
                licence_id=int(licence_id),
            )
        elif do == "upload":
            if file is None or not file.filename:
                raise Invalid("请选择材料文件", field="file")
            content = uploads.read_limited(file.file, uploads.SPREADSHEET_MAX_BYTES, field="file", label="材料文件")
            materials.receive_upload(
                session,
                actor=actor,
                settings=settings,
                application_id=application_id,
                material_row_id=material_id,
                file_name=file.filename,
                content=content,
            )
        else:
            raise Invalid("不支持的操作", field="do")
    except DomainError as exc:
        session.rollback()
        if exc.status == 404:
            raise
        return _detail(request, actor, session, application_id, form_errors(exc, ACT_LABELS, title="材料未处理"))
    return RedirectResponse(f"/services/applications/{application_id}#materials", status_code=303)
