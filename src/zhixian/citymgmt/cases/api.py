"""JSON routes for cases: intake from every channel, lists and detail, actions, photos, the exchange feed.

Base data and 应用维护 routes are in ``catalogue_api``, 综合评价 in ``evaluation_api``; the package
``subsystem`` registers the three routers, all under /api/v1/citymgmt.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Header, Query, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import ValidationError
from sqlalchemy import select

from zhixian.citymgmt import service
from zhixian.citymgmt.cases import places, routing, workflow
from zhixian.citymgmt.cases.filters import query_parameters
from zhixian.citymgmt.models import Case, Postponement, Task
from zhixian.citymgmt.schemas import (
    ActionIn,
    BatchIntake,
    CaseCreated,
    CaseDetail,
    CaseIntake,
    CaseRead,
    EventRead,
    PhotoRead,
    PlaceRead,
    PostponementRead,
    TaskRead,
)
from zhixian.clock import utcnow
from zhixian.errors import DomainError, Invalid, invalid_from
from zhixian.fields import Moment
from zhixian.platform import idempotency
from zhixian.platform.actor import Actor
from zhixian.web.auth import Require, SettingsDep, Signed
from zhixian.web.deps import SessionDep
from zhixian.web.pagination import Page, PageParams, page_params
from zhixian.web.params import IdPath

router = APIRouter(prefix="/api/v1/citymgmt", tags=["数字城管"])

Viewer = Annotated[Actor, Depends(Require())]  # scope is enforced by service.visible()
Paging = Annotated[PageParams, Depends(page_params)]


def intake_options(request: Request, photos: list[service.PhotoIn] | None = None) -> service.IntakeOptions:
    state = request.app.state
    return service.intake_options(state.registry, settings=state.settings, cipher=state.cipher, photos=photos or ())


def detail(session: Any, case: Case, actor: Actor, request: Request | None = None) -> CaseDetail:
    session.flush()
    session.expire(case, ["events", "photos"])  # view-only relationships do not see rows added this request
    base = service.case_read(session, case)
    tasks = session.execute(select(Task).where(Task.case_id == case.id).order_by(Task.id)).scalars().all()
    posts = (
        session.execute(select(Postponement).where(Postponement.case_id == case.id).order_by(Postponement.id))
        .scalars()
        .all()
    )
    dups = service.duplicates(session, case) if case.status in ("reported", "verifying") else []
    suggestion = routing.suggest(session, case) if case.status == "dispatching" else None
    where = places.place(session, case)
    return CaseDetail(
        **base.model_dump(),
        events=[EventRead.model_validate(e) for e in case.events],
        photos=[
            PhotoRead.model_validate(p).model_copy(update={"url": f"/api/v1/citymgmt/photos/{p.id}"})
            for p in case.photos
        ],
        tasks=[TaskRead.model_validate(t) for t in tasks],
        postponements=[PostponementRead.model_validate(p) for p in posts],
        duplicates=dups,
        actions=workflow.allowed_actions(session, actor=actor, case=case),
        suggested_department_id=suggestion.department_id if suggestion else None,
        suggested_reason=suggestion.reason if suggestion else "",
        place=PlaceRead(
            grid_code=where.grid_code,
            community_code=where.community_code,
            community_name=where.community_name,
            street_code=where.street_code,
            street_name=where.street_name,
            nearest_address=where.nearest.text if where.nearest else None,
            nearest_distance_m=where.nearest.distance_m if where.nearest else None,
        ),
    )


def _replay(session: Any, actor: Actor, key: str | None, digest: str) -> JSONResponse | None:
    if not key:
        return None
    if len(key) > 128:
        raise Invalid("Idempotency-Key 过长（最多 128 个字符）", field="Idempotency-Key")
    found = idempotency.replay(session, user_id=actor.user_id, key=key, request_hash=digest)
    if found is None:
        return None
    status, body = found
    headers = {"Idempotent-Replayed": "true"}
    if isinstance(body, dict) and isinstance(body.get("links"), dict) and "detail" in body["links"]:
        headers["Location"] = body["links"]["detail"]
    return JSONResponse(body, status_code=status, headers=headers)


# --- intake


@router.post(
    "/cases",
    status_code=201,
    responses={201: {"model": CaseCreated}},
    summary="受理案件（12345、物联感知、视频分析、上级转办等渠道）；详情与时间线请 GET links.detail",
)
def create_case(
    data: CaseIntake,
    request: Request,
    session: SessionDep,
    actor: Signed,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> Response:
    digest = idempotency.body_hash(data.model_dump(mode="json"))
    replayed = _replay(session, actor, idempotency_key, digest)
    if replayed is not None:
        return replayed
    options = intake_options(request)
    case = service.intake(session, actor=actor, data=data, options=options)
    body = service.created(case, options.stored).model_dump(mode="json")
    if idempotency_key:
        idempotency.remember(
            session, user_id=actor.user_id, key=idempotency_key, request_hash=digest, status=201, body=body
        )
    return JSONResponse(body, status_code=201, headers={"Location": body["links"]["detail"]})


@router.post("/cases/batch", summary="批量受理（物联感知、视频分析、上级转办等系统对接）：逐条结果，逐条幂等")
def create_cases(data: BatchIntake, request: Request, session: SessionDep, actor: Signed) -> dict[str, Any]:
    """Each item in its own savepoint: a bad item is reported by index and the others are kept."""
    results: list[dict[str, Any]] = []
    created = 0
    for index, item in enumerate(data.items):
        intake = CaseIntake.model_validate(item.model_dump(exclude={"idempotency_key"}))
        digest = idempotency.body_hash(intake.model_dump(mode="json"))
        key = item.idempotency_key
        try:
            with session.begin_nested():
                found = (
                    idempotency.replay(session, user_id=actor.user_id, key=key, request_hash=digest) if key else None
                )
                if found is not None:
                    results.append({"index": index, "status": found[0], "replayed": True, "case": found[1]})
                    continue
                options = intake_options(request)
                case = service.intake(session, actor=actor, data=intake, options=options)
                body = service.created(case, options.stored).model_dump(mode="json")
                if key:
                    idempotency.remember(
                        session, user_id=actor.user_id, key=key, request_hash=digest, status=201, body=body
                    )
        except DomainError as exc:
            error = {"detail": exc.detail, "errors": [e.as_dict() for e in exc.errors]}
            results.append({"index": index, "status": exc.status, **error})
            continue
        created += 1
        results.append({"index": index, "status": 201, "replayed": False, "case": body})
    return {"created": created, "failed": sum(1 for r in results if r["status"] >= 400), "results": results}


async def _read_photos(files: list[UploadFile] | None, stage: str, max_bytes: int) -> list[service.PhotoIn]:
    out = []
    for f in files or []:
        if f.filename or f.size:
            out.append(await service.read_upload(f, max_bytes=max_bytes, stage=stage))
    return out


# the phone form's fields by their Chinese names: a refusal names them so (errors also carry the field)
REPORT_LABELS = {
    "class_code": "问题类别",
    "lon": "经度",
    "lat": "纬度",
    "description": "问题描述",
    "address": "地址",
    "crs": "坐标系",
    "urgent": "紧急",
    "self_disposed": "已当场自行处置",
    "component_code": "部件编码",
    "photo": "现场照片",
    "photo_after": "处置后照片",
}


@router.post(
    "/reports",
    status_code=201,
    responses={201: {"model": CaseCreated}},
    summary="监督员上报（照片 + 位置，multipart；支持 Idempotency-Key 重试）",
)
async def report(
    request: Request,
    session: SessionDep,
    actor: Annotated[Actor, Depends(Require("citymgmt.report"))],
    class_code: Annotated[str, Form(title=REPORT_LABELS["class_code"])],
    lon: Annotated[str, Form(title=REPORT_LABELS["lon"])],
    lat: Annotated[str, Form(title=REPORT_LABELS["lat"])],
    description: Annotated[str, Form(title=REPORT_LABELS["description"])] = "",
    address: Annotated[str, Form(title=REPORT_LABELS["address"])] = "",
    crs: Annotated[str, Form(title=REPORT_LABELS["crs"])] = "WGS84",
    urgent: Annotated[bool, Form(title=REPORT_LABELS["urgent"])] = False,
    self_disposed: Annotated[bool, Form(title=REPORT_LABELS["self_disposed"])] = False,
    component_code: Annotated[str, Form(title=REPORT_LABELS["component_code"])] = "",
    photo: Annotated[list[UploadFile] | None, File(title=REPORT_LABELS["photo"])] = None,
    photo_after: Annotated[list[UploadFile] | None, File(title=REPORT_LABELS["photo_after"])] = None,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> Response:
    max_bytes = int(service.config(session)["photo_max_bytes"])
    before = await _read_photos(photo, "before", max_bytes)
    after = await _read_photos(photo_after, "after", max_bytes)
    fields = {
        "source": "inspector",
        "class_code": class_code,
        "lon": lon,
        "lat": lat,
        "crs": crs,
        "description": description,
        "address": address,
        "urgent": urgent,
        "self_disposed": self_disposed,
        "component_code": component_code or None,
    }
    try:
        data = CaseIntake.model_validate(fields)
    except ValidationError as exc:
        raise invalid_from(exc, REPORT_LABELS) from exc
    digest = idempotency.body_hash(
        {**data.model_dump(mode="json"), "photos": [hashlib.sha256(p.content).hexdigest() for p in before + after]}
    )
    replayed = _replay(session, actor, idempotency_key, digest)
    if replayed is not None:
        return replayed
    if not before:
        raise Invalid("请拍摄或选择现场照片", field="photo")
    options = intake_options(request, photos=before + after)
    case = service.intake(session, actor=actor, data=data, options=options)
    body = service.created(case, options.stored).model_dump(mode="json")
    if idempotency_key:
        idempotency.remember(
            session, user_id=actor.user_id, key=idempotency_key, request_hash=digest, status=201, body=body
        )
    return JSONResponse(body, status_code=201, headers={"Location": body["links"]["detail"]})


# --- reading and acting


@router.get(
    "/cases",
    summary="案件列表（按权限范围）",
    description="条件与案件列表页相同（状态 open 为在办，不含挂账缓办，on_hold=include 时包含）；"
    "日期为北京时间的日期，起止两端都含；参数为空即不限。",
    openapi_extra={"parameters": query_parameters()},
)
def list_cases(request: Request, session: SessionDep, actor: Viewer, paging: Paging) -> Page[CaseRead]:
    flt = service.CaseFilter.from_params(request.query_params)
    rows, total = service.list_cases(session, actor=actor, flt=flt, offset=paging.offset, limit=paging.size)
    return Page(items=[service.case_read(session, c) for c in rows], total=total, page=paging.page, size=paging.size)


@router.get("/cases/{case_id}", summary="案件详情与时间线")
def get_case(case_id: IdPath, session: SessionDep, actor: Viewer) -> CaseDetail:
    return detail(session, service.get_case(session, actor=actor, case_id=case_id), actor)


@router.post("/cases/{case_id}/actions/{action}", summary="办理案件（JSON 或带照片的 multipart）")
async def act(case_id: IdPath, action: str, request: Request, session: SessionDep, actor: Signed) -> CaseDetail:
    photos: list[service.PhotoIn] = []
    ctype = request.headers.get("content-type", "")
    if ctype.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        form = await request.form()
        raw: dict[str, Any] = {}
        for key, value in form.multi_items():
            if isinstance(value, str):
                if key != "csrf_token" and value != "":
                    raw[key] = value
            elif value.filename:
                max_bytes = int(service.config(session)["photo_max_bytes"])
                photos.append(await service.read_upload(value, max_bytes=max_bytes, stage="after"))
    else:
        try:
            raw = json.loads(await request.body() or b"{}")
        except json.JSONDecodeError as exc:
            raise Invalid("请求体不是有效的 JSON") from exc
        if not isinstance(raw, dict):
            raise Invalid("请求体必须是 JSON 对象")
    try:
        data = ActionIn.model_validate(raw)
    except ValidationError as exc:
        raise invalid_from(exc) from exc
    settings = request.app.state.settings
    case = workflow.perform(
        session, actor=actor, settings=settings, case_id=case_id, action=action, data=data, photos=photos
    )
    return detail(session, case, actor)


@router.get("/photos/{photo_id}", summary="案件照片")
def photo(photo_id: IdPath, session: SessionDep, actor: Viewer, settings: SettingsDep) -> FileResponse:
    row, path = service.readable_photo(session, settings=settings, actor=actor, photo_id=photo_id)
    return FileResponse(
        path,
        media_type=row.content_type,
        headers={"Cache-Control": "private, max-age=86400"},
    )


@router.get("/tasks/mine", summary="我的任务（核实、核查、待处置）")
def my_tasks(session: SessionDep, actor: Signed) -> Page[CaseRead]:
    rows, total = service.list_cases(
        session, actor=actor, flt=service.CaseFilter(mine=True), limit=200, order="deadline"
    )
    return Page(items=[service.case_read(session, c) for c in rows], total=total, page=1, size=200)


# --- exchange


@router.get("/exchange/cases", summary="数据交换：按更新时间增量拉取案件（上报上级平台）")
def exchange_cases(
    session: SessionDep,
    actor: Annotated[Actor, Depends(Require("citymgmt.view"))],
    updated_since: Moment | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
) -> dict[str, Any]:
    since = updated_since or service.LOCAL_EPOCH
    if since.tzinfo is None:
        raise Invalid("updated_since 必须带时区，如 2026-01-01T00:00:00+08:00", field="updated_since")
    rows = service.changed_since(session, since=since, limit=limit)
    items = [service.case_read(session, c).model_dump(mode="json") for c in rows]
    return {
        "schema": "zhixian.citymgmt.case/v1",
        "county": request_county(session),
        "generated_at": utcnow().isoformat(),
        "count": len(items),
        "next_since": rows[-1].updated_at.isoformat() if rows else None,
        "items": items,
    }


def request_county(session: Any) -> str:
    from zhixian.platform import service as platform

    c = platform.county(session)
    return c.code[:6] if c else ""
