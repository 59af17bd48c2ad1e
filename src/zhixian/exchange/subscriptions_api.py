"""JSON routes of subscriptions under /api/v1/exchange/subscriptions: both sides see them, the consumer manages them."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from zhixian.exchange import subscriptions
from zhixian.exchange.feed_schemas import DeliveryRead, ReplayIn, SubscriptionIn, SubscriptionRead
from zhixian.platform.actor import Actor
from zhixian.web.auth import Require, SettingsDep
from zhixian.web.deps import SessionDep
from zhixian.web.pagination import Page, PageParams, page_params
from zhixian.web.params import IdPath

router = APIRouter(prefix="/api/v1/exchange/subscriptions", tags=["数据共享交换"])

Viewer = Annotated[Actor, Depends(Require("exchange.view"))]
Requester = Annotated[Actor, Depends(Require("exchange.request"))]
Paging = Annotated[PageParams, Depends(page_params)]


@router.get("", summary="变更订阅列表（订阅方与提供方都可见）")
def list_subscriptions(
    actor: Viewer, session: SessionDep, box: Literal["all", "mine", "provided"] = "all"
) -> list[SubscriptionRead]:
    rows = subscriptions.list_subscriptions(session, actor=actor, box=box)
    return [subscriptions.read(session, r) for r in rows]


@router.post("", status_code=201, summary="为本部门应用订阅一项授权资源的变更推送")
def create(data: SubscriptionIn, actor: Requester, session: SessionDep, settings: SettingsDep) -> JSONResponse:
    row = subscriptions.create(session, actor=actor, settings=settings, data=data)
    return JSONResponse(subscriptions.read(session, row).model_dump(mode="json"), status_code=201)


@router.get("/{subscription_id}", summary="一项订阅及其积压")
def get(subscription_id: IdPath, actor: Viewer, session: SessionDep) -> SubscriptionRead:
    return subscriptions.read(session, subscriptions.get(session, actor=actor, subscription_id=subscription_id))


@router.get("/{subscription_id}/deliveries", summary="推送批次：送达、待送达、失败原因")
def deliveries(
    subscription_id: IdPath,
    actor: Viewer,
    session: SessionDep,
    paging: Paging,
    status: Literal["", "pending", "delivered", "superseded"] = "",
) -> Page[DeliveryRead]:
    rows, total = subscriptions.deliveries(
        session, actor=actor, subscription_id=subscription_id, status=status, offset=paging.offset, limit=paging.size
    )
    items = [subscriptions.delivery_read(r) for r in rows]
    return Page(items=items, total=total, page=paging.page, size=paging.size)


@router.post("/{subscription_id}/replay", summary="从游标之后重新推送（订阅方）")
def replay(
    subscription_id: IdPath, data: ReplayIn, actor: Requester, session: SessionDep, settings: SettingsDep
) -> dict[str, int]:
    superseded = subscriptions.replay(
        session, actor=actor, settings=settings, subscription_id=subscription_id, cursor=data.cursor
    )
    return {"superseded": superseded}


@router.post("/{subscription_id}/pause", summary="暂停推送（订阅方）")
def pause(subscription_id: IdPath, actor: Requester, session: SessionDep) -> SubscriptionRead:
    row = subscriptions.set_status(session, actor=actor, subscription_id=subscription_id, status="paused")
    return subscriptions.read(session, row)


@router.post("/{subscription_id}/resume", summary="恢复推送（订阅方）")
def resume(subscription_id: IdPath, actor: Requester, session: SessionDep) -> SubscriptionRead:
    row = subscriptions.set_status(session, actor=actor, subscription_id=subscription_id, status="active")
    return subscriptions.read(session, row)


@router.post("/{subscription_id}/cancel", summary="取消订阅（订阅方）")
def cancel(subscription_id: IdPath, actor: Requester, session: SessionDep) -> SubscriptionRead:
    row = subscriptions.set_status(session, actor=actor, subscription_id=subscription_id, status="cancelled")
    return subscriptions.read(session, row)
