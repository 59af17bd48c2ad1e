"""JSON routes of integration under /api/v1/integration."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Form, Query, Request, Response, UploadFile
from sqlalchemy.orm import Session

from zhixian.fields import ID_MAX
from zhixian.integration import basedata, file_sources, quarantine, remote_sources, service, worker
from zhixian.integration.models import Run
from zhixian.integration.schemas import (
    ChooseIn,
    ConflictRead,
    ConflictResolve,
    ConnectionIn,
    LegalPersonRead,
    MappingIn,
    MappingRead,
    PersonRead,
    PreviewRead,
    QualityRead,
    QuarantineRead,
    RemoteSourceIn,
    ResubmitIn,
    RunAccepted,
    RunRead,
    SourceRead,
    SourceSettings,
)
from zhixian.platform import outbound
from zhixian.platform.actor import Actor
from zhixian.platform.crypto import FieldCipher
from zhixian.web.auth import Require, SettingsDep
from zhixian.web.deps import SessionDep
from zhixian.web.params import IdPath, IdQuery

router = APIRouter(prefix="/api/v1/integration", tags=["数据整合"])

Viewer = Annotated[Actor, Depends(Require("integration.view"))]
Runner = Annotated[Actor, Depends(Require("integration.run"))]


def cipher_of(request: Request) -> FieldCipher:
    cipher: FieldCipher = request.app.state.cipher
    return cipher


Cipher = Annotated[FieldCipher, Depends(cipher_of)]


@router.get("/sources", summary="数据源（本部门范围）")
def sources(actor: Viewer, session: SessionDep) -> list[SourceRead]:
    return [service.source_read(session, s) for s in service.list_sources(session, actor=actor)]


@router.get("/targets", summary="本账号可建立数据源、加载数据的目录资源（与页面表单一致）")
def targets(actor: Runner, session: SessionDep) -> list[dict[str, object]]:
    return [
        {"id": r.id, "code": r.code, "name": r.name, "kind": r.kind, "base_library": r.base_library}
        for r in service.loadable_targets(session, actor=actor)
    ]


@router.post("/sources/upload", status_code=201, summary="上传文件建立数据源（CSV/Excel/JSON，整体检查后才保存）")
def upload_source(
    actor: Runner,
    session: SessionDep,
    settings: SettingsDep,
    file: Annotated[UploadFile, File(description="CSV（UTF-8/GBK/GB18030）、Excel 或 JSON")],
    name: Annotated[str, Form(max_length=200)],
    resource_id: Annotated[int, Form(ge=1, le=ID_MAX)],
    sheet: Annotated[str, Form(max_length=100)] = "",
) -> SourceRead:
    row = file_sources.create_file_source(
        session,
        actor=actor,
        settings=settings,
        name=name,
        resource_id=resource_id,
        filename=file.filename or "",
        stream=file.file,
        sheet=sheet,
    )
    return service.source_read(session, row)


@router.post("/sources", status_code=201, summary="建立 SQL 或 HTTP 接口数据源")
def create_remote(
    data: RemoteSourceIn, actor: Runner, session: SessionDep, cipher: Cipher, settings: SettingsDep
) -> SourceRead:
    policy = outbound.Policy.of(settings)
    row = remote_sources.create_remote_source(session, actor=actor, cipher=cipher, data=data, policy=policy)
    return service.source_read(session, row)


@router.get("/sources/{source_id}", summary="数据源详情")
def get_source(source_id: IdPath, actor: Viewer, session: SessionDep) -> SourceRead:
    return service.source_read(session, service.get_source(session, actor=actor, source_id=source_id))


@router.put("/sources/{source_id}/file", summary="更换数据源文件")
def replace_file(
    source_id: IdPath,
    actor: Runner,
    session: SessionDep,
    settings: SettingsDep,
    file: Annotated[UploadFile, File()],
) -> SourceRead:
    row = file_sources.replace_file(
        session, actor=actor, settings=settings, source_id=source_id, filename=file.filename or "", stream=file.file
    )
    return service.source_read(session, row)


@router.delete("/sources/{source_id}", summary="删除文件数据源（已加载的记录与运行记录保留，文件删除）")
def delete_source(source_id: IdPath, actor: Runner, session: SessionDep, settings: SettingsDep) -> SourceRead:
    row = file_sources.delete_file_source(session, actor=actor, settings=settings, source_id=source_id)
    return service.source_read(session, row)


@router.put("/sources/{source_id}/connection", summary="更换 SQL/HTTP 数据源的连接（连同密码或令牌整体重填）")
def source_connection(
    source_id: IdPath, data: ConnectionIn, actor: Runner, session: SessionDep, cipher: Cipher, settings: SettingsDep
) -> SourceRead:
    policy = outbound.Policy.of(settings)
    row = remote_sources.replace_connection(
        session, actor=actor, cipher=cipher, source_id=source_id, data=data, policy=policy
    )
    return service.source_read(session, row)


@router.put("/sources/{source_id}/settings", summary="定时与增量设置")
def source_settings(source_id: IdPath, data: SourceSettings, actor: Runner, session: SessionDep) -> SourceRead:
    return service.source_read(session, service.update_settings(session, actor=actor, source_id=source_id, data=data))


@router.put("/sources/{source_id}/mapping", summary="保存字段映射（产生新版本）")
def set_mapping(source_id: IdPath, data: MappingIn, actor: Runner, session: SessionDep) -> MappingRead:
    return MappingRead.model_validate(service.set_mapping(session, actor=actor, source_id=source_id, data=data))


@router.get("/sources/{source_id}/preview", summary="预览前若干行及校验结果（不写入）")
def preview(
    source_id: IdPath,
    actor: Runner,
    session: SessionDep,
    cipher: Cipher,
    settings: SettingsDep,
    rows: Annotated[int, Query(ge=1, le=200)] = 20,
) -> PreviewRead:
    return service.preview(session, actor=actor, cipher=cipher, settings=settings, source_id=source_id, rows=rows)


def start_in_background(request: Request, session: Session, run_id: int) -> None:
    """Commits the queued Run first (the worker reads it on its own connection), then hands it over.

    The request is done with the database after this: nothing in it may use ``session`` again.
    """
    session.commit()
    worker.submit(request.app.state.node, run_id)


def accepted(run: Run) -> RunAccepted:
    return RunAccepted(
        id=run.id,
        status=run.status,
        status_url=f"/api/v1/integration/runs/{run.id}",
        page_url=f"/integration/runs/{run.id}",
    )


@router.post(
    "/sources/{source_id}/runs",
    status_code=202,
    summary="运行数据源（排队后台执行，按批提交；用 status_url 查询进度）",
)
def run_source(
    source_id: IdPath,
    request: Request,
    response: Response,
    actor: Runner,
    session: SessionDep,
) -> RunAccepted:
    out = accepted(service.start_run(session, actor=actor, source_id=source_id))
    start_in_background(request, session, out.id)
    response.headers["Location"] = out.status_url
    return out


@router.post("/runs/{run_id}/resume", status_code=202, summary="从断点继续中断或失败的运行（排队后台执行）")
def resume(run_id: IdPath, request: Request, response: Response, actor: Runner, session: SessionDep) -> RunAccepted:
    out = accepted(service.queue_resume(session, actor=actor, run_id=run_id))
    start_in_background(request, session, out.id)
    response.headers["Location"] = out.status_url
    return out


@router.get("/runs", summary="运行记录")
def runs(actor: Viewer, session: SessionDep, source_id: IdQuery = None) -> list[RunRead]:
    return [service.run_read(session, r) for r in service.list_runs(session, actor=actor, source_id=source_id)]


@router.get("/runs/{run_id}", summary="运行状态、进度、断点、报告与血缘")
def get_run(run_id: IdPath, actor: Viewer, session: SessionDep) -> RunRead:
    return service.run_read(session, service.get_run(session, actor=actor, run_id=run_id))


@router.get("/quarantine", summary="隔离区")
def quarantine_list(
    actor: Viewer,
    session: SessionDep,
    source_id: IdQuery = None,
    status: Literal["open", "resubmitted", "resolved", "discarded", ""] = "open",
    run_id: IdQuery = None,
    kind: Literal["invalid", "conflict", ""] = "",
) -> list[QuarantineRead]:
    rows = quarantine.list_quarantine(
        session, actor=actor, source_id=source_id, status=status, run_id=run_id, kind=kind, limit=1000
    )
    return [QuarantineRead.model_validate(r) for r in rows]


@router.get("/quarantine/{quarantine_id}", summary="隔离记录（含原始数据，查看留痕）")
def quarantine_row(quarantine_id: IdPath, actor: Runner, session: SessionDep, cipher: Cipher) -> QuarantineRead:
    row = quarantine.get_quarantine(session, actor=actor, quarantine_id=quarantine_id)
    out = QuarantineRead.model_validate(row)
    out.data = quarantine.quarantine_data(session, actor=actor, cipher=cipher, row=row)
    if row.kind == "conflict":
        out.pairs = {k: list(v) for k, v in quarantine.conflict_payload(cipher, row).get("fields", {}).items()}
    return out


@router.post("/quarantine/{quarantine_id}/resubmit", summary="修正后重新提交")
def resubmit(
    quarantine_id: IdPath, data: ResubmitIn, actor: Runner, session: SessionDep, cipher: Cipher, settings: SettingsDep
) -> dict[str, object]:
    row, run, errors = quarantine.resubmit(
        session, actor=actor, cipher=cipher, settings=settings, quarantine_id=quarantine_id, data=data
    )
    return {"status": row.status, "errors": errors, "run": RunRead.model_validate(run).model_dump() if run else None}


@router.post("/quarantine/{quarantine_id}/choose", summary="同键异值：逐项选择采用已加载行（kept）或本行（held）的值")
def choose(
    quarantine_id: IdPath, data: ChooseIn, actor: Runner, session: SessionDep, cipher: Cipher
) -> dict[str, object]:
    row, run = quarantine.choose(session, actor=actor, cipher=cipher, quarantine_id=quarantine_id, data=data)
    return {"status": row.status, "run": RunRead.model_validate(run).model_dump() if run else None}


@router.post("/quarantine/{quarantine_id}/discard", summary="放弃该行")
def discard(quarantine_id: IdPath, actor: Runner, session: SessionDep) -> QuarantineRead:
    return QuarantineRead.model_validate(quarantine.discard(session, actor=actor, quarantine_id=quarantine_id))


@router.get("/persons/lookup", summary="按身份号码精确查询人口基础库（本部门提供的记录，脱敏，查询留痕）")
def person_lookup(
    actor: Viewer, session: SessionDep, cipher: Cipher, id_number: Annotated[str, Query(min_length=1, max_length=30)]
) -> PersonRead:
    row = basedata.find_person(session, actor=actor, cipher=cipher, id_number=id_number)
    return basedata.person_read(
        session, actor=actor, cipher=cipher, row=row, unmasked=False, action="integration.person.lookup"
    )


@router.get(
    "/persons/{person_id}", summary="人口记录（本部门提供的记录，脱敏，查看留痕）；unmasked=true 需个人信息查看权限"
)
def person(person_id: IdPath, actor: Viewer, session: SessionDep, cipher: Cipher, unmasked: bool = False) -> PersonRead:
    row = basedata.get_person(session, actor=actor, person_id=person_id)
    return basedata.person_read(session, actor=actor, cipher=cipher, row=row, unmasked=unmasked)


@router.get("/legal-persons/lookup", summary="按统一社会信用代码查询法人基础库（本部门提供的记录，查看留痕）")
def legal_lookup(
    actor: Viewer, session: SessionDep, uscc: Annotated[str, Query(min_length=18, max_length=18)]
) -> LegalPersonRead:
    row = basedata.find_legal(session, actor=actor, uscc=uscc)
    return basedata.legal_read(session, actor=actor, row=row)


@router.get("/conflicts", summary="待本部门处理的数据冲突")
def conflicts(
    actor: Viewer, session: SessionDep, cipher: Cipher, status: Literal["open", "kept", "replaced", ""] = "open"
) -> list[ConflictRead]:
    return basedata.conflict_views(session, actor=actor, cipher=cipher, status=status)


@router.post("/conflicts/{conflict_id}/resolve", summary="处理冲突：保留现值或采用新值")
def resolve(
    conflict_id: IdPath, data: ConflictResolve, actor: Runner, session: SessionDep, cipher: Cipher
) -> ConflictRead:
    row = basedata.resolve_conflict(session, actor=actor, cipher=cipher, conflict_id=conflict_id, action=data.action)
    return basedata.conflict_read(session, cipher=cipher, row=row)


@router.get("/quality", summary="各资源最新数据质量")
def quality(actor: Viewer, session: SessionDep) -> list[QualityRead]:
    return basedata.latest_quality(session, actor=actor)


@router.get("/quality/{resource_id}/trend", summary="数据质量趋势")
def quality_trend(resource_id: IdPath, actor: Viewer, session: SessionDep) -> list[dict[str, object]]:
    return basedata.quality_trend(session, actor=actor, resource_id=resource_id)
