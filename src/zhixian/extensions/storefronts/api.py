"""JSON routes of the storefronts extension under /api/v1/storefronts: thin, the rules are in ``service``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from zhixian.extensions.storefronts import service
from zhixian.extensions.storefronts.schemas import ShopDetail, ShopIn, ShopRead
from zhixian.platform.actor import Actor
from zhixian.web.auth import Require
from zhixian.web.deps import SessionDep
from zhixian.web.params import IdPath

router = APIRouter(prefix="/api/v1/storefronts", tags=["商铺店面（扩展）"])
Viewer = Annotated[Actor, Depends(Require("storefronts.view"))]


@router.get("/shops", summary="商铺列表")
def list_shops(session: SessionDep, actor: Viewer) -> list[ShopRead]:
    return service.list_shops(session)


@router.post("/shops", status_code=201, summary="登记商铺（统一社会信用代码校验）")
def create_shop(
    data: ShopIn, request: Request, session: SessionDep, actor: Annotated[Actor, Depends(Require("storefronts.manage"))]
) -> ShopRead:
    shop = service.create_shop(session, actor=actor, cipher=request.app.state.cipher, **data.model_dump())
    return service.shop_read(shop)


@router.get("/shops/{shop_id}", summary="商铺详情与关联案件")
def get_shop(shop_id: IdPath, session: SessionDep, actor: Viewer) -> ShopDetail:
    return service.shop_detail(session, shop_id)
