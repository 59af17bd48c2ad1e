"""HTML pages of the storefronts extension under /storefronts: the shop table, a shop, a report at a shop."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from zhixian.citymgmt import service as citymgmt
from zhixian.extensions.storefronts import service
from zhixian.platform.actor import Actor
from zhixian.web.auth import Require
from zhixian.web.deps import SessionDep
from zhixian.web.params import IdPath
from zhixian.web.templating import render

router = APIRouter(prefix="/storefronts", include_in_schema=False)
Viewer = Annotated[Actor, Depends(Require("storefronts.view"))]


@router.get("/")
def shops_page(
    request: Request,
    session: SessionDep,
    actor: Viewer,
    q: Annotated[str, Query(max_length=100)] = "",
    page: Annotated[int, Query(ge=1, le=10000)] = 1,
) -> HTMLResponse:
    found = service.search_shops(session, q=q, page=page)
    return render(request, "storefronts/shops.html", actor, found=found)


@router.get("/{shop_id}")
def shop_page(shop_id: IdPath, request: Request, session: SessionDep, actor: Viewer) -> HTMLResponse:
    return render(
        request,
        "storefronts/shop.html",
        actor,
        shop=service.get_shop(session, shop_id),
        cases=service.linked_cases(session, shop_id),
        notices=service.notices(session, shop_id, newest_first=True),
        classes=service.report_classes(session),
        done=request.query_params.get("done"),
    )


@router.post("/{shop_id}/report")
def report(
    shop_id: IdPath,
    request: Request,
    session: SessionDep,
    actor: Annotated[Actor, Depends(Require("storefronts.report"))],
    class_code: Annotated[str, Form()],
    description: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    state = request.app.state
    case = service.report_at_shop(
        session,
        actor=actor,
        options=citymgmt.intake_options(state.registry, settings=state.settings, cipher=state.cipher),
        shop_id=shop_id,
        class_code=class_code,
        description=description,
    )
    return RedirectResponse(f"/storefronts/{shop_id}?done={case.number}", status_code=303)
