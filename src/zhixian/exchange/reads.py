"""Requests, grants, calls and timelines as the API and pages show them: names, labels, lights, actions."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhixian.clock import utcnow
from zhixian.exchange import grants, policy, requests, timeline
from zhixian.exchange.models import Application, Call, Grant, ShareRequest
from zhixian.exchange.schemas import CallRead, EventRead, GrantRead, RequestRead
from zhixian.platform.actor import Actor
from zhixian.platform.models import Department, User


class Names:
    """Department and application names, loaded once per page or answer."""

    def __init__(self, session: Session) -> None:
        self.departments: dict[int, str] = dict(session.execute(select(Department.id, Department.name)).all())
        self.applications: dict[int, str] = dict(session.execute(select(Application.id, Application.name)).all())

    def dept(self, dept_id: int | None) -> str:
        return self.departments.get(dept_id or 0, "")

    def app(self, app_id: int | None) -> str:
        return self.applications.get(app_id or 0, "") if app_id else "本部门全部应用"


def people(session: Session, usernames: Iterable[str | None]) -> dict[str, str]:
    """Login name → full name, so pages say who did something by name."""
    wanted = {u for u in usernames if u}
    if not wanted:
        return {}
    return dict(session.execute(select(User.username, User.full_name).where(User.username.in_(wanted))).all())


def events(session: Session, **ids: int | None) -> list[EventRead]:
    out = []
    for e in timeline.events(session, **ids):
        item = EventRead.model_validate(e)
        item.label = timeline.label(e.action)
        out.append(item)
    return out


def request_read(
    session: Session, actor: Actor, req: ShareRequest, names: Names | None = None, *, with_timeline: bool = False
) -> RequestRead:
    names = names or Names(session)
    out = RequestRead.model_validate(req)
    out.number = f"GX{req.id:06d}"
    out.provider_department_name = names.dept(req.provider_department_id)
    out.consumer_department_name = names.dept(req.consumer_department_id)
    out.application_name = names.app(req.application_id)
    out.status_label = policy.STATUS_LABELS.get(req.status, req.status)
    out.stage = policy.STAGE_LABELS.get(policy.STAGE_OF.get(req.status, ""), "")
    if req.status in policy.OPEN_STATUSES:
        out.light = policy.light(utcnow(), req.remind_at, req.due_at)
    grant_id = session.execute(select(Grant.id).where(Grant.request_id == req.id)).scalar()
    out.grant_id = grant_id
    out.actions = requests.actions(session, actor, req)
    if with_timeline:
        out.timeline = events(session, request_id=req.id)
    return out


def grant_read(
    session: Session, actor: Actor, grant: Grant, names: Names | None = None, *, with_timeline: bool = False
) -> GrantRead:
    names = names or Names(session)
    out = GrantRead.model_validate(grant)
    out.provider_department_name = names.dept(grant.provider_department_id)
    out.consumer_department_name = names.dept(grant.consumer_department_id)
    out.application_name = names.app(grant.application_id)
    out.state = grants.state(grant)
    out.state_label = grants.state_label(out.state)
    out.actions = grants.actions(session, actor, grant)
    if with_timeline:
        out.timeline = events(session, request_id=grant.request_id, grant_id=grant.id)
    return out


def call_read(call: Call, names: Names, resources: dict[int, str]) -> CallRead:
    out = CallRead.model_validate(call)
    out.application_name = names.app(call.application_id) if call.application_id else ""
    out.consumer_department_name = names.dept(call.consumer_department_id)
    out.resource_name = resources.get(call.resource_id or 0, "")
    return out
