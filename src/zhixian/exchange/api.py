"""JSON routes of the exchange's management side under /api/v1/exchange (the gateway is gateway_api)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from zhixian.exchange import apps, grants, reads, requests, usage
from zhixian.exchange.schemas import (
    ApplicationCreated,
    ApplicationIn,
    ApplicationRead,
    ApplicationUpdate,
    ApproveIn,
    CallRead,
    DisputeIn,
    EventRead,
    GrantRead,
    NoteIn,
    PersonUsageIn,
    PersonUsageRow,
    ReasonIn,
    RefuseIn,
    RenewIn,
    RequestIn,
    RequestRead,
    ResolveIn,
)
from zhixian.fields import Moment
from zhixian.platform.actor import Actor
from zhixian.web.auth import Require, SettingsDep
from zhixian.web.deps import SessionDep
from zhixian.web.pagination import Page, PageParams, page_params
from zhixian.web.params import IdPath, IdQuery

router = APIRouter(prefix="/api/v1/exchange", tags=["数据共享交换"])

Viewer = Annotated[Actor, Depends(Require("exchange.view"))]
Requester = Annotated[Actor, Depends(Require("exchange.request"))]
Approver = Annotated[Actor, Depends(Require("exchange.approve"))]
Authority = Annotated[Actor, Depends(Require("exchange.authority"))]
Stats = Annotated[Actor, Depends(Require("exchange.stats"))]
PersonOfficer = Annotated[Actor, Depends(Require("exchange.usage.person"))]
Paging = Annotated[PageParams, Depends(page_params)]


def _cipher(request: Request) -> Any:
    return request.app.state.cipher


# --- requests


@router.get("/requests", summary="共享申请列表")
def list_requests(
    actor: Viewer,
    session: SessionDep,
    paging: Paging,
    box: Literal["all", "mine", "provided", "todo"] = "all",
    status: Literal["", "check", "review", "dispute", "granted", "refused", "withdrawn"] = "",
    light: Literal["", "green", "yellow", "red"] = "",
    resource_id: IdQuery = None,
    since: Annotated[Moment | None, Query()] = None,
) -> Page[RequestRead]:
    rows, total = requests.list_requests(
        session,
        actor=actor,
        box=box,
        status=status,
        light=light,
        resource_id=resource_id,
        since=since,
        offset=paging.offset,
        limit=paging.size,
    )
    names = reads.Names(session)
    items = [reads.request_read(session, actor, r, names) for r in rows]
    return Page(items=items, total=total, page=paging.page, size=paging.size)


@router.post("/requests", status_code=201, summary="提交共享申请")
def submit_request(actor: Requester, session: SessionDep, settings: SettingsDep, data: RequestIn) -> RequestRead:
    req = requests.submit(session, actor=actor, settings=settings, data=data)
    return reads.request_read(session, actor, req, with_timeline=True)


@router.get("/requests/{request_id}", summary="共享申请详情（含时间线）")
def get_request(actor: Viewer, session: SessionDep, request_id: IdPath) -> RequestRead:
    req = requests.get_request(session, actor=actor, request_id=request_id)
    return reads.request_read(session, actor, req, with_timeline=True)


@router.post("/requests/{request_id}/approve", summary="同意（合规审核通过或提供方同意），生成授权")
def approve_request(
    actor: Approver, session: SessionDep, settings: SettingsDep, request_id: IdPath, data: ApproveIn
) -> GrantRead:
    grant = requests.approve(session, actor=actor, settings=settings, request_id=request_id, data=data)
    return reads.grant_read(session, actor, grant, with_timeline=True)


@router.post("/requests/{request_id}/refuse", summary="不同意（须写明理由和依据）")
def refuse_request(
    actor: Approver, session: SessionDep, settings: SettingsDep, request_id: IdPath, data: RefuseIn
) -> RequestRead:
    req = requests.refuse(session, actor=actor, settings=settings, request_id=request_id, data=data)
    return reads.request_read(session, actor, req, with_timeline=True)


@router.post("/requests/{request_id}/dispute", summary="对不予共享提出争议，提交数据主管部门协调")
def dispute_request(
    actor: Requester, session: SessionDep, settings: SettingsDep, request_id: IdPath, data: DisputeIn
) -> RequestRead:
    req = requests.dispute(session, actor=actor, settings=settings, request_id=request_id, data=data)
    return reads.request_read(session, actor, req, with_timeline=True)


@router.post("/requests/{request_id}/resolve", summary="数据主管部门协调争议：授权或维持不予共享")
def resolve_request(
    actor: Authority, session: SessionDep, settings: SettingsDep, request_id: IdPath, data: ResolveIn
) -> RequestRead:
    requests.resolve(session, actor=actor, settings=settings, request_id=request_id, data=data)
    req = requests.get_request(session, actor=actor, request_id=request_id)
    return reads.request_read(session, actor, req, with_timeline=True)


@router.post("/requests/{request_id}/withdraw", summary="撤回办理中的申请")
def withdraw_request(actor: Requester, session: SessionDep, request_id: IdPath, data: NoteIn) -> RequestRead:
    req = requests.withdraw(session, actor=actor, request_id=request_id, note=data.note)
    return reads.request_read(session, actor, req, with_timeline=True)


# --- grants


@router.get("/grants", summary="授权列表")
def list_grants(
    actor: Viewer,
    session: SessionDep,
    paging: Paging,
    box: Literal["all", "received", "given"] = "all",
    state: Literal["", "active", "pending", "expired", "expiring", "suspended", "revoked"] = "",
    resource_id: IdQuery = None,
    application_id: IdQuery = None,
) -> Page[GrantRead]:
    rows, total = grants.list_grants(
        session,
        actor=actor,
        box=box,
        state_value=state,
        resource_id=resource_id,
        application_id=application_id,
        offset=paging.offset,
        limit=paging.size,
    )
    names = reads.Names(session)
    items = [reads.grant_read(session, actor, g, names) for g in rows]
    return Page(items=items, total=total, page=paging.page, size=paging.size)


@router.get("/grants/{grant_id}", summary="授权详情（含时间线）")
def get_grant(actor: Viewer, session: SessionDep, grant_id: IdPath) -> GrantRead:
    grant = grants.get_grant(session, actor=actor, grant_id=grant_id)
    return reads.grant_read(session, actor, grant, with_timeline=True)


@router.post("/grants/{grant_id}/suspend", summary="暂停授权（下一次调用即生效）")
def suspend_grant(actor: Approver, session: SessionDep, grant_id: IdPath, data: ReasonIn) -> GrantRead:
    grant = grants.suspend(session, actor=actor, grant_id=grant_id, reason=data.reason)
    return reads.grant_read(session, actor, grant, with_timeline=True)


@router.post("/grants/{grant_id}/resume", summary="恢复暂停的授权")
def resume_grant(actor: Approver, session: SessionDep, grant_id: IdPath, data: NoteIn) -> GrantRead:
    grant = grants.resume(session, actor=actor, grant_id=grant_id, note=data.note)
    return reads.grant_read(session, actor, grant, with_timeline=True)


@router.post("/grants/{grant_id}/renew", summary="续期")
def renew_grant(
    actor: Approver, session: SessionDep, settings: SettingsDep, grant_id: IdPath, data: RenewIn
) -> GrantRead:
    grant = grants.renew(
        session, actor=actor, settings=settings, grant_id=grant_id, valid_until=data.valid_until, note=data.note
    )
    return reads.grant_read(session, actor, grant, with_timeline=True)


@router.post("/grants/{grant_id}/revoke", summary="撤销授权（下一次调用即生效）")
def revoke_grant(actor: Approver, session: SessionDep, grant_id: IdPath, data: ReasonIn) -> GrantRead:
    grant = grants.revoke(session, actor=actor, grant_id=grant_id, reason=data.reason)
    return reads.grant_read(session, actor, grant, with_timeline=True)


# --- applications


@router.get("/applications", summary="本部门应用列表")
def list_applications(actor: Viewer, session: SessionDep) -> list[ApplicationRead]:
    return [apps.application_read(session, a) for a in apps.list_applications(session, actor=actor)]


@router.post("/applications", status_code=201, summary="登记应用，签发应用标识和密钥（密钥只显示一次）")
def create_application(
    request: Request, actor: Requester, session: SessionDep, settings: SettingsDep, data: ApplicationIn
) -> JSONResponse:
    row, secret = apps.create_application(session, actor=actor, cipher=_cipher(request), settings=settings, data=data)
    body = ApplicationCreated(application=apps.application_read(session, row), client_secret=secret)
    return JSONResponse(body.model_dump(mode="json"), status_code=201, headers={"Cache-Control": "no-store"})


@router.get("/applications/{application_id}", summary="应用详情（不含密钥）")
def get_application(actor: Viewer, session: SessionDep, application_id: IdPath) -> ApplicationRead:
    return apps.application_read(session, apps.get_application(session, actor=actor, application_id=application_id))


@router.get("/applications/{application_id}/events", summary="应用的变更记录")
def application_events(actor: Viewer, session: SessionDep, application_id: IdPath) -> list[EventRead]:
    row = apps.get_application(session, actor=actor, application_id=application_id)
    return reads.events(session, application_id=row.id)


@router.patch("/applications/{application_id}", summary="修改应用（白名单、限额、停用/启用）")
def update_application(
    actor: Requester, session: SessionDep, application_id: IdPath, data: ApplicationUpdate
) -> ApplicationRead:
    row = apps.update_application(session, actor=actor, application_id=application_id, data=data)
    return apps.application_read(session, row)


@router.post("/applications/{application_id}/secret", summary="重置密钥（旧密钥立即失效，新密钥只显示一次）")
def rotate_secret(request: Request, actor: Requester, session: SessionDep, application_id: IdPath) -> JSONResponse:
    row, secret = apps.rotate_secret(session, actor=actor, cipher=_cipher(request), application_id=application_id)
    body = ApplicationCreated(application=apps.application_read(session, row), client_secret=secret)
    return JSONResponse(body.model_dump(mode="json"), headers={"Cache-Control": "no-store"})


# --- usage


@router.get("/calls", summary="网关调用记录（按用户可见范围）")
def list_calls(
    actor: Viewer,
    session: SessionDep,
    paging: Paging,
    application_id: IdQuery = None,
    resource_id: IdQuery = None,
    consumer_department_id: IdQuery = None,
    provider_department_id: IdQuery = None,
    grant_id: IdQuery = None,
    operation: Literal[
        "", "list", "lookup", "query", "verify", "changes", "push", "export", "export_get", "export_file", "export_run"
    ] = "",
    result: Literal["", "成功", "拒绝", "失败"] = "",
    side: Literal["", "consumer", "provider"] = "",
    via: Literal["", "app", "department"] = "",
    purpose: Annotated[str, Query(max_length=500)] = "",
    node: Annotated[str, Query(max_length=40, pattern=r"^[A-Za-z0-9._:-]*$")] = "",
    since: Annotated[Moment | None, Query()] = None,
    until: Annotated[Moment | None, Query()] = None,
) -> Page[CallRead]:
    flt = usage.CallFilter(
        application_id=application_id,
        resource_id=resource_id,
        consumer_department_id=consumer_department_id,
        provider_department_id=provider_department_id,
        grant_id=grant_id,
        operation=operation,
        result=result,
        side=side,
        purpose=purpose,
        since=since,
        until=until,
        via=via,
        node=node,
    )
    rows, total = usage.list_calls(session, actor=actor, flt=flt, offset=paging.offset, limit=paging.size)
    names = reads.Names(session)
    resources = usage.names(session)["resources"]
    items = [reads.call_read(c, names, resources) for c in rows]
    return Page(items=items, total=total, page=paging.page, size=paging.size)


@router.get("/usage", summary="数据使用情况：提供方看谁在用，使用方看用了什么")
def usage_summary(
    actor: Viewer,
    session: SessionDep,
    side: Literal["provider", "consumer"] = "provider",
    days: Annotated[int, Query(ge=1, le=366)] = 30,
) -> list[dict[str, Any]]:
    return usage.usage_table(session, actor=actor, side=side, days=days)


@router.get("/statistics", summary="全县共享统计（数据主管部门）")
def statistics(
    actor: Stats, session: SessionDep, settings: SettingsDep, days: Annotated[int, Query(ge=1, le=3660)] = 365
) -> dict[str, Any]:
    return usage.statistics(session, actor=actor, settings=settings, days=days)


@router.post("/person-usage", summary="某人的数据被哪些部门、为何使用（按身份号码，查询留痕）")
def person_usage(
    request: Request, actor: PersonOfficer, session: SessionDep, data: PersonUsageIn
) -> list[PersonUsageRow]:
    rows = usage.person_usage(session, actor=actor, cipher=_cipher(request), id_number=data.id_number, note=data.note)
    return [PersonUsageRow.model_validate(r) for r in rows]
