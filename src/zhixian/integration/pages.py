"""HTML pages of integration: sources with mapping and preview, runs, quarantine, conflicts, quality."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from zhixian.catalog import service as catalog_service
from zhixian.catalog.models import Resource
from zhixian.errors import Conflict, DomainError, FieldError, Invalid
from zhixian.exports import Sheet, xlsx_bytes
from zhixian.fields import Id, Name
from zhixian.integration import basedata, pipeline, quarantine, remote_sources, service, worker
from zhixian.integration.api import Cipher, start_in_background
from zhixian.integration.models import Source
from zhixian.integration.schemas import ConnectionIn, MappingIn, RemoteSourceIn, ResubmitIn, SourceSettings
from zhixian.platform import outbound
from zhixian.platform.actor import Actor
from zhixian.settings import Settings
from zhixian.web.auth import Require, SettingsDep
from zhixian.web.deps import SessionDep
from zhixian.web.forms import FormErrors, form_errors, refusal
from zhixian.web.params import IdPath, IdQuery
from zhixian.web.templating import render

router = APIRouter(include_in_schema=False)

Viewer = Annotated[Actor, Depends(Require("integration.view"))]
Runner = Annotated[Actor, Depends(Require("integration.run"))]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
KINDS = {"csv": "CSV 文件", "excel": "Excel 文件", "json": "JSON 文件", "sql": "SQL 数据库", "http": "HTTP 接口"}
# the fields of each remote-source form; the secret one (url for SQL, token for HTTP) is never sent back
REMOTE_FIELDS = {
    "sql": ("name", "resource_id", "url", "query", "timeout"),
    "http": ("name", "resource_id", "url", "records_key", "page_param", "size_param", "page_size", "token", "timeout"),
}
REMOTE_SECRET = {"sql": "url", "http": "token"}
LABELS = {
    "name": "名称",
    "kind": "类型",
    "resource_id": "加载到资源",
    "query": "查询语句",
    "timeout": "超时（秒）",
    "records_key": "记录字段",
    "page_param": "页码参数名",
    "size_param": "每页条数参数名",
    "page_size": "每页条数",
    "token": "令牌",
    "schedule": "定时",
    "incremental": "增量方式",
    "watermark_column": "水位列",
    "active": "启用",
}
URL_LABEL = {"sql": "连接串", "http": "接口地址"}
# messages of model-level checks, placed beside the field they are about
_MODEL_ERRORS = {
    "SQL 数据源须填写查询语句": "query",
    "按水位增量同步须指定水位列": "watermark_column",
    "SQL 数据源的水位列名只能含字母、数字、下划线": "watermark_column",
}


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


def _model_field(error: FieldError) -> str | None:
    """A rule about the whole record that is about one field: its message goes beside that field."""
    return _MODEL_ERRORS.get(error.message) if not error.field else None


def _index(
    request: Request,
    actor: Actor,
    session: SessionDep,
    status: int = 200,
    *,
    kind: str = "",
    form: dict[str, str] | None = None,
    errors: FormErrors | None = None,
) -> HTMLResponse:
    """The sources page; ``kind`` is the form that was refused ("file", "sql", "http"), shown again."""
    sources = [service.source_read(session, s) for s in service.list_sources(session, actor=actor)]
    return render(
        request,
        "integration/index.html",
        actor,
        status_code=status,
        sources=sources,
        runs=service.list_runs(session, actor=actor, limit=30),
        targets=_targets(session, actor),
        kinds=KINDS,
        labels=LABELS,
        refused_kind=kind,
        refused_form=form or {},
        refused_errors=errors or FormErrors(),
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
    file: Annotated[UploadFile | None, File()] = None,
    name: Annotated[str, Form(max_length=10_000)] = "",
    resource_id: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    labels = {**LABELS, "name": "数据源名称", "resource_id": "加载到目录资源", "file": "文件"}
    try:
        data = FileSourceForm.model_validate({"name": name, "resource_id": resource_id})
        if file is None or not file.filename:
            raise Invalid("请选择要上传的文件（CSV、Excel 或 JSON）", field="file")
        row = service.create_file_source(
            session,
            actor=actor,
            settings=settings,
            name=data.name,
            resource_id=data.resource_id,
            filename=file.filename,
            stream=file.file,
        )
    except (ValidationError, DomainError) as exc:
        session.rollback()
        errors = form_errors(exc, labels, on_form=("name", "resource_id", "file"), title="文件未保存")
        status = exc.status if isinstance(exc, DomainError) else 422
        form = {"name": name, "resource_id": resource_id}
        return _index(request, actor, session, status=status, kind="file", form=form, errors=errors)
    return RedirectResponse(f"/integration/sources/{row.id}", status_code=303)


class FileSourceForm(BaseModel):
    name: Name
    resource_id: Id


@router.post("/integration/sources/remote")
async def create_remote(
    request: Request, actor: Runner, session: SessionDep, cipher: Cipher, settings: SettingsDep
) -> Response:
    """The SQL and HTTP forms: the API's contract and service, plus the checks that need no connection."""
    form = await request.form()
    # in a worker thread: the address check resolves host names outside the database gate
    return await run_in_threadpool(_create_remote, request, actor, session, cipher, settings, form)


