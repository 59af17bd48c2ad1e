"""HTML pages of 数据异议: the lists with deadlines and lights for both sides, the objection form (from the
call that returned the record), and a correction with its timeline and the answer forms."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from zhixian.errors import DomainError, FieldError
from zhixian.exchange import corrections, corrections_reads, policy
from zhixian.exchange.corrections_schemas import AcceptIn, CorrectionIn, RejectIn
from zhixian.platform.actor import Actor
from zhixian.web.auth import Require, SettingsDep
from zhixian.web.deps import SessionDep
from zhixian.web.forms import FormErrors, form_errors
from zhixian.web.params import IdPath
from zhixian.web.templating import render

router = APIRouter(include_in_schema=False)

Viewer = Annotated[Actor, Depends(Require("exchange.view"))]
Requester = Annotated[Actor, Depends(Require("exchange.request"))]
Approver = Annotated[Actor, Depends(Require("exchange.approve"))]
PAGE = 30
LABELS = {
    "call_id": "调用编号",
    "key": "记录主键值",
    "values": "认为正确的值",
    "evidence": "依据或证明材料",
    "note": "说明",
    "reason": "不予更正的理由",
}


def _common(**extra: Any) -> dict[str, Any]:
    return {
        "status_labels": corrections.STATUS_LABELS,
        "light_labels": policy.LIGHT_LABELS,
        **extra,
    }


def _place(error: FieldError) -> str | None:
    """An item's value (``values.address``) is drawn as the form field ``value_address``."""
    name = error.field or ""
    return f"value_{name.split('.', 1)[1]}" if name.startswith("values.") else None


def _values(form: dict[str, str]) -> dict[str, str]:
    return {k.removeprefix("value_"): v for k, v in form.items() if k.startswith("value_") and v.strip()}


async def _form(request: Request) -> dict[str, str]:
    return {k: str(v) for k, v in (await request.form()).items() if k != "csrf_token"}


@router.get("/exchange/corrections")
def correction_list(
    request: Request,
    actor: Viewer,
    session: SessionDep,
    box: Annotated[str, Query(pattern="^(all|mine|provided|todo)$")] = "all",
    status: Annotated[str, Query(pattern="^(|open|accepted|rejected)$")] = "",
    light: Annotated[str, Query(pattern="^(|green|yellow|red)$")] = "",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> HTMLResponse:
    rows, total = corrections.list_corrections(
        session, actor=actor, box=box, status=status, light=light, offset=(page - 1) * PAGE, limit=PAGE
    )
    items = [corrections_reads.read(session, actor, r) for r in rows]
    return render(
        request,
        "exchange/corrections.html",
        actor,
        **_common(
            rows=items,
            total=total,
            page=page,
            size=PAGE,
            box=box,
            status=status,
            light=light,
            base_query=f"box={box}&status={status}&light={light}",
        ),
    )


def _new_page(
    request: Request,
    actor: Actor,
    session: SessionDep,
    form: dict[str, str],
    errors: FormErrors | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    items: list[tuple[str, str]] = []
    call = None
    call_id = form.get("call_id", "")
    if call_id.isdigit() and not (errors and "call_id" in errors):
        try:
            call, items = corrections.call_items(session, actor=actor, call_id=int(call_id))
        except DomainError as exc:
            errors = form_errors(exc, LABELS, title="请核对调用编号")
    labels = {**LABELS, **{f"value_{f}": name for f, name in items}}
    if errors:
        errors.labels.update({k: v for k, v in labels.items() if k in errors.fields})
    return render(
        request,
        "exchange/correction_new.html",
        actor,
        status_code=status_code,
        **_common(call=call, items=items, form=form, errors=errors),
    )


@router.get("/exchange/corrections/new")
def correction_form(
    request: Request,
    actor: Requester,
    session: SessionDep,
    call_id: Annotated[str, Query(max_length=20)] = "",
) -> HTMLResponse:
    form = {"call_id": call_id.strip()}
    errors = None
    if form["call_id"] and not form["call_id"].isdigit():
        errors = FormErrors(message="请核对调用编号")
        errors.add("call_id", "调用编号应为数字（网关响应中的 call_id）", LABELS["call_id"])
    return _new_page(request, actor, session, form, errors)


@router.post("/exchange/corrections/new")
async def correction_submit(request: Request, actor: Requester, session: SessionDep, settings: SettingsDep) -> Response:
    form = await _form(request)
    try:
        data = CorrectionIn.model_validate(
            {
                "call_id": form.get("call_id") or None,
                "key": form.get("key", ""),
                "values": _values(form),
                "evidence": form.get("evidence", ""),
            }
        )
        corr = corrections.submit(session, actor=actor, settings=settings, cipher=request.app.state.cipher, data=data)
    except (ValidationError, DomainError) as exc:
        session.rollback()
        errors = form_errors(exc, LABELS, title="异议未提交", place=_place)
        status = exc.status if isinstance(exc, DomainError) else 422
        return _new_page(request, actor, session, form, errors, status_code=status)
    return RedirectResponse(f"/exchange/corrections/{corr.id}", status_code=303)


def _detail(
    request: Request,
    actor: Actor,
    session: SessionDep,
    settings: SettingsDep,
    correction_id: int,
    form: dict[str, str] | None = None,
    errors: FormErrors | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    corr = corrections.get_correction(session, actor=actor, correction_id=correction_id)
    view = corrections_reads.read(session, actor, corr, settings=settings, cipher=request.app.state.cipher)
    return render(
        request,
        "exchange/correction.html",
        actor,
        status_code=status_code,
        **_common(c=view, form=form or {}, errors=errors),
    )


@router.get("/exchange/corrections/{correction_id}")
def correction_page(
    request: Request, actor: Viewer, session: SessionDep, settings: SettingsDep, correction_id: IdPath
) -> HTMLResponse:
    return _detail(request, actor, session, settings, correction_id)


@router.post("/exchange/corrections/{correction_id}/accept")
async def correction_accept(
    request: Request, actor: Approver, session: SessionDep, settings: SettingsDep, correction_id: IdPath
) -> Response:
    form = await _form(request)
    try:
        data = AcceptIn.model_validate({"note": form.get("note", ""), "values": _values(form)})
        corrections.accept(
            session,
            actor=actor,
            settings=settings,
            cipher=request.app.state.cipher,
            correction_id=correction_id,
            data=data,
        )
    except (ValidationError, DomainError) as exc:
        if isinstance(exc, DomainError) and exc.status == 404:
            raise
        session.rollback()
        errors = form_errors(exc, LABELS, title="未采纳", place=_place)
        status = exc.status if isinstance(exc, DomainError) else 422
        return _detail(request, actor, session, settings, correction_id, form, errors, status)
    return RedirectResponse(f"/exchange/corrections/{correction_id}", status_code=303)


@router.post("/exchange/corrections/{correction_id}/reject")
async def correction_reject(
    request: Request, actor: Approver, session: SessionDep, settings: SettingsDep, correction_id: IdPath
) -> Response:
    form = await _form(request)
    try:
        data = RejectIn.model_validate({"reason": form.get("reason", "")})
        corrections.reject(session, actor=actor, settings=settings, correction_id=correction_id, data=data)
    except (ValidationError, DomainError) as exc:
        if isinstance(exc, DomainError) and exc.status == 404:
            raise
        session.rollback()
        errors = form_errors(exc, LABELS, title="未答复")
        status = exc.status if isinstance(exc, DomainError) else 422
        return _detail(request, actor, session, settings, correction_id, form, errors, status)
    return RedirectResponse(f"/exchange/corrections/{correction_id}", status_code=303)
