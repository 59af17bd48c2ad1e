"""Routes of the storefronts extension: shop API, shop pages and intake at a shop."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import Field, ValidationError
from sqlalchemy import select

from zhixian.citymgmt import service as citymgmt
from zhixian.citymgmt.cases.api import intake_options
from zhixian.citymgmt.models import CaseClass
from zhixian.db import SessionDep
from zhixian.errors import Invalid
from zhixian.extensions.storefronts import service
from zhixian.extensions.storefronts.models import Shop, ShopNotice
from zhixian.fields import IdPath
from zhixian.platform.actor import Actor
from zhixian.platform.schemas import Input
from zhixian.web.auth import Require
from zhixian.web.forms import FormErrors, form_errors
from zhixian.web.templating import render

api = APIRouter(prefix="/api/v1/storefronts", tags=["商铺店面（扩展）"])
pages = APIRouter(prefix="/storefronts", include_in_schema=False)
Viewer = Annotated[Actor, Depends(Require("storefronts.view"))]


class ShopIn(Input):
    name: str = Field(min_length=1, max_length=100)
    uscc: str = Field(min_length=18, max_length=18)
    address: str = Field("", max_length=200)
    lon: float = Field(allow_inf_nan=False)
    lat: float = Field(allow_inf_nan=False)
    contact_name: str = Field("", max_length=50)
    contact_phone: str = Field("", max_length=20)


def _shop(s: Shop, count: int = 0) -> dict[str, Any]:
    return {
        "id": s.id,
        "name": s.name,
        "uscc": s.uscc,
        "address": s.address,
        "lon": s.lon,
        "lat": s.lat,
        "contact_name": s.contact_name,
        "contact_phone": s.contact_phone_masked,
        "zone_wkt": s.zone_wkt,
        "cases": count,
    }


@api.get("/shops", summary="商铺列表")
def list_shops(session: SessionDep, actor: Viewer) -> list[dict[str, Any]]:
    counts = service.case_counts(session)
    return [_shop(s, counts.get(s.id, 0)) for s in session.execute(select(Shop).order_by(Shop.id)).scalars()]


@api.post("/shops", status_code=201, summary="登记商铺（统一社会信用代码校验）")
def create_shop(
    data: ShopIn, request: Request, session: SessionDep, actor: Annotated[Actor, Depends(Require("storefronts.manage"))]
) -> dict[str, Any]:
    shop = service.create_shop(session, actor=actor, cipher=request.app.state.cipher, **data.model_dump())
    return _shop(shop)


@api.get("/shops/{shop_id}", summary="商铺详情与关联案件")
def get_shop(shop_id: IdPath, session: SessionDep, actor: Viewer) -> dict[str, Any]:
    shop = service.get_shop(session, shop_id)
    cases = service.shop_cases(session, shop_id)
    notices = (
        session.execute(select(ShopNotice).where(ShopNotice.shop_id == shop_id).order_by(ShopNotice.id)).scalars().all()
    )
    return {
        **_shop(shop, len(cases)),
        "case_ids": [c.id for c in cases],
        "case_numbers": [c.number for c in cases],
        "notices": [
            {"case_id": n.case_id, "recipient": n.recipient, "message": n.message, "at": n.at.isoformat()}
            for n in notices
        ],
    }


@pages.get("/")
def shops_page(request: Request, session: SessionDep, actor: Viewer) -> HTMLResponse:
    counts = service.case_counts(session)
    shops = session.execute(select(Shop).order_by(Shop.name)).scalars().all()
    return render(request, "storefronts/shops.html", actor, shops=shops, counts=counts)


@pages.get("/{shop_id}")
def shop_page(shop_id: IdPath, request: Request, session: SessionDep, actor: Viewer) -> HTMLResponse:
    return _shop_page(shop_id, request, session, actor)


def _shop_page(
    shop_id: int,
    request: Request,
    session: SessionDep,
    actor: Actor,
    *,
    form: dict[str, str] | None = None,
    errors: FormErrors | None = None,
) -> HTMLResponse:
    shop = service.get_shop(session, shop_id)
    cases = [citymgmt.case_read(session, c) for c in service.shop_cases(session, shop_id)]
    notices = (
        session.execute(select(ShopNotice).where(ShopNotice.shop_id == shop_id).order_by(ShopNotice.id.desc()))
        .scalars()
        .all()
    )
    classes = (
        session.execute(select(CaseClass).where(CaseClass.source == "storefronts", CaseClass.parent_code.is_not(None)))
        .scalars()
        .all()
    )
    return render(
        request,
        "storefronts/shop.html",
        actor,
        status_code=422 if errors else 200,
        shop=shop,
        cases=cases,
        notices=notices,
        classes=classes,
        done=request.query_params.get("done"),
        form=form or {},
        errors=errors or FormErrors(),
    )


REPORT_LABELS = {"class_code": "问题类别", "description": "描述"}


class ShopReportIn(Input):
    class_code: str = Field(min_length=1, max_length=8)
    description: str = Field("", max_length=1000)


@pages.post("/{shop_id}/report")
def report(
    shop_id: IdPath,
    request: Request,
    session: SessionDep,
    actor: Annotated[Actor, Depends(Require("storefronts.report"))],
    class_code: Annotated[str, Form(max_length=100)] = "",
    description: Annotated[str, Form(max_length=100_000)] = "",
) -> Response:
    try:
        data = ShopReportIn.model_validate({"class_code": class_code, "description": description})
        case = service.report_at_shop(
            session,
            actor=actor,
            options=intake_options(request),
            shop_id=shop_id,
            class_code=data.class_code,
            description=data.description,
        )
    except (ValidationError, Invalid) as exc:
        session.rollback()
        errors = form_errors(exc, REPORT_LABELS, title="未能上报")
        form = {"class_code": class_code, "description": description}
        return _shop_page(shop_id, request, session, actor, form=form, errors=errors)
    return RedirectResponse(f"/storefronts/{shop_id}?done={case.number}", status_code=303)
