"""Pages of 网上办 on the portal: the matter catalogue (全程网办 first), applying, one's application with its
materials, 补正, timeline and deadline, uploads, and 好差评."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from zhixian.clock import utcnow
from zhixian.errors import DomainError, Invalid
from zhixian.platform import uploads
from zhixian.services import workflow
from zhixian.services.applications import service as applications
from zhixian.services.matters import service as matters
from zhixian.services.portal import apply, consents, mydata
from zhixian.services.portal.sessions import CitizenActor
from zhixian.services.portal.web import CitizenDep, MaybeCitizen, render
from zhixian.services.schemas import GRADES, SOURCES, RatingIn
from zhixian.web.auth import SettingsDep
from zhixian.web.deps import SessionDep
from zhixian.web.forms import FormErrors, form_errors
from zhixian.web.params import IdPath

router = APIRouter(include_in_schema=False)
PAGE = 30
RATE_LABELS = {"grade": "评价等级", "reasons": "评价理由", "comment": "意见"}
BAD_REASONS = ("多次跑腿", "等待时间过长", "材料要求不清楚", "服务态度差", "办理超时")
GOOD_REASONS = ("办事效率高", "服务态度好", "一次办成", "网上办方便")


def now() -> datetime:
    return utcnow()


@router.get("/portal/matters")
def matter_list(
    request: Request,
    citizen: MaybeCitizen,
    session: SessionDep,
    q: Annotated[str, Query(max_length=100)] = "",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> HTMLResponse:
    rows, total = apply.list_matters(session, q=q, offset=(page - 1) * PAGE, limit=PAGE)
    depts = matters.Departments(session)
    return render(
        request, "portal/matters.html", citizen, rows=rows, total=total, page=page, size=PAGE, q=q,
        base_query=f"q={q}" if q else "", dept_name=depts.name,
    )  # fmt: skip


def _matter_page(
    request: Request, citizen: CitizenActor | None, session: Session, matter_id: int, errors: FormErrors | None = None
) -> HTMLResponse:
    row = apply.get_matter(session, matter_id=matter_id)
    agreed = citizen is not None and consents.has(session, citizen_id=citizen.citizen_id, scope=consents.PREFILL)
    return render(
        request, "portal/matter.html", citizen, status_code=422 if errors else 200, matter=row,
        dept_name=matters.Departments(session).name, sources=SOURCES, agreed=agreed,
        errors=errors or FormErrors(),
    )  # fmt: skip


@router.get("/portal/matters/{matter_id}")
def matter_page(request: Request, citizen: MaybeCitizen, session: SessionDep, matter_id: IdPath) -> HTMLResponse:
    return _matter_page(request, citizen, session, matter_id)


@router.post("/portal/matters/{matter_id}/apply")
def matter_apply(
    request: Request,
    citizen: CitizenDep,
    session: SessionDep,
    settings: SettingsDep,
    matter_id: IdPath,
    consent: Annotated[str, Form(max_length=3)] = "",
) -> Response:
    try:
        row, _ = apply.apply(
            session, settings=settings, cipher=request.app.state.cipher, citizen=citizen, matter_id=matter_id,
            consent=consent == "on",
        )  # fmt: skip
    except DomainError as exc:
        if exc.status == 404:
            raise
        session.rollback()
        return _matter_page(request, citizen, session, matter_id, form_errors(exc, {"consent": "同意"}))
    return RedirectResponse(f"/portal/me/applications/{row.id}", status_code=303)


def _application_page(
    request: Request,
    citizen: CitizenActor,
    session: Session,
    application_id: int,
    *,
    errors: FormErrors | None = None,
    message: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    row, matter, events = mydata.my_application(session, citizen=citizen, application_id=application_id)

    return render(
        request,
        "portal/application.html",
        citizen,
        status_code=status_code,
        app=row,
        number=applications.number(row),
        matter=matter,
        events=events,
        status_labels=workflow.STATUS_LABELS,
        action_labels=workflow.ACTIONS,
        light=workflow.light(now(), row.status, row.remind_at, row.due_at),
        light_labels=workflow.LIGHT_LABELS,
        rating=apply.rating_of(session, application_id=row.id),
        grades=GRADES,
        reasons=BAD_REASONS + GOOD_REASONS,
        errors=errors or FormErrors(),
        message=message,
        agreed=consents.has(session, citizen_id=citizen.citizen_id, scope=consents.PREFILL),
    )


@router.get("/portal/me/applications/{application_id}")
def application_page(
    request: Request, citizen: CitizenDep, session: SessionDep, application_id: IdPath
) -> HTMLResponse:
    return _application_page(request, citizen, session, application_id)


def _refused(
    request: Request,
    citizen: CitizenActor,
    session: Session,
    application_id: int,
    exc: DomainError,
    labels: dict[str, str],
) -> HTMLResponse:
    if exc.status == 404:
        raise exc
    session.rollback()
    errors = form_errors(exc, labels, fallback="未完成，请按提示修改")
    return _application_page(request, citizen, session, application_id, errors=errors, status_code=exc.status)


@router.post("/portal/me/applications/{application_id}/prefill")
def application_prefill(
    request: Request, citizen: CitizenDep, session: SessionDep, settings: SettingsDep, application_id: IdPath
) -> HTMLResponse:
    try:
        got = apply.prefill(
            session, settings=settings, cipher=request.app.state.cipher, citizen=citizen, application_id=application_id
        )
    except DomainError as exc:
        return _refused(request, citizen, session, application_id, exc, {})
    message = f"已预填 {len(got.filled)} 项" + (f"，{len(got.refused)} 项未能预填" if got.refused else "")
    return _application_page(request, citizen, session, application_id, message=message)


@router.post("/portal/me/applications/{application_id}/materials/{material_id}")
def application_upload(
    request: Request,
    citizen: CitizenDep,
    session: SessionDep,
    settings: SettingsDep,
    application_id: IdPath,
    material_id: IdPath,
    file: Annotated[UploadFile | None, File()] = None,
) -> HTMLResponse:
    try:
        if file is None or not file.filename:
            raise Invalid("请选择材料文件", field="file")
        content = uploads.read_limited(file.file, uploads.SPREADSHEET_MAX_BYTES, field="file", label="材料文件")
        apply.upload(
            session, settings=settings, citizen=citizen, application_id=application_id, material_row_id=material_id,
            file_name=file.filename, content=content,
        )  # fmt: skip
    except DomainError as exc:
        return _refused(request, citizen, session, application_id, exc, {"file": "材料文件"})
    return _application_page(request, citizen, session, application_id, message="材料已上传")


@router.post("/portal/me/applications/{application_id}/submit")
def application_submit(
    request: Request,
    citizen: CitizenDep,
    session: SessionDep,
    application_id: IdPath,
    note: Annotated[str, Form(max_length=1000)] = "",
) -> HTMLResponse:
    try:
        row = apply.submit(session, citizen=citizen, application_id=application_id, note=note)
    except DomainError as exc:
        return _refused(request, citizen, session, application_id, exc, {"note": "说明", "materials": "材料"})
    said = "已提交，等待窗口受理" + (f"（{len(row.correction)} 项补正已答复）" if row.correction else "")
    return _application_page(request, citizen, session, application_id, message=said)


@router.post("/portal/me/applications/{application_id}/rate")
async def application_rate(
    request: Request,
    citizen: CitizenDep,
    session: SessionDep,
    settings: SettingsDep,
    application_id: IdPath,
) -> HTMLResponse:
    form = await request.form()
    try:
        data = RatingIn.model_validate(
            {
                "grade": form.get("grade") or 0,
                "reasons": [str(r) for r in form.getlist("reasons")][:10],
                "comment": str(form.get("comment") or ""),
            }
        )
        apply.rate(session, settings=settings, citizen=citizen, application_id=application_id, data=data)
    except (DomainError, ValueError) as exc:
        if isinstance(exc, DomainError) and exc.status == 404:
            raise
        session.rollback()
        errors = form_errors(exc, RATE_LABELS, fallback="评价未提交，请按提示修改")
        code = exc.status if isinstance(exc, DomainError) else 422
        return _application_page(request, citizen, session, application_id, errors=errors, status_code=code)
    return _application_page(request, citizen, session, application_id, message="感谢你的评价")
