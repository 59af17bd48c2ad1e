"""HTML pages of the storefronts extension under /storefronts: the shop table, a shop, a report at a shop."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from zhixian.citymgmt import service as citymgmt
from zhixian.errors import Invalid
from zhixian.extensions.storefronts import service
from zhixian.extensions.storefronts.schemas import ShopReportIn
from zhixian.platform.actor import Actor
from zhixian.web.auth import Require
from zhixian.web.deps import SessionDep
from zhixian.web.forms import FormErrors, form_errors
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
    return render(
        request,
        "storefronts/shop.html",
        actor,
        status_code=422 if errors else 200,
        shop=service.get_shop(session, shop_id),
        cases=service.linked_cases(session, shop_id),
        notices=service.notices(session, shop_id, newest_first=True),
        classes=service.report_classes(session),
        done=request.query_params.get("done"),
        form=form or {},
        errors=errors or FormErrors(),
    )


REPORT_LABELS = {"class_code": "问题类别", "description": "描述"}


@router.post("/{shop_id}/report")
def report(
    shop_id: IdPath,
    request: Request,
    session: SessionDep,
    actor: Annotated[Actor, Depends(Require("storefronts.report"))],
    class_code: Annotated[str, Form(max_length=100)] = "",
    description: Annotated[str, Form(max_length=100_000)] = "",
) -> Response:
    state = request.app.state
    try:
        data = ShopReportIn.model_validate({"class_code": class_code, "description": description})
        case = service.report_at_shop(
            session,
            actor=actor,
            options=citymgmt.intake_options(state.registry, settings=state.settings, cipher=state.cipher),
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
