"""JSON routes of the catalogue under /api/v1/catalog."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Query, Response, UploadFile

from zhixian.catalog import io as catalog_io
from zhixian.catalog import service
from zhixian.catalog.models import Resource
from zhixian.catalog.schemas import (
    ApplicationDecision,
    ApplicationIn,
    ApplicationRead,
    CatalogImportReport,
    RegistrySummary,
    ResourceBrief,
    ResourceIn,
    ResourceRead,
    ReviewIn,
    SystemIn,
    SystemRead,
)
from zhixian.platform import audit, uploads
from zhixian.platform.actor import Actor
from zhixian.web.auth import Require
from zhixian.web.deps import SessionDep
from zhixian.web.pagination import Page, PageParams, page_params
from zhixian.web.params import IdPath, IdQuery

router = APIRouter(prefix="/api/v1/catalog", tags=["资源目录"])

Viewer = Annotated[Actor, Depends(Require("catalog.view"))]
Editor = Annotated[Actor, Depends(Require("catalog.edit"))]
Reviewer = Annotated[Actor, Depends(Require("catalog.review"))]
Paging = Annotated[PageParams, Depends(page_params)]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def briefs(session: SessionDep, rows: list[Resource]) -> list[ResourceBrief]:
    names = service.department_names(session)
    return [
        ResourceBrief(
            id=r.id,
            code=r.code,
            name=r.name,
            kind=r.kind,
            department_name=names.get(r.department_id, ""),
            share_type=r.share_type,
            grade=r.grade,
            sensitivity=r.sensitivity,
            status=r.status,
            update_cycle=r.update_cycle,
        )
        for r in rows
    ]


@router.get("/resources", summary="检索目录（中文全文检索 + 筛选）")
def list_resources(
    actor: Viewer,
    session: SessionDep,
    paging: Paging,
    q: Annotated[str, Query(max_length=200)] = "",
    department_id: IdQuery = None,
    kind: Annotated[Literal["基础", "主题", "部门"] | None, Query()] = None,
    share_type: Annotated[Literal["无条件共享", "有条件共享", "不予共享"] | None, Query()] = None,
    grade: Annotated[Literal["一般", "重要", "核心"] | None, Query()] = None,
    status: Annotated[Literal["draft", "review", "published", "withdrawn"] | None, Query()] = None,
) -> Page[ResourceBrief]:
    flt = service.ResourceFilter(
        q=q, department_id=department_id, kind=kind, share_type=share_type, grade=grade, status=status
    )
    rows, total = service.list_resources(session, actor=actor, flt=flt, offset=paging.offset, limit=paging.size)
    return Page(items=briefs(session, rows), total=total, page=paging.page, size=paging.size)


@router.post("/resources", status_code=201, summary="新建目录资源（草稿）")
def create_resource(data: ResourceIn, actor: Editor, session: SessionDep) -> ResourceRead:
    return service.resource_read(session, service.save_resource(session, actor=actor, data=data))


@router.get("/resources/{resource_id}", summary="目录资源详情")
def get_resource(resource_id: IdPath, actor: Viewer, session: SessionDep) -> ResourceRead:
    return service.resource_read(session, service.get_resource(session, actor=actor, resource_id=resource_id))


@router.put("/resources/{resource_id}", summary="修改目录资源（已发布的将退回草稿重新审核）")
def update_resource(resource_id: IdPath, data: ResourceIn, actor: Editor, session: SessionDep) -> ResourceRead:
    row = service.save_resource(session, actor=actor, data=data, resource_id=resource_id)
    return service.resource_read(session, row)


@router.delete("/resources/{resource_id}", status_code=204, summary="删除草稿")
def delete_resource(resource_id: IdPath, actor: Editor, session: SessionDep) -> Response:
    service.delete_resource(session, actor=actor, resource_id=resource_id)
    return Response(status_code=204)


@router.post("/resources/{resource_id}/submit", summary="提交审核")
def submit(resource_id: IdPath, actor: Editor, session: SessionDep) -> ResourceRead:
    return service.resource_read(session, service.submit_resource(session, actor=actor, resource_id=resource_id))


@router.post("/resources/{resource_id}/review", summary="审核（通过即发布，或退回）")
def review(resource_id: IdPath, data: ReviewIn, actor: Reviewer, session: SessionDep) -> ResourceRead:
    row = service.review_resource(session, actor=actor, resource_id=resource_id, data=data)
    return service.resource_read(session, row)


@router.post("/resources/{resource_id}/withdraw", summary="撤回已发布资源")
def withdraw(resource_id: IdPath, data: ReviewIn, actor: Reviewer, session: SessionDep) -> ResourceRead:
    row = service.withdraw_resource(session, actor=actor, resource_id=resource_id, note=data.note)
    return service.resource_read(session, row)


def export_response(
    session: SessionDep, actor: Actor, fmt: str, element_set: catalog_io.ElementSet, status: str | None
) -> Response:
    resources = catalog_io.export_inputs(session, actor=actor, status=status)
    audit.record(
        session,
        actor.audit,
        action="catalog.export",
        object_type="catalog_resource",
        detail={"format": fmt, "element_set": element_set, "count": len(resources)},
    )
    if fmt == "xlsx":
        body, media = catalog_io.to_excel(resources), XLSX
    elif fmt == "json":
        body, media = catalog_io.to_json(resources, element_set), "application/json"
    else:
        body, media = catalog_io.to_xml(resources, element_set), "application/xml"
    return Response(
        body, media_type=media, headers={"Content-Disposition": f'attachment; filename="catalog-{element_set}.{fmt}"'}
    )


@router.get("/export.{fmt}", summary="导出目录（xlsx 编制表 / json / xml，可选旧版元素集）")
def export(
    fmt: Literal["xlsx", "json", "xml"],
    actor: Viewer,
    session: SessionDep,
    element_set: Literal["modern", "legacy"] = "modern",
    status: Annotated[Literal["draft", "review", "published", "withdrawn"] | None, Query()] = None,
) -> Response:
    return export_response(session, actor, fmt, element_set, status)


@router.get("/template.xlsx", summary="目录编制 Excel 模板")
def template(actor: Viewer) -> Response:
    return Response(
        catalog_io.to_excel([]),
        media_type=XLSX,
        headers={"Content-Disposition": 'attachment; filename="catalog-template.xlsx"'},
    )


@router.post("/import", summary="导入目录（xlsx/json/xml；全部通过才写入，可重复导入）")
def import_catalog(
    file: Annotated[UploadFile, File(description="目录编制表、JSON 或 XML")], actor: Editor, session: SessionDep
) -> CatalogImportReport:
    resources = catalog_io.parse(uploads.read_limited(file.file, uploads.SPREADSHEET_MAX_BYTES), file.filename or "")
    return catalog_io.import_resources(session, actor=actor, resources=resources)


# --- business systems


@router.get("/systems", summary="业务系统台账")
def systems(
    actor: Viewer,
    session: SessionDep,
    builder_level: Annotated[Literal["部建", "省建", "市建", "县建"] | None, Query()] = None,
    access_status: Annotated[Literal["none", "applied", "granted", "local_copy"] | None, Query()] = None,
) -> list[SystemRead]:
    rows = service.list_systems(session, actor=actor, builder_level=builder_level, access_status=access_status)
    return [service.system_read(session, r) for r in rows]


@router.get("/systems/summary", summary="台账汇总：各级建设数量、可整合数量")
def systems_summary(actor: Viewer, session: SessionDep) -> RegistrySummary:
    return service.registry_summary(session, actor=actor)


@router.post("/systems", status_code=201, summary="登记业务系统")
def create_system(data: SystemIn, actor: Editor, session: SessionDep) -> SystemRead:
    return service.system_read(session, service.save_system(session, actor=actor, data=data))


@router.get("/systems/{system_id}", summary="业务系统详情")
def get_system(system_id: IdPath, actor: Viewer, session: SessionDep) -> SystemRead:
    return service.system_read(session, service.get_system(session, actor=actor, system_id=system_id))


@router.put("/systems/{system_id}", summary="修改业务系统")
def update_system(system_id: IdPath, data: SystemIn, actor: Editor, session: SessionDep) -> SystemRead:
    return service.system_read(session, service.save_system(session, actor=actor, data=data, system_id=system_id))


@router.post("/systems/{system_id}/applications", status_code=201, summary="登记向上级申请开放数据")
def apply_upward(system_id: IdPath, data: ApplicationIn, actor: Editor, session: SessionDep) -> ApplicationRead:
    app = service.apply_upward(session, actor=actor, system_id=system_id, data=data)
    return ApplicationRead.model_validate(app)


@router.post("/applications/{application_id}/decision", summary="记录上级答复")
def decide(application_id: IdPath, data: ApplicationDecision, actor: Editor, session: SessionDep) -> ApplicationRead:
    app = service.decide_application(session, actor=actor, application_id=application_id, data=data)
    return ApplicationRead.model_validate(app)