def _create_remote(
    request: Request, actor: Actor, session: Session, cipher: Cipher, settings: Settings, form: FormData
) -> Response:
    kind = str(form.get("kind", ""))
    if kind not in REMOTE_FIELDS:
        errors = refusal("数据源类型只能是 SQL 数据库或 HTTP 接口")
        return _index(request, actor, session, status=422, kind="sql", errors=errors)
    values = {f: str(form.get(f) or "").strip() for f in REMOTE_FIELDS[kind]}
    echo = {k: v for k, v in values.items() if k != REMOTE_SECRET[kind]}
    if "@" in echo.get("url", "").partition("?")[0]:
        echo.pop("url")  # an address with user:password@ in it: not shown again either
    labels = {**LABELS, "url": URL_LABEL[kind]}
    title = "SQL 数据源未建立" if kind == "sql" else "接口数据源未建立"
    try:
        data = RemoteSourceIn.model_validate({"kind": kind, **{k: v for k, v in values.items() if v}})
        row = remote_sources.create_remote_source(
            session, actor=actor, cipher=cipher, data=data, policy=outbound.Policy.of(settings)
        )
    except (ValidationError, DomainError) as exc:
        session.rollback()
        errors = form_errors(exc, labels, on_form=REMOTE_FIELDS[kind], title=title, place=_model_field)
        status = exc.status if isinstance(exc, DomainError) else 422
        return _index(request, actor, session, status=status, kind=kind, form=echo, errors=errors)
    return RedirectResponse(f"/integration/sources/{row.id}", status_code=303)


def _remote_config(row: Source) -> list[tuple[str, str]]:
    """What may be shown of a remote source's connection: everything but the secret."""
    cfg = row.config or {}
    timeout = f"{cfg.get('timeout', 30)} 秒"
    if row.kind == "sql":
        return [("连接串", "已加密保存，不显示"), ("查询语句", str(cfg.get("query", ""))), ("超时", timeout)]
    if row.kind == "http":
        return [
            ("接口地址", str(cfg.get("url", ""))),
            ("记录字段", str(cfg.get("records_key", "data"))),
            ("分页参数", f"{cfg.get('page_param', 'page')} / {cfg.get('size_param', 'size')}"),
            ("每页条数", str(cfg.get("page_size", 100))),
            ("令牌", "已设置（加密保存，不显示）" if row.secret_enc else "未设置"),
            ("超时", timeout),
        ]
    return []


