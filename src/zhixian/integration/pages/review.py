"""Review pages: the quarantine (rows that failed checks, rows repeating a key with other values) and
the conflicts between departments, each settled by the department that owns it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from zhixian.errors import DomainError
from zhixian.integration import basedata, pipeline, quarantine, records, service
from zhixian.integration.api import Cipher
from zhixian.integration.pages.forms import Runner, Viewer, message_of
from zhixian.integration.schemas import ChooseIn, ResubmitIn
from zhixian.platform.actor import Actor
from zhixian.platform.crypto import FieldCipher
from zhixian.web.auth import SettingsDep
from zhixian.web.deps import SessionDep
from zhixian.web.forms import FormErrors
from zhixian.web.params import IdPath, IdQuery
from zhixian.web.templating import render

router = APIRouter(include_in_schema=False)
PER_PAGE = 100


@router.get("/integration/quarantine")
def quarantine_list(
    request: Request,
    actor: Viewer,
    session: SessionDep,
    cipher: Cipher,
    source_id: IdQuery = None,
    run_id: IdQuery = None,
    status: Annotated[str, Query(pattern="^(open|resubmitted|resolved|discarded|all|)$")] = "open",
    kind: Annotated[str, Query(pattern="^(invalid|conflict|)$")] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    status = "" if status == "all" else status  # 全部: a value, since an empty one means "no filter" (open)
    total = quarantine.count_quarantine(
        session, actor=actor, source_id=source_id, status=status, run_id=run_id, kind=kind
    )
    rows = quarantine.list_quarantine(
        session,
        actor=actor,
        source_id=source_id,
        status=status,
        run_id=run_id,
        kind=kind,
        limit=PER_PAGE,
        offset=(page - 1) * PER_PAGE,
    )
    can_fix = actor.can("integration.run")
    return render(
        request,
        "integration/quarantine.html",
        actor,
        rows=rows,
        total=total,
        page=page,
        pages=max(1, -(-total // PER_PAGE)),
        status=status,
        kind=kind,
        source_id=source_id,
        run_id=run_id,
        statuses=quarantine.STATUSES,
        kinds=quarantine.KINDS,
        source_names=service.source_names(session, {r.source_id for r in rows}),
        summaries=quarantine.conflict_summaries(session, actor=actor, cipher=cipher, rows=rows) if can_fix else {},
    )


def _entry_page(
    request: Request,
    session: SessionDep,
    actor: Actor,
    cipher: FieldCipher,
    quarantine_id: int,
    *,
    status: int = 200,
    message: str = "",
    data: dict[str, object] | None = None,
    errors: list[dict[str, str]] | None = None,
) -> HTMLResponse:
    row = quarantine.get_quarantine(session, actor=actor, quarantine_id=quarantine_id)
    shown = data if data is not None else quarantine.quarantine_data(session, actor=actor, cipher=cipher, row=row)
    if row.kind == "conflict":
        refusal = FormErrors(message=message)
    else:
        title = message or ("该行未通过校验，请修改后重新提交" if row.status == "open" else "")
        refusal = _fix_errors(session, actor, row, errors if errors is not None else row.reasons, shown, title)
    context: dict[str, object] = {
        "q": row,
        "data": shown,
        "errors": refusal,
        "source_name": service.source_names(session, {row.source_id}).get(row.source_id, ""),
        "statuses": quarantine.STATUSES,
    }
    if row.kind == "conflict":
        resource = records.load_resource(session, row.resource_id)
        payload = quarantine.conflict_payload(cipher, row)
        labels = records.labels_for(resource)
        context["pairs"] = [
            (name, labels.get(name, name), pair[0] or "（空）", pair[1] or "（空）")
            for name, pair in payload.get("fields", {}).items()
        ]
        return render(request, "integration/choose.html", actor, status_code=status, **context)
    return render(request, "integration/fix.html", actor, status_code=status, **context)


def _fix_errors(
    session: SessionDep, actor: Actor, row: Any, reasons: list[dict[str, str]], data: dict[str, Any], title: str
) -> FormErrors:
    """Each reason beside the column it is about: the reason names a catalogue item, the form shows the
    file's columns, so the source's mapping (item → column) places it."""
    try:
        columns = dict(
            pipeline.current_mapping(session, service.get_source(session, actor=actor, source_id=row.source_id)).columns
        )
    except DomainError:
        columns = {}
    out = FormErrors(message=title)
    for reason in reasons or []:
        column = columns.get(reason.get("field", ""), reason.get("field", ""))
        if column in data:
            out.add(f"col_{column}", reason["message"], column)
        elif reason["message"] not in out.details:
            out.details.append(reason["message"])
    return out


@router.get("/integration/quarantine/{quarantine_id}")
def quarantine_row(
    request: Request, quarantine_id: IdPath, actor: Runner, session: SessionDep, cipher: Cipher
) -> HTMLResponse:
    return _entry_page(request, session, actor, cipher, quarantine_id)


@router.post("/integration/quarantine/{quarantine_id}")
async def fix(
    request: Request, quarantine_id: IdPath, actor: Runner, session: SessionDep, cipher: Cipher, settings: SettingsDep
) -> Response:
    form = await request.form()
    try:
        if form.get("do") == "discard":
            row = quarantine.discard(session, actor=actor, quarantine_id=quarantine_id)
            return RedirectResponse(f"/integration/quarantine?source_id={row.source_id}&discarded={row.id}", 303)
        if form.get("do") == "choose":
            choices = {k.removeprefix("pick_"): str(v) for k, v in form.items() if k.startswith("pick_")}
            row, _ = quarantine.choose(
                session,
                actor=actor,
                cipher=cipher,
                quarantine_id=quarantine_id,
                data=ChooseIn.model_validate({"choices": choices}),
            )
            return RedirectResponse(f"/integration/quarantine?source_id={row.source_id}&done={row.id}", 303)
        values = {k.removeprefix("col_"): str(v) for k, v in form.items() if k.startswith("col_")}
        row, done, errors = quarantine.resubmit(
            session,
            actor=actor,
            cipher=cipher,
            settings=settings,
            quarantine_id=quarantine_id,
            data=ResubmitIn(values=values),
        )
    except ValidationError:
        return _entry_page(
            request, session, actor, cipher, quarantine_id, status=422, message="请为每一项选择采用哪一行的值"
        )
    except DomainError as exc:
        if exc.status == 404:
            raise
        session.rollback()
        return _entry_page(request, session, actor, cipher, quarantine_id, status=exc.status, message=message_of(exc))
    if done is None:
        return _entry_page(
            request,
            session,
            actor,
            cipher,
            quarantine_id,
            status=422,
            message="仍未通过校验，请按提示修改",
            data=dict(values),
            errors=errors,
        )
    return RedirectResponse(f"/integration/quarantine?source_id={row.source_id}&done={row.id}", status_code=303)


@router.get("/integration/conflicts")
def conflicts(request: Request, actor: Viewer, session: SessionDep, cipher: Cipher) -> HTMLResponse:
    rows = basedata.conflict_views(session, actor=actor, cipher=cipher)
    same_key = quarantine.count_quarantine(session, actor=actor, status="open", kind="conflict")
    readable = basedata.readable_records(session, actor=actor, records=[(r.entity, r.entity_id) for r in rows])
    return render(request, "integration/conflicts.html", actor, rows=rows, same_key=same_key, readable=readable)


@router.post("/integration/conflicts/{conflict_id}")
def resolve(
    conflict_id: IdPath,
    actor: Runner,
    session: SessionDep,
    cipher: Cipher,
    action: Annotated[str, Form(pattern="^(keep|replace)$")],
) -> Response:
    basedata.resolve_conflict(session, actor=actor, cipher=cipher, conflict_id=conflict_id, action=action)
    return RedirectResponse("/integration/conflicts", status_code=303)
