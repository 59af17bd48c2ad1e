"""Run pages: what happened in a run (its counts), what of it is still open, and what it changed."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from zhixian.integration import basedata, quarantine, records, service, worker
from zhixian.integration.api import Cipher, start_in_background
from zhixian.integration.pages.forms import KINDS, Runner, Viewer
from zhixian.platform.actor import Actor
from zhixian.web.deps import SessionDep
from zhixian.web.params import IdPath
from zhixian.web.templating import render

router = APIRouter(include_in_schema=False)


@router.post("/integration/runs/{run_id}/resume")
def resume(request: Request, run_id: IdPath, actor: Runner, session: SessionDep) -> Response:
    run = service.queue_resume(session, actor=actor, run_id=run_id)
    start_in_background(request, session, run.id)
    return RedirectResponse(f"/integration/runs/{run.id}", status_code=303)


def _report_context(session: Session, actor: Actor, run_id: int) -> dict[str, Any]:
    row = service.get_run(session, actor=actor, run_id=run_id)
    return {
        "r": row,
        "view": service.run_read(session, row),
        "open": quarantine.still_open(session, row.id),
        "changed": records.changed_in_run(session, row.id),
        "active": row.status in ("queued", "running"),
        "stalled": row.status == "running" and not worker.in_flight(row.id),
        "source": service.get_source(session, actor=actor, source_id=row.source_id),
    }


@router.get("/integration/runs/{run_id}")
def run_page(request: Request, run_id: IdPath, actor: Viewer, session: SessionDep) -> HTMLResponse:
    context = _report_context(session, actor, run_id)
    target = service.source_read(session, context["source"]).resource_name
    return render(request, "integration/run.html", actor, kinds=KINDS, target=target, **context)


@router.get("/integration/runs/{run_id}/report")
def run_report(request: Request, run_id: IdPath, actor: Viewer, session: SessionDep) -> HTMLResponse:
    """The report fragment the run page polls (htmx, every 2 s) while the run is queued or running."""
    return render(request, "integration/_run_report.html", actor, **_report_context(session, actor, run_id))


@router.get("/integration/runs/{run_id}/changes")
def run_changes(request: Request, run_id: IdPath, actor: Viewer, session: SessionDep, cipher: Cipher) -> HTMLResponse:
    """The records this run updated, each with its old → new values, masked as the record is."""
    row = service.get_run(session, actor=actor, run_id=run_id)
    changes = records.run_changes(session, actor=actor, cipher=cipher, run=row)
    readable = basedata.readable_records(session, actor=actor, records=[(c.entity, c.entity_id) for c in changes])
    for c in changes:
        if (c.entity, c.entity_id) not in readable:
            c.href = ""  # a base record outside the viewer's scope: named, not linked
    return render(
        request,
        "integration/run_changes.html",
        actor,
        r=row,
        source=service.get_source(session, actor=actor, source_id=row.source_id),
        changes=changes,
    )
