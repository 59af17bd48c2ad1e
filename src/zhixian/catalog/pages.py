"""HTML pages of the catalogue: browser with search, resource editor and workflow, system registry."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select

from zhixian.catalog import grading, service
from zhixian.catalog import io as catalog_io
from zhixian.catalog.models import BusinessSystem, Resource
from zhixian.catalog.schemas import ResourceIn, ReviewIn, SystemIn
from zhixian.catalog.systems import SystemFilter, page_systems, system_resources
from zhixian.errors import Conflict, DomainError, FieldError, Invalid
from zhixian.platform import uploads
from zhixian.platform.actor import Actor
from zhixian.platform.models import Department, User
from zhixian.web.auth import Require
from zhixian.web.deps import SessionDep
from zhixian.web.forms import FormErrors, form_errors
from zhixian.web.params import IdPath
from zhixian.web.templating import render

router = APIRouter(include_in_schema=False)

Viewer = Annotated[Actor, Depends(Require("catalog.view"))]
Editor = Annotated[Actor, Depends(Require("catalog.edit"))]
ITEM_COLUMNS = ("name", "field_name", "data_type", "length", "share_type", "grade", "sensitivity", "rule", "required")
ITEM_NAMES = ("名称", "字段名", "数据类型", "长度", "共享类型", "分级", "敏感级别", "校验规则", "必填")
ITEM_HELP = "每行一个信息项：" + "|".join(ITEM_NAMES) + "(是/否)"
# the resource form's labels: the template draws its fields with them, refusals name the fields by them
RESOURCE_LABELS = {
    "name": "信息资源名称",
    "category": "信息资源分类代码",
    "code": "信息资源代码",
    "kind": "目录类型",
    "base_library": "基础库",
    "department_code": "提供方部门",
    "system_code": "所属业务系统",
    "summary": "信息资源摘要",
    "format": "信息资源格式",
    "share_type": "共享类型",
    "share_condition": "共享条件（不予共享须写明依据）",
    "share_method": "共享方式",
    "open_type": "开放类型",
    "open_condition": "开放条件",
    "update_cycle": "更新周期",
    "publish_date": "发布日期",
    "linked_codes": "关联资源代码（用；分隔）",
    "grade": "数据分级（GB/T 43697）",
    "sensitivity": "敏感级别（一般数据 1–4）",
    "key_field": "主键信息项（字段名）",
    "items_text": "信息项",
} | {f"items.{c}": n for c, n in zip(ITEM_COLUMNS, ITEM_NAMES, strict=True)}
SYSTEM_LABELS = {
    "code": "系统代码",
    "name": "系统名称",
    "department_code": "使用部门",
    "builder": "建设/主管单位",
    "deployment": "部署位置",
    "data_held": "持有数据",
    "access_scope": "授权范围",
    "builder_level": "建设层级",
    "access_status": "获取状态",
}
IMPORT_LABELS = {"file": "导入文件"}
NOTE_MAX = 1000
PAGE = 50


def _vocab() -> dict[str, Any]:
    return {"g": grading, "departments_url": "/api/v1/departments"}


def _departments(session: SessionDep) -> list[Department]:
    return list(
        session.execute(select(Department).where(Department.active.is_(True)).order_by(Department.path)).scalars()
    )


def _systems(session: SessionDep) -> list[tuple[str, str]]:
    return [
        (c, n)
        for c, n in session.execute(select(BusinessSystem.code, BusinessSystem.name).order_by(BusinessSystem.code))
    ]


@router.get("/catalog")
def browse(
    request: Request,
    actor: Viewer,
    session: SessionDep,
    q: Annotated[str, Query(max_length=200)] = "",
    kind: str = "",
    share_type: str = "",
    grade: str = "",
    status: str = "",
    department: Annotated[str, Query(alias="department_id", max_length=12)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    department_id = int(department) if department.isdigit() else None  # the filter form sends "" for 全部
    flt = service.ResourceFilter(
        q=q,
        kind=kind or None,
        share_type=share_type or None,
        grade=grade or None,
        status=status or None,
        department_id=department_id,
    )
    rows, total = service.list_resources(session, actor=actor, flt=flt, offset=(page - 1) * PAGE, limit=PAGE)
    return _browse(
        request,
        actor,
        session,
        rows=rows,
        total=total,
        page=page,
        filters={"q": q, "kind": kind, "share_type": share_type, "grade": grade, "status": status},
        department=department,
    )


def _browse(
    request: Request,
    actor: Actor,
    session: SessionDep,
    *,
    rows: Any,
    total: int,
    page: int = 1,
    filters: dict[str, str] | None = None,
    department: str = "",
    message: str = "",
    errors: FormErrors | None = None,
) -> HTMLResponse:
    filters = filters or {}
    department_id = int(department) if department.isdigit() else None
    return render(
        request,
        "catalog/browse.html",
        actor,
        status_code=422 if errors else 200,
        rows=rows,
        total=total,
        page=page,
        size=PAGE,
        base_query=urlencode({**filters, "department_id": department}) if filters or department else "",
        q=filters.get("q", ""),
        kind=filters.get("kind", ""),
        share_type=filters.get("share_type", ""),
        grade=filters.get("grade", ""),
        status=filters.get("status", ""),
        department_id=department_id,
        names=service.department_names(session),
        departments=_departments(session),
        message=message,
        errors=errors or FormErrors(),
        **_vocab(),
    )


@router.post("/catalog/import")
def import_file(
    request: Request, actor: Editor, session: SessionDep, file: Annotated[UploadFile | None, File()] = None
) -> HTMLResponse:
    message, errors = "", FormErrors()
    try:
        if file is None or not file.filename:
            raise Invalid("请选择要导入的文件（xlsx、json 或 xml）", field="file")
        report = catalog_io.import_resources(
            session,
            actor=actor,
            resources=catalog_io.parse(
                uploads.read_limited(file.file, uploads.SPREADSHEET_MAX_BYTES), file.filename or ""
            ),
        )
        message = f"导入完成：新增 {report.created}，更新 {report.updated}，未变 {report.unchanged}"
    except DomainError as exc:
        session.rollback()
        errors = form_errors(exc, IMPORT_LABELS, fallback="未导入任何资源")
    rows, total = service.list_resources(session, actor=actor, flt=service.ResourceFilter(), limit=50)
    return _browse(request, actor, session, rows=rows, total=total, message=message, errors=errors)


@router.get("/catalog/resources/{resource_id}")
def detail(request: Request, resource_id: IdPath, actor: Viewer, session: SessionDep) -> HTMLResponse:
    return _detail(request, resource_id, actor, session)


def _detail(
    request: Request,
    resource_id: int,
    actor: Actor,
    session: SessionDep,
    *,
    note: str = "",
    errors: FormErrors | None = None,
) -> HTMLResponse:
    row = service.get_resource(session, actor=actor, resource_id=resource_id)
    system = session.get(BusinessSystem, row.system_id) if row.system_id else None
    linked = {
        r.code: r
        for r in session.execute(
            select(Resource).where(Resource.code.in_(row.linked_codes or []), service.visible(actor))
        ).scalars()
    }
    read = service.resource_read(session, row)
    facts = [
        g
        for provider in request.app.state.registry.contributed("catalog_resource_facts")
        for g in provider(session, actor, read)
    ]
    usernames = {u for u in (row.reviewer, row.submitted_by) if u}
    people = dict(session.execute(select(User.username, User.full_name).where(User.username.in_(usernames))).all())
    return render(
        request,
        "catalog/detail.html",
        actor,
        status_code=422 if errors else 200,
        r=read,
        status_labels=grading.STATUS_LABELS,
        grade_label=grading.grade_label,
        system=system,
        linked=linked,
        facts=facts,
        people=people,
        editable=service.may_edit(session, actor, row.department_id),
        note=note,
        errors=errors or FormErrors(),
    )


@router.post("/catalog/resources/{resource_id}/action")
def action(
    request: Request,
    resource_id: IdPath,
    actor: Editor,
    session: SessionDep,
    do: Annotated[str, Form(max_length=20)],
    note: Annotated[str, Form(max_length=100_000)] = "",
) -> Response:
    try:
        _act(session, actor, resource_id, do, note)
    except (ValidationError, Invalid, Conflict) as exc:
        session.rollback()
        errors = form_errors(exc, {"note": "审核意见"}, title="未办理")
        return _detail(request, resource_id, actor, session, note=note, errors=errors)
    return RedirectResponse(f"/catalog/resources/{resource_id}", status_code=303)


def _act(session: SessionDep, actor: Actor, resource_id: int, do: str, note: str) -> None:
    if len(note) > NOTE_MAX:
        raise Invalid(f"长度不能超过 {NOTE_MAX} 个字符", field="note")
    if do == "submit":
        service.submit_resource(session, actor=actor, resource_id=resource_id)
    elif do in ("approve", "reject"):
        data = ReviewIn.model_validate({"decision": do, "note": note})
        service.review_resource(session, actor=actor, resource_id=resource_id, data=data)
    elif do == "withdraw":
        service.withdraw_resource(session, actor=actor, resource_id=resource_id, note=note)
    else:
        raise Invalid("不支持的操作", field="do")


def _items_text(items: list[Any]) -> str:
    lines = []
    for i in items:
        values = [catalog_io.to_text(c, getattr(i, c)) for c in ITEM_COLUMNS]
        lines.append("|".join(values))
    return "\n".join(lines)


def _parse_items(text: str) -> list[dict[str, Any]]:
    items = []
    for line in text.splitlines():
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split("|")] + [""] * len(ITEM_COLUMNS)
        items.append(
            {
                c: catalog_io.from_text(c, parts[n])
                for n, c in enumerate(ITEM_COLUMNS)
                if parts[n] != "" or c in ("required",)
            }
        )
    return items


@router.get("/catalog/new")
def new(request: Request, actor: Editor, session: SessionDep) -> HTMLResponse:
    dept = session.get(Department, actor.department_id)
    form = {
        "department_code": dept.code if dept else "",
        "kind": "部门",
        "share_type": "无条件共享",
        "update_cycle": "每月",
        "grade": "一般",
        "sensitivity": 1,
        "format": "数据库",
    }
    return render(
        request,
        "catalog/edit.html",
        actor,
        form=form,
        items_text="",
        errors=FormErrors(),
        labels=RESOURCE_LABELS,
        resource_id=None,
        item_help=ITEM_HELP,
        departments=_departments(session),
        systems=_systems(session),
        **_vocab(),
    )


@router.get("/catalog/resources/{resource_id}/edit")
def edit(request: Request, resource_id: IdPath, actor: Editor, session: SessionDep) -> HTMLResponse:
    row = service.get_editable_resource(session, actor=actor, resource_id=resource_id)
    data = service.resource_input(session, row)
    form = data.model_dump(exclude={"items"})
    form["linked_codes"] = "；".join(data.linked_codes)
    return render(
        request,
        "catalog/edit.html",
        actor,
        form=form,
        items_text=_items_text(data.items),
        errors=FormErrors(),
        labels=RESOURCE_LABELS,
        resource_id=resource_id,
        item_help=ITEM_HELP,
        departments=_departments(session),
        systems=_systems(session),
        **_vocab(),
    )


@router.post("/catalog/save")
async def save(request: Request, actor: Editor, session: SessionDep) -> Response:
    raw = dict((await request.form()).items())
    resource_id = int(str(raw.pop("resource_id", "") or 0)) or None
    raw.pop("csrf_token", None)
    items_text = str(raw.pop("items_text", ""))
    form: dict[str, Any] = {k: str(v) for k, v in raw.items()}
    data: dict[str, Any] = {k: catalog_io.from_text(k, v) for k, v in form.items() if k in ResourceIn.model_fields}
    data["classified"] = form.get("classified") == "on"
    try:
        data["items"] = _parse_items(items_text)
        model = ResourceIn.model_validate(data)
        row = service.save_resource(session, actor=actor, data=model, resource_id=resource_id)
        return RedirectResponse(f"/catalog/resources/{row.id}", status_code=303)
    except (ValidationError, DomainError) as exc:
        session.rollback()
        errors = form_errors(exc, RESOURCE_LABELS, title="资源未保存", place=_resource_field)
    return render(
        request,
        "catalog/edit.html",
        actor,
        status_code=422,
        form=form,
        items_text=items_text,
        errors=errors,
        labels=RESOURCE_LABELS,
        resource_id=resource_id,
        item_help=ITEM_HELP,
        departments=_departments(session),
        systems=_systems(session),
        **_vocab(),
    )


def _resource_field(error: FieldError) -> str | None:
    """Items are typed as lines of one text box: their errors go beside it."""
    return "items_text" if (error.field or "").split(".")[0] == "items" else None


@router.get("/catalog/systems")
def systems(
    request: Request,
    actor: Viewer,
    session: SessionDep,
    q: Annotated[str, Query(max_length=100)] = "",
    builder_level: Annotated[str, Query(max_length=8)] = "",
    access_status: Annotated[str, Query(max_length=16)] = "",
    department: Annotated[str, Query(alias="department_id", max_length=12)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    return _systems_page(
        request,
        actor,
        session,
        q=q,
        builder_level=builder_level,
        access_status=access_status,
        department=department,
        page=page,
    )


def _systems_page(
    request: Request,
    actor: Actor,
    session: SessionDep,
    *,
    q: str = "",
    builder_level: str = "",
    access_status: str = "",
    department: str = "",
    page: int = 1,
    errors: FormErrors | None = None,
    form: dict[str, str] | None = None,
) -> HTMLResponse:
    department_id = int(department) if department.isdigit() else None  # the filter form sends "" for 全部
    flt = SystemFilter(
        q=q, builder_level=builder_level or None, access_status=access_status or None, department_id=department_id
    )
    rows, total = page_systems(session, actor=actor, flt=flt, offset=(page - 1) * PAGE, limit=PAGE)
    return render(
        request,
        "catalog/systems.html",
        actor,
        status_code=422 if errors else 200,
        rows=[service.system_read(session, r) for r in rows],
        total=total,
        page=page,
        size=PAGE,
        base_query=urlencode(
            {"q": q, "builder_level": builder_level, "access_status": access_status, "department_id": department}
        ),
        summary=service.registry_summary(session, actor=actor),
        q=q,
        builder_level=builder_level,
        access_status=access_status,
        department_id=department_id,
        errors=errors or FormErrors(),
        form=form or {},
        labels=SYSTEM_LABELS,
        departments=_departments(session),
        **_vocab(),
    )


@router.get("/catalog/systems/{system_id}")
def system_detail(request: Request, system_id: IdPath, actor: Viewer, session: SessionDep) -> HTMLResponse:
    row = service.get_system(session, actor=actor, system_id=system_id)
    return render(
        request,
        "catalog/system.html",
        actor,
        s=service.system_read(session, row),
        resources=system_resources(session, actor=actor, system_id=system_id),
        editable=service.may_edit(session, actor, row.department_id),
        department=session.get(Department, row.department_id),
        status_labels=grading.STATUS_LABELS,
        **_vocab(),
    )


@router.post("/catalog/systems")
async def register_system(request: Request, actor: Editor, session: SessionDep) -> Response:
    form = {k: str(v) for k, v in (await request.form()).items() if k != "csrf_token"}
    data = {k: v for k, v in form.items() if v != ""}
    try:
        service.save_system(session, actor=actor, data=SystemIn.model_validate(data))
        return RedirectResponse("/catalog/systems", status_code=303)
    except (ValidationError, DomainError) as exc:
        session.rollback()
        errors = form_errors(exc, SYSTEM_LABELS, title="系统未登记", place=_system_field)
    return _systems_page(request, actor, session, errors=errors, form=form)


def _system_field(error: FieldError) -> str | None:
    """The model's own rule about the scope of a grant is about the 授权范围 field."""
    return "access_scope" if error.field is None and "授权范围" in error.message else None