def _source_page(
    request: Request,
    source_id: IdPath,
    actor: Actor,
    session: SessionDep,
    cipher: Cipher,
    settings: SettingsDep,
    *,
    status: int = 200,
    form: dict[str, Any] | None = None,
    errors: FormErrors | None = None,
    conn_form: dict[str, str] | None = None,
    conn_errors: FormErrors | None = None,
    mapping_form: dict[str, str] | None = None,
    mapping_errors: FormErrors | None = None,
) -> HTMLResponse:
    row = service.get_source(session, actor=actor, source_id=source_id)
    kept = {k: str(v) for k, v in (row.config or {}).items() if k in _CONNECTION_FIELDS.get(row.kind, ())}
    error = ""
    preview = None
    try:
        preview = service.preview(session, actor=actor, cipher=cipher, settings=settings, source_id=source_id)
    except DomainError as exc:
        error = exc.detail
    s = service.source_read(session, row)
    current = {
        "schedule": s.schedule,
        "incremental": s.incremental,
        "watermark_column": s.watermark_column,
        "active": s.active,
    }
    return render(
        request,
        "integration/source.html",
        actor,
        status_code=status,
        s=s,
        kinds=KINDS,
        config=_remote_config(row),
        preview=preview,
        runs=service.list_runs(session, actor=actor, source_id=source_id),
        error=error,
        settings_form=form or current,
        settings_errors=errors or FormErrors(),
        saved=request.query_params.get("saved") == "settings" and not errors,
        conn_fields=[
            (f, URL_LABEL[row.kind] if f == "url" else LABELS[f]) for f in _CONNECTION_FIELDS.get(row.kind, ())
        ],
        conn_form=conn_form if conn_form is not None else kept,
        conn_errors=conn_errors or FormErrors(),
        labels=LABELS,
        mapping_form=mapping_form,
        mapping_errors=mapping_errors or FormErrors(),
        conn_saved=request.query_params.get("saved") == "connection",
    )


@router.get("/integration/sources/{source_id}")
def source_page(
    request: Request, source_id: IdPath, actor: Runner, session: SessionDep, cipher: Cipher, settings: SettingsDep
) -> HTMLResponse:
    return _source_page(request, source_id, actor, session, cipher, settings)


_CONNECTION_FIELDS = {
    kind: tuple(f for f in fields if f not in ("name", "resource_id")) for kind, fields in REMOTE_FIELDS.items()
}


@router.post("/integration/sources/{source_id}/connection")
async def save_connection(
    request: Request, source_id: IdPath, actor: Runner, session: SessionDep, cipher: Cipher, settings: SettingsDep
) -> Response:
    """The connection given again, through the connection API's service function; secrets are never echoed."""
    form = await request.form()
    # in a worker thread: the address check and a refused form's preview wait outside the database gate
    return await run_in_threadpool(_save_connection, request, source_id, actor, session, cipher, settings, form)


def _save_connection(
    request: Request,
    source_id: int,
    actor: Actor,
    session: Session,
    cipher: Cipher,
    settings: Settings,
    form: FormData,
) -> Response:
    row = service.get_source(session, actor=actor, source_id=source_id)
    fields = _CONNECTION_FIELDS.get(row.kind, ())
    values = {f: str(form.get(f) or "").strip() for f in fields}
    labels = {**LABELS, "url": URL_LABEL.get(row.kind, "地址")}
    try:
        data = ConnectionIn.model_validate({"kind": row.kind, **{k: v for k, v in values.items() if v}})
        remote_sources.replace_connection(
            session, actor=actor, cipher=cipher, source_id=source_id, data=data, policy=outbound.Policy.of(settings)
        )
    except (ValidationError, DomainError) as exc:
        session.rollback()
        errors = form_errors(exc, labels, on_form=fields, title="连接未更换", place=_model_field)
        status = exc.status if isinstance(exc, DomainError) else 422
    else:
        return RedirectResponse(f"/integration/sources/{source_id}?saved=connection", status_code=303)
    echo = {k: v for k, v in values.items() if k != REMOTE_SECRET.get(row.kind) and not (k == "url" and "@" in v)}
    return _source_page(
        request, source_id, actor, session, cipher, settings, status=status, conn_form=echo, conn_errors=errors
    )


