"""JSON routes of 一网通办 under /api/v1/services: the catalogue, licences, applications and ratings."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile
from fastapi.responses import Response

from zhixian.errors import Invalid
from zhixian.fields import Day
from zhixian.platform import uploads
from zhixian.platform.actor import Actor
from zhixian.services import kpis
from zhixian.services.applications import materials
from zhixian.services.applications import service as applications
from zhixian.services.licences import service as licences
from zhixian.services.matters import excel
from zhixian.services.matters import service as matters
from zhixian.services.ratings import service as ratings
from zhixian.services.schemas import (
    ApplicationIn,
    ApplicationRead,
    CiteIn,
    CorrectionIn,
    DecisionIn,
    ImportResult,
    KpiFigureRead,
    KpiRead,
    KpiReport,
    LicenceIn,
    LicenceRead,
    MatterIn,
    MatterRead,
    NoteIn,
    PrefillRead,
    RatingIn,
    RatingRead,
    ReasonIn,
    RectificationRead,
    RectifyIn,
)
from zhixian.web.auth import Require, SettingsDep
from zhixian.web.deps import SessionDep
from zhixian.web.pagination import Page, PageParams, page_params
from zhixian.web.params import IdPath, IdQuery

router = APIRouter(prefix="/api/v1/services", tags=["一网通办"])

Viewer = Annotated[Actor, Depends(Require("services.view"))]
Cataloguer = Annotated[Actor, Depends(Require("services.catalog"))]
Issuer = Annotated[Actor, Depends(Require("services.licence"))]
Window = Annotated[Actor, Depends(Require("services.window"))]
Approver = Annotated[Actor, Depends(Require("services.approve"))]
Head = Annotated[Actor, Depends(Require("services.head"))]
Paging = Annotated[PageParams, Depends(page_params)]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _cipher(request: Request) -> Any:
    return request.app.state.cipher


def _app(session: SessionDep, actor: Actor, row: Any) -> ApplicationRead:
    return applications.application_read(session, actor, row, matters.Departments(session), full=True)


# --- matters


@router.get("/matters", summary="政务服务事项清单")
def list_matters(
    actor: Viewer,
    session: SessionDep,
    paging: Paging,
    q: Annotated[str, Query(max_length=100, title="关键词")] = "",
    kind: Annotated[str, Query(max_length=20, title="事项类型")] = "",
    level: Annotated[str, Query(max_length=8, title="办理层级")] = "",
    department_id: IdQuery = None,
) -> Page[MatterRead]:
    flt = matters.MatterFilter(q=q, kind=kind, level=level, department_id=department_id)
    rows, total = matters.list_matters(session, actor=actor, flt=flt, offset=paging.offset, limit=paging.size)
    depts = matters.Departments(session)
    return Page(items=[matters.matter_read(r, depts) for r in rows], total=total, page=paging.page, size=paging.size)


@router.get("/matters/export", summary="导出事项清单（Excel）")
def export_matters(actor: Viewer, session: SessionDep) -> Response:
    content = excel.export_matters(session, actor=actor, flt=matters.MatterFilter())
    headers = {"Content-Disposition": "attachment; filename*=UTF-8''%E4%BA%8B%E9%A1%B9%E6%B8%85%E5%8D%95.xlsx"}
    return Response(content, media_type=XLSX, headers=headers)


@router.get("/matters/{matter_id}", summary="事项详情")
def get_matter(actor: Viewer, session: SessionDep, matter_id: IdPath) -> MatterRead:
    row = matters.get_matter(session, actor=actor, matter_id=matter_id)
    return matters.matter_read(row, matters.Departments(session))


@router.put("/matters", summary="新增或更新事项（按实施编码）")
def save_matter(actor: Cataloguer, session: SessionDep, data: MatterIn) -> MatterRead:
    row = matters.save_matter(session, actor=actor, data=data)
    return matters.matter_read(row, matters.Departments(session))


@router.post("/matters/import", summary="从 Excel 导入事项清单（有错误时不导入任何事项）")
def import_matters(
    actor: Cataloguer, session: SessionDep, file: Annotated[UploadFile, File(title="文件")]
) -> ImportResult:
    content = uploads.read_limited(file.file, uploads.SPREADSHEET_MAX_BYTES)
    return excel.import_matters(session, actor=actor, content=content)


# --- licences


@router.get("/licences", summary="电子证照库（持证主体脱敏）")
def list_licences(
    actor: Issuer,
    session: SessionDep,
    paging: Paging,
    type_code: Annotated[str, Query(max_length=20, title="证照类型")] = "",
) -> Page[LicenceRead]:
    rows, total = licences.list_licences(
        session, actor=actor, type_code=type_code, offset=paging.offset, limit=paging.size
    )
    names = licences.type_names(session)
    return Page(items=[licences.licence_read(r, names) for r in rows], total=total, page=paging.page, size=paging.size)


@router.post("/licences", status_code=201, summary="加载一份电子证照")
def load_licence(actor: Issuer, session: SessionDep, request: Request, data: LicenceIn) -> LicenceRead:
    row = licences.load_licence(session, actor=actor, cipher=_cipher(request), data=data)
    return licences.licence_read(row, licences.type_names(session))


@router.get("/applications/{application_id}/licences", summary="申请人持有的电子证照（受理窗口）")
def applicant_licences(actor: Window, session: SessionDep, application_id: IdPath) -> list[LicenceRead]:
    row = applications.get_application(session, actor=actor, application_id=application_id)
    if "cite" not in applications.actions(actor, row):
        raise Invalid("办件当前不能引用电子证照")
    names = licences.type_names(session)
    return [licences.licence_read(x, names) for x in licences.held_by(session, holder_index=row.applicant_index)]


# --- applications


@router.get("/applications", summary="办件列表")
def list_applications(
    actor: Viewer,
    session: SessionDep,
    paging: Paging,
    box: Literal["", "intake", "handling"] = "",
    status: Literal["", "received", "correction", "accepted", "reviewed", "decided", "done", "rejected"] = "",
    light: Literal["", "green", "yellow", "red"] = "",
    matter_id: IdQuery = None,
) -> Page[ApplicationRead]:
    flt = applications.ApplicationFilter(box=box, status=status, light=light, matter_id=matter_id)
    rows, total = applications.list_applications(session, actor=actor, flt=flt, offset=paging.offset, limit=paging.size)
    depts = matters.Departments(session)
    items = [applications.application_read(session, actor, r, depts) for r in rows]
    return Page(items=items, total=total, page=paging.page, size=paging.size)


@router.post("/applications", status_code=201, summary="窗口收件（代申请人提交）")
def create_application(
    actor: Window, session: SessionDep, settings: SettingsDep, request: Request, data: ApplicationIn
) -> ApplicationRead:
    row = applications.create(session, actor=actor, settings=settings, cipher=_cipher(request), data=data)
    return _app(session, actor, row)


@router.get("/applications/{application_id}", summary="办件详情")
def get_application(actor: Viewer, session: SessionDep, application_id: IdPath) -> ApplicationRead:
    return _app(session, actor, applications.get_application(session, actor=actor, application_id=application_id))


@router.post("/applications/{application_id}/consent", summary="记录申请人同意使用共享数据和电子证照")
def consent(actor: Window, session: SessionDep, application_id: IdPath) -> ApplicationRead:
    return _app(session, actor, applications.record_consent(session, actor=actor, application_id=application_id))


@router.post("/applications/{application_id}/prefill", summary="经同意后从共享数据和电子证照预填材料")
def prefill(
    actor: Window, session: SessionDep, settings: SettingsDep, request: Request, application_id: IdPath
) -> PrefillRead:
    return materials.prefill(
        session, actor=actor, settings=settings, cipher=_cipher(request), application_id=application_id
    )


@router.post("/applications/{application_id}/materials/{material_id}/licence", summary="引用电子证照代替复印件")
def cite(
    actor: Window, session: SessionDep, application_id: IdPath, material_id: IdPath, data: CiteIn
) -> ApplicationRead:
    row = materials.cite_licence(
        session, actor=actor, application_id=application_id, material_row_id=material_id, licence_id=data.licence_id
    )
    return _app(session, actor, row)


@router.post("/applications/{application_id}/materials/{material_id}/upload", summary="收取申请人提交的材料（扫描件）")
def upload(
    actor: Window,
    session: SessionDep,
    settings: SettingsDep,
    application_id: IdPath,
    material_id: IdPath,
    file: Annotated[UploadFile, File(title="材料文件")],
) -> ApplicationRead:
    content = uploads.read_limited(file.file, uploads.SPREADSHEET_MAX_BYTES, field="file", label="材料文件")
    row = materials.receive_upload(
        session,
        actor=actor,
        settings=settings,
        application_id=application_id,
        material_row_id=material_id,
        file_name=file.filename or "材料",
        content=content,
    )
    return _app(session, actor, row)


@router.post("/applications/{application_id}/correction", summary="一次性告知补正（列出全部缺少的材料）")
def correction(actor: Window, session: SessionDep, application_id: IdPath, data: CorrectionIn) -> ApplicationRead:
    row = applications.request_correction(session, actor=actor, application_id=application_id, notes=data.notes)
    return _app(session, actor, row)


@router.post("/applications/{application_id}/accept", summary="受理（承诺时限自此按工作日计算）")
def accept(actor: Window, session: SessionDep, settings: SettingsDep, application_id: IdPath) -> ApplicationRead:
    return _app(
        session, actor, applications.accept(session, actor=actor, settings=settings, application_id=application_id)
    )


@router.post("/applications/{application_id}/reject", summary="不予受理（须写明理由）")
def reject(actor: Window, session: SessionDep, application_id: IdPath, data: ReasonIn) -> ApplicationRead:
    row = applications.reject(session, actor=actor, application_id=application_id, reason=data.reason)
    return _app(session, actor, row)


@router.post("/applications/{application_id}/review", summary="审查")
def review(actor: Approver, session: SessionDep, application_id: IdPath, data: NoteIn) -> ApplicationRead:
    return _app(
        session, actor, applications.review(session, actor=actor, application_id=application_id, note=data.note)
    )


@router.post("/applications/{application_id}/decide", summary="决定（准予或不予）")
def decide(actor: Approver, session: SessionDep, application_id: IdPath, data: DecisionIn) -> ApplicationRead:
    return _app(session, actor, applications.decide(session, actor=actor, application_id=application_id, data=data))


@router.post("/applications/{application_id}/finish", summary="办结")
def finish(actor: Approver, session: SessionDep, application_id: IdPath) -> ApplicationRead:
    return _app(session, actor, applications.finish(session, actor=actor, application_id=application_id))


# --- ratings


@router.post("/applications/{application_id}/rating", status_code=201, summary="记录申请人的评价（好差评）")
def rate(
    actor: Window, session: SessionDep, settings: SettingsDep, application_id: IdPath, data: RatingIn
) -> RatingRead:
    row = ratings.rate(session, actor=actor, settings=settings, application_id=application_id, data=data)
    return ratings.rating_read(session, row)


@router.get("/ratings", summary="评价列表")
def list_ratings(
    actor: Viewer,
    session: SessionDep,
    settings: SettingsDep,
    paging: Paging,
    department_id: IdQuery = None,
    matter_id: IdQuery = None,
    grade: Annotated[int | None, Query(ge=1, le=5, title="评价等级")] = None,
    bad: bool = False,
    good: bool = False,
) -> Page[RatingRead]:
    flt = ratings.RatingFilter(department_id=department_id, matter_id=matter_id, grade=grade, bad=bad, good=good)
    rows, total = ratings.list_ratings(
        session, actor=actor, settings=settings, flt=flt, offset=paging.offset, limit=paging.size
    )
    return Page(items=[ratings.rating_read(session, r) for r in rows], total=total, page=paging.page, size=paging.size)


@router.get("/rectifications", summary="差评整改任务")
def list_rectifications(
    actor: Viewer,
    session: SessionDep,
    paging: Paging,
    status: Literal["", "open", "done"] = "",
    late: bool = False,
) -> Page[RectificationRead]:
    rows, total = ratings.list_rectifications(
        session, actor=actor, status=status, late=late, offset=paging.offset, limit=paging.size
    )
    return Page(items=[ratings.rectification_read(r) for r in rows], total=total, page=paging.page, size=paging.size)


@router.post("/rectifications/{rectification_id}", summary="办结差评整改（整改措施与回访）")
def rectify(actor: Head, session: SessionDep, rectification_id: IdPath, data: RectifyIn) -> RectificationRead:
    row = ratings.rectify(session, actor=actor, rectification_id=rectification_id, data=data)
    return ratings.rectification_read(row)


# --- KPIs


@router.get("/kpis", summary="政务服务指标（材料减免率、全程网办率等，按查看者的部门范围）")
def kpi_report(
    actor: Viewer,
    session: SessionDep,
    settings: SettingsDep,
    since: Annotated[Day | None, Query(title="起始日期")] = None,
    until: Annotated[Day | None, Query(title="截止日期")] = None,
) -> KpiReport:
    rows = kpis.kpis(session, actor=actor, settings=settings, period=kpis.Period(since, until))
    return KpiReport(
        scope="county" if actor.county_scope else "department",
        since=since,
        until=until,
        items=[
            KpiRead(
                code=k.code,
                name=k.name,
                rate=k.rate,
                percent=k.percent,
                definition=k.definition,
                note=k.note,
                numerator=KpiFigureRead(**vars(k.numerator)),
                denominator=KpiFigureRead(**vars(k.denominator)),
            )
            for k in rows
        ],
    )
