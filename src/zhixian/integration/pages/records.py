"""Record pages (a departmental record, a person, a legal person: masked, with their history), the
quality overview, and the fill-in template of a resource."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from zhixian.catalog import service as catalog_service
from zhixian.errors import DomainError
from zhixian.exports import Sheet, xlsx_bytes
from zhixian.integration import basedata, records, service
from zhixian.integration.api import Cipher
from zhixian.integration.pages.forms import Viewer
from zhixian.platform.actor import Actor
from zhixian.web.deps import SessionDep
from zhixian.web.forms import FormErrors, refusal
from zhixian.web.params import IdPath
from zhixian.web.templating import render

router = APIRouter(include_in_schema=False)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _record(request: Request, session: SessionDep, actor: Actor, page: Any) -> HTMLResponse:
    ids = {page.first_run_id, page.last_run_id} | {c.run_id for c in page.history if c.run_id}
    runs_open = service.visible_run_ids(session, actor=actor, ids={i for i in ids if i})
    return render(request, "integration/record.html", actor, page=page, runs_open=runs_open)


@router.get("/integration/records/{record_id}")
def record_page(
    request: Request, record_id: IdPath, actor: Viewer, session: SessionDep, cipher: Cipher
) -> HTMLResponse:
    page = records.record_page(session, actor=actor, cipher=cipher, record_id=record_id)
    return _record(request, session, actor, page)


@router.get("/integration/persons/{person_id}")
def person_page(
    request: Request, person_id: IdPath, actor: Viewer, session: SessionDep, cipher: Cipher
) -> HTMLResponse:
    page = records.person_page(session, actor=actor, cipher=cipher, person_id=person_id)
    return _record(request, session, actor, page)


@router.get("/integration/legal-persons/{legal_id}")
def legal_page(request: Request, legal_id: IdPath, actor: Viewer, session: SessionDep, cipher: Cipher) -> HTMLResponse:
    page = records.legal_page(session, actor=actor, cipher=cipher, legal_id=legal_id)
    return _record(request, session, actor, page)


LOOKUP_LABELS = {"id_number": "公民身份号码", "uscc": "统一社会信用代码"}


@router.get("/integration/lookup")
def lookup(
    request: Request,
    actor: Viewer,
    session: SessionDep,
    cipher: Cipher,
    id_number: Annotated[str, Query(max_length=30)] = "",
    uscc: Annotated[str, Query(max_length=30)] = "",
) -> Response:
    """Find a person by ID number or a legal person by credit code (exact, as the API does), then its page."""
    errors = FormErrors()
    try:
        if id_number.strip():
            person = basedata.find_person(session, actor=actor, cipher=cipher, id_number=id_number)
            return RedirectResponse(f"/integration/persons/{person.id}", status_code=303)
        if uscc.strip():
            legal = basedata.find_legal(session, actor=actor, uscc=uscc)
            return RedirectResponse(f"/integration/legal-persons/{legal.id}", status_code=303)
    except DomainError as exc:
        field = "id_number" if id_number.strip() else "uscc"
        errors = refusal(exc.detail, field, LOOKUP_LABELS[field], title="未找到")
    return render(
        request,
        "integration/lookup.html",
        actor,
        errors=errors,
        labels=LOOKUP_LABELS,
        id_number="",
        uscc=uscc.strip(),
    )


@router.get("/integration/quality")
def quality(
    request: Request, actor: Viewer, session: SessionDep, overdue: Annotated[int, Query(ge=0, le=1)] = 0
) -> HTMLResponse:
    rows = basedata.latest_quality(session, actor=actor)
    if overdue:
        rows = [r for r in rows if r.overdue]
    return render(request, "integration/quality.html", actor, rows=rows, overdue=overdue)


@router.get("/integration/resources/{resource_id}/template.xlsx")
def template(resource_id: IdPath, actor: Viewer, session: SessionDep) -> Response:
    """An empty workbook whose header is the resource's item names: fill it in and upload it as a source."""
    resource = catalog_service.get_resource(session, actor=actor, resource_id=resource_id)
    hints = [
        f"{i.data_type}{'，必填' if i.required or i.field_name == resource.key_field else ''}"
        f"{'，' + i.rule if i.rule else ''}"
        for i in resource.items
    ]
    body = xlsx_bytes([Sheet("数据", [i.name for i in resource.items], [hints])])
    return Response(
        body,
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="template-{resource_id}.xlsx"'},
    )
