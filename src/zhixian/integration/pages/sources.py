"""Source pages: the list and the forms that create sources, a source's page with its connection,
schedule, mapping and preview, and a file source's new file or deletion."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from zhixian.errors import Conflict, DomainError, Invalid
from zhixian.fields import Id, Name
from zhixian.integration import file_sources, remote_sources, service
from zhixian.integration.api import Cipher, start_in_background
from zhixian.integration.models import Source
from zhixian.integration.pages.forms import (
    CONNECTION_FIELDS,
    KINDS,
    LABELS,
    REMOTE_FIELDS,
    REMOTE_SECRET,
    URL_LABEL,
    Runner,
    Viewer,
    model_field,
    refused,
)
from zhixian.integration.schemas import ConnectionIn, MappingIn, RemoteSourceIn, SourceSettings
from zhixian.platform import outbound
from zhixian.platform.actor import Actor
from zhixian.settings import Settings
from zhixian.web.auth import SettingsDep
from zhixian.web.deps import SessionDep
from zhixian.web.forms import FormErrors, form_errors, refusal
from zhixian.web.params import IdPath
from zhixian.web.templating import render

router = APIRouter(include_in_schema=False)


def _index(
    request: Request,
    actor: Actor,
    session: SessionDep,
    status: int = 200,
    *,
    kind: str = "",
    form: dict[str, str] | None = None,
    errors: FormErrors | None = None,
    notice: str = "",
) -> HTMLResponse:
    """The sources page; ``kind`` is the form that was refused ("file", "sql", "http"), shown again."""
    sources = [service.source_read(session, s) for s in service.list_sources(session, actor=actor)]
    runs = service.list_runs(session, actor=actor, limit=30)
    return render(
        request,
        "integration/index.html",
        actor,
        status_code=status,
        sources=sources,
        runs=runs,
        targets=service.loadable_targets(session, actor=actor) if actor.can("integration.run") else [],
        kinds=KINDS,
        labels=LABELS,
        refused_kind=kind,
        refused_form=form or {},
        refused_errors=errors or FormErrors(),
        notice=notice,
        source_names=service.source_names(session, {r.source_id for r in runs}),
    )


@router.get("/integration")
def index(request: Request, actor: Viewer, session: SessionDep) -> HTMLResponse:
    deleted = request.query_params.get("deleted", "")
    notice = ""
    if deleted.isdigit() and len(deleted) < 12:
        try:
            gone = service.get_source(session, actor=actor, source_id=int(deleted))
        except DomainError:
            gone = None
        if gone is not None and gone.deleted_at is not None:
            notice = f"数据源“{gone.name}”已删除；它加载的记录保留，记录页注明来源已删除。"
    return _index(request, actor, session, notice=notice)


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
        row = file_sources.create_file_source(
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
    """The file form's own fields, checked like the API's (the file itself is checked by the service)."""

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
        errors = form_errors(exc, labels, on_form=REMOTE_FIELDS[kind], title=title, place=model_field)
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
    file_errors: FormErrors | None = None,
) -> HTMLResponse:
    row = service.get_source(session, actor=actor, source_id=source_id)
    kept = {k: str(v) for k, v in (row.config or {}).items() if k in CONNECTION_FIELDS.get(row.kind, ())}
    error = ""
    preview = None
    if row.deleted_at is None:
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
            (f, URL_LABEL[row.kind] if f == "url" else LABELS[f]) for f in CONNECTION_FIELDS.get(row.kind, ())
        ],
        conn_form=conn_form if conn_form is not None else kept,
        conn_errors=conn_errors or FormErrors(),
        labels=LABELS,
        mapping_form=mapping_form,
        mapping_errors=mapping_errors or FormErrors(),
        conn_saved=request.query_params.get("saved") == "connection",
        file_errors=file_errors or FormErrors(),
        file_saved=request.query_params.get("saved") == "file",
        file_kinds=file_sources.FILE_KINDS,
    )


@router.get("/integration/sources/{source_id}")
def source_page(
    request: Request, source_id: IdPath, actor: Runner, session: SessionDep, cipher: Cipher, settings: SettingsDep
) -> HTMLResponse:
    return _source_page(request, source_id, actor, session, cipher, settings)


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
    fields = CONNECTION_FIELDS.get(row.kind, ())
    values = {f: str(form.get(f) or "").strip() for f in fields}
    labels = {**LABELS, "url": URL_LABEL.get(row.kind, "地址")}
    try:
        data = ConnectionIn.model_validate({"kind": row.kind, **{k: v for k, v in values.items() if v}})
        remote_sources.replace_connection(
            session, actor=actor, cipher=cipher, source_id=source_id, data=data, policy=outbound.Policy.of(settings)
        )
    except (ValidationError, DomainError) as exc:
        session.rollback()
        errors = form_errors(exc, labels, on_form=fields, title="连接未更换", place=model_field)
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
        errors, status = form_errors(exc, LABELS, title="设置未保存", place=model_field), 422
    except DomainError as exc:
        session.rollback()
        if not exc.errors:
            raise  # not found, not permitted, ...: the error page
        errors, status = form_errors(exc, LABELS, title="设置未保存", place=model_field), exc.status
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
    except DomainError as exc:
        return refused(request, session, actor, exc, "映射未保存", f"/integration/sources/{source_id}")
    return RedirectResponse(f"/integration/sources/{source_id}", status_code=303)


@router.post("/integration/sources/{source_id}/run")
def run(request: Request, source_id: IdPath, actor: Runner, session: SessionDep) -> Response:
    try:
        started = service.start_run(session, actor=actor, source_id=source_id)
    except DomainError as exc:
        return refused(request, session, actor, exc, "未能开始运行", f"/integration/sources/{source_id}")
    start_in_background(request, session, started.id)
    return RedirectResponse(f"/integration/runs/{started.id}", status_code=303)


@router.post("/integration/sources/{source_id}/file")
def replace_file(
    request: Request,
    source_id: IdPath,
    actor: Runner,
    session: SessionDep,
    cipher: Cipher,
    settings: SettingsDep,
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """A new file for the source (same mapping and schedule); a refused file leaves the old one in place."""
    try:
        if file is None or not file.filename:
            raise Invalid("请选择新的文件", field="file")
        file_sources.replace_file(
            session, actor=actor, settings=settings, source_id=source_id, filename=file.filename or "", stream=file.file
        )
    except DomainError as exc:
        if exc.status == 404:
            raise
        session.rollback()
        errors = form_errors(exc, {"file": "新文件"}, on_form=("file",), title="文件未更换")
        return _source_page(request, source_id, actor, session, cipher, settings, status=exc.status, file_errors=errors)
    return RedirectResponse(f"/integration/sources/{source_id}?saved=file", status_code=303)


@router.get("/integration/sources/{source_id}/delete")
def confirm_delete(request: Request, source_id: IdPath, actor: Runner, session: SessionDep) -> HTMLResponse:
    """What deleting keeps and what goes, before anything happens."""
    row = service.get_source(session, actor=actor, source_id=source_id)
    try:
        summary = file_sources.delete_summary(session, actor=actor, source_id=source_id)
    except DomainError as exc:
        return refused(request, session, actor, exc, "不能删除该数据源", f"/integration/sources/{source_id}")
    return render(request, "integration/delete.html", actor, s=service.source_read(session, row), summary=summary)


@router.post("/integration/sources/{source_id}/delete")
def delete(
    request: Request,
    source_id: IdPath,
    actor: Runner,
    session: SessionDep,
    settings: SettingsDep,
    confirm: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    if confirm != "yes":
        return RedirectResponse(f"/integration/sources/{source_id}/delete", status_code=303)
    try:
        row = file_sources.delete_file_source(session, actor=actor, settings=settings, source_id=source_id)
    except DomainError as exc:
        if exc.status == 404:
            raise
        return refused(request, session, actor, exc, "数据源未删除", f"/integration/sources/{source_id}")
    return RedirectResponse(f"/integration?deleted={row.id}", status_code=303)
