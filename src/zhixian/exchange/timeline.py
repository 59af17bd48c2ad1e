"""Every step of a request, grant or application: one timeline event and one audit record, together.

The timeline is what people read on the page; the audit record is the chained evidence. Both are
written in the caller's transaction, so a step that cannot be audited does not happen.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from zhixian.exchange.models import Application, Event, Grant, ShareRequest
from zhixian.exchange.policy import EVENT_LABELS, SUBJECT_EVENTS
from zhixian.platform import audit
from zhixian.platform.audit import AuditContext


def step(
    session: Session,
    ctx: AuditContext,
    *,
    action: str,
    request: ShareRequest | None = None,
    grant: Grant | None = None,
    application: Application | None = None,
    note: str = "",
    detail: dict[str, Any] | None = None,
) -> Event:
    subject, object_id = (
        ("request", request.id)
        if request is not None
        else ("grant", grant.id)
        if grant is not None
        else ("application", application.id if application is not None else "")
    )
    if action not in SUBJECT_EVENTS[subject]:  # every step has its name (labels.py names its audit action)
        raise ValueError(f"unknown {subject} step: {action}")
    event = Event(
        request_id=request.id if request is not None else (grant.request_id if grant is not None else None),
        grant_id=grant.id if grant is not None else None,
        application_id=application.id if application is not None else None,
        action=action,
        username=ctx.username,
        department_id=ctx.department_id,
        note=note[:1000],
        detail=detail or {},
    )
    session.add(event)
    audit.record(
        session,
        ctx,
        action=f"exchange.{subject}.{action}",
        object_type=f"exchange_{subject}",
        object_id=object_id,
        detail={"note": note[:500], **(detail or {})},
    )
    return event


def events(
    session: Session, *, request_id: int | None = None, grant_id: int | None = None, application_id: int | None = None
) -> list[Event]:
    """The timeline of a request (with its grant's steps), of a grant, or of an application."""
    conds = []
    if request_id is not None:
        conds.append(Event.request_id == request_id)
    if grant_id is not None:
        conds.append(Event.grant_id == grant_id)
    if application_id is not None:
        conds.append(Event.application_id == application_id)
    if not conds:
        return []
    return list(session.execute(select(Event).where(or_(*conds)).order_by(Event.at, Event.id)).scalars())


def label(action: str) -> str:
    return EVENT_LABELS.get(action, action)