@router.post("/integration/sources/{source_id}/settings")
async def save_settings(
    request: Request, source_id: IdPath, actor: Runner, session: SessionDep, cipher: Cipher, settings: SettingsDep
) -> Response:
    """Schedule and incremental mode through the settings API's service function; refused input re-renders."""
    form = await request.form()
    values: dict[str, Any] = {
        "schedule": " ".join(str(form.get("schedule") or "").split()),
        "incremental": str(form.get("incremental") or "hash"),
        "watermark_column": str(form.get("watermark_column") or "").strip(),
        "active": form.get("active") == "on",
    }
    try:
        service.update_settings(session, actor=actor, source_id=source_id, data=SourceSettings.model_validate(values))
    except ValidationError as exc:
        errors, status = form_errors(exc, LABELS, title="设置未保存", place=_model_field), 422
    except DomainError as exc:
        session.rollback()
        if not exc.errors:
            raise  # not found, not permitted, ...: the error page
        errors, status = form_errors(exc, LABELS, title="设置未保存", place=_model_field), exc.status
    else:
        return RedirectResponse(f"/integration/sources/{source_id}?saved=settings", status_code=303)
    # the page previews the source: in a worker thread, so the remote read waits outside the gate
    return await run_in_threadpool(
        partial(_source_page, status=status, form=values, errors=errors),
        request,
        source_id,
        actor,
        session,
        cipher,
        settings,
    )


def _refused(
    request: Request, session: SessionDep, actor: Actor, exc: DomainError, title: str, source_id: int
) -> HTMLResponse:
    """An action on the source page that was refused: nothing kept, the reason, and the way back."""
    session.rollback()
    return render(
        request,
        "integration/message.html",
        actor,
        status_code=exc.status,
        title=title,
        message=exc.detail,
        back=f"/integration/sources/{source_id}",
    )


@router.post("/integration/sources/{source_id}/mapping")
async def save_mapping(
    request: Request, source_id: IdPath, actor: Runner, session: SessionDep, cipher: Cipher, settings: SettingsDep
) -> Response:
    form = await request.form()
    columns = {k.removeprefix("map_"): str(v) for k, v in form.items() if k.startswith("map_") and v}
    try:
        service.set_mapping(session, actor=actor, source_id=source_id, data=MappingIn(columns=columns))
    except (Invalid, Conflict) as exc:
        session.rollback()
        errors = form_errors(exc, {}, title="映射未保存")
        # the page previews the source: in a worker thread, so the remote read waits outside the gate
        return await run_in_threadpool(
            partial(_source_page, status=exc.status, mapping_form=columns, mapping_errors=errors),
            request,
            source_id,
            actor,
            session,
            cipher,
            settings,
        )
    return RedirectResponse(f"/integration/sources/{source_id}", status_code=303)


@router.post("/integration/sources/{source_id}/run")
def run(request: Request, source_id: IdPath, actor: Runner, session: SessionDep) -> Response:
    try:
        started = service.start_run(session, actor=actor, source_id=source_id)
    except DomainError as exc:
        return _refused(request, session, actor, exc, "未能开始运行", source_id)
    start_in_background(request, session, started.id)
    return RedirectResponse(f"/integration/runs/{started.id}", status_code=303)


@router.post("/integration/runs/{run_id}/resume")
def resume(request: Request, run_id: IdPath, actor: Runner, session: SessionDep) -> Response:
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
def run_page(request: Request, run_id: IdPath, actor: Viewer, session: SessionDep) -> HTMLResponse:
    return render(request, "integration/run.html", actor, **_report_context(session, actor, run_id))


@router.get("/integration/runs/{run_id}/report")
def run_report(request: Request, run_id: IdPath, actor: Viewer, session: SessionDep) -> HTMLResponse:
    """The report fragment the run page polls (htmx, every 2 s) while the run is queued or running."""
    return render(request, "integration/_run_report.html", actor, **_report_context(session, actor, run_id))


@router.get("/integration/quarantine")
def quarantine_list(
    request: Request, actor: Viewer, session: SessionDep, source_id: IdQuery = None, status: str = "open"
) -> HTMLResponse:
    rows = quarantine.list_quarantine(session, actor=actor, source_id=source_id, status=status)
    return render(request, "integration/quarantine.html", actor, rows=rows, status=status, source_id=source_id)


@router.get("/integration/quarantine/{quarantine_id}")
def quarantine_row(
    request: Request, quarantine_id: IdPath, actor: Runner, session: SessionDep, cipher: Cipher
) -> HTMLResponse:
    row = quarantine.get_quarantine(session, actor=actor, quarantine_id=quarantine_id)
    data = quarantine.quarantine_data(session, actor=actor, cipher=cipher, row=row)
    errors = _fix_errors(session, actor, row, row.reasons, data, "该行未通过校验，请修改后重新提交")
    return render(request, "integration/fix.html", actor, q=row, data=data, errors=errors)


def _fix_errors(
    session: Session, actor: Actor, row: Any, reasons: list[dict[str, str]], data: dict[str, Any], title: str
) -> FormErrors:
    """Each reason beside the column it is about: the reason names a catalogue item, the form shows the
    file's columns, so the source's mapping (item → column) places it."""
    try:
        columns = dict(
            pipeline.current_mapping(session, service.get_source(session, actor=actor, source_id=row.source_id)).columns
        )
    except DomainError:
        columns = {}
    out = FormErrors(message=title)
    for reason in reasons:
        column = columns.get(reason.get("field", ""), reason.get("field", ""))
        if column in data:
            out.add(f"col_{column}", reason["message"], column)
        elif reason["message"] not in out.details:
            out.details.append(reason["message"])
    return out


@router.post("/integration/quarantine/{quarantine_id}")
async def fix(
    request: Request, quarantine_id: IdPath, actor: Runner, session: SessionDep, cipher: Cipher, settings: SettingsDep
) -> Response:
    form = await request.form()
    if form.get("do") == "discard":
        quarantine.discard(session, actor=actor, quarantine_id=quarantine_id)
        return RedirectResponse("/integration/quarantine", status_code=303)
    values = {k.removeprefix("col_"): str(v) for k, v in form.items() if k.startswith("col_")}
    row, done, reasons = quarantine.resubmit(
        session,
        actor=actor,
        cipher=cipher,
        settings=settings,
        quarantine_id=quarantine_id,
        data=ResubmitIn(values=values),
    )
    if done is None:
        errors = _fix_errors(session, actor, row, reasons, values, "仍未通过校验，请按提示修改")
        return render(request, "integration/fix.html", actor, status_code=422, q=row, data=values, errors=errors)
    return RedirectResponse(f"/integration/quarantine?source_id={row.source_id}&done={row.id}", status_code=303)


@router.get("/integration/conflicts")
def conflicts(request: Request, actor: Viewer, session: SessionDep, cipher: Cipher) -> HTMLResponse:
    rows = basedata.conflict_views(session, actor=actor, cipher=cipher)
    return render(request, "integration/conflicts.html", actor, rows=rows)


@router.post("/integration/conflicts/{conflict_id}")
def resolve(
    conflict_id: IdPath,
    actor: Runner,
    session: SessionDep,
    cipher: Cipher,
    action: Annotated[str, Form(pattern="^(keep|replace)$")],
) -> Response:
    basedata.resolve_conflict(session, actor=actor, cipher=cipher, conflict_id=conflict_id, action=action)
    return RedirectResponse("/integration/conflicts", status_code=303)


@router.get("/integration/quality")
def quality(
    request: Request, actor: Viewer, session: SessionDep, overdue: Annotated[int, Query(ge=0, le=1)] = 0
) -> HTMLResponse:
    rows = basedata.latest_quality(session, actor=actor)
    if overdue:
        rows = [r for r in rows if r.overdue]
    return render(request, "integration/quality.html", actor, rows=rows, overdue=overdue)


@router.get("/integration/resources/{resource_id}/template.xlsx")
def template(resource_id: IdPath, actor: Viewer, session: SessionDep) -> Response:
    """An empty workbook whose header is the resource's item names: fill it in and upload it as a source."""
    resource = catalog_service.get_resource(session, actor=actor, resource_id=resource_id)
    hints = [
        f"{i.data_type}{'，必填' if i.required or i.field_name == resource.key_field else ''}"
        f"{'，' + i.rule if i.rule else ''}"
        for i in resource.items
    ]
    body = xlsx_bytes([Sheet("数据", [i.name for i in resource.items], [hints])])
    return Response(
        body,
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="template-{resource_id}.xlsx"'},
    )
