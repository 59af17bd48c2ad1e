"""The case state machine (GB/T 30428.8): seven steps plus the side paths, each attributed and audited.

An action is allowed only from listed statuses and with its permission; anything else is a 409
with the reason in Chinese. Deadlines are working time from the platform calendar. This module is
the engine (rules, permission, the event and audit of every transition, the overdue job); what each
action does to the case is in ``workflow_steps``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhixian.citymgmt import service
from zhixian.citymgmt.cases.steps import HANDLERS, Step, open_task, pending_postponement
from zhixian.citymgmt.config.standards import STATUS_LABELS
from zhixian.citymgmt.models import Case, Notice
from zhixian.citymgmt.schemas import ActionIn
from zhixian.clock import utcnow
from zhixian.errors import Conflict, NotFound, NotPermitted
from zhixian.platform import audit
from zhixian.platform import service as platform
from zhixian.platform.actor import Actor
from zhixian.settings import Settings


@dataclass(frozen=True)
class Rule:
    label: str
    permission: str
    from_statuses: tuple[str, ...]


RULES: dict[str, Rule] = {
    "verify": Rule("派发核实", "citymgmt.accept", ("reported",)),
    "verified": Rule("核实反馈", "citymgmt.report", ("verifying",)),
    "file": Rule("立案", "citymgmt.accept", ("reported", "verifying")),
    "reject": Rule("不予立案", "citymgmt.accept", ("reported", "verifying")),
    "merge": Rule("合并", "citymgmt.accept", ("reported", "verifying")),
    "dispatch": Rule("派遣", "citymgmt.dispatch", ("dispatching",)),
    "return": Rule("回退", "citymgmt.handle", ("handling",)),
    "complete": Rule("处置反馈", "citymgmt.handle", ("handling",)),
    "check": Rule("核查", "citymgmt.report", ("checking",)),
    "postpone": Rule("申请延期", "citymgmt.handle", ("handling",)),
    "decide_postpone": Rule("延期审批", "citymgmt.approve", ("handling",)),
    "hold": Rule("挂账缓办", "citymgmt.approve", ("dispatching", "handling")),
    "resume": Rule("恢复办理", "citymgmt.approve", ("on_hold",)),
    "supervise": Rule("督办", "citymgmt.supervise", ("dispatching", "handling", "checking")),
}
HANDLER_ACTIONS = ("return", "complete", "postpone")
TASK_ACTIONS = {"verified": "verify", "check": "check"}


def allowed_actions(session: Session, *, actor: Actor, case: Case) -> list[str]:
    """What this actor could do now; the pages show only these buttons."""
    out = []
    for name, rule in RULES.items():
        if case.status not in rule.from_statuses or not _permitted(session, actor, case, name, rule):
            continue
        if name == "decide_postpone" and pending_postponement(session, case) is None:
            continue
        out.append(name)
    return out


def _permitted(session: Session, actor: Actor, case: Case, name: str, rule: Rule) -> bool:
    if name in TASK_ACTIONS:
        if actor.can("citymgmt.accept"):
            return True  # the centre may record a result phoned in by the inspector
        task = open_task(session, case, TASK_ACTIONS[name])
        return actor.can(rule.permission) and task is not None and task.assignee_id in (None, actor.user_id)
    if not actor.can(rule.permission):
        return False
    if name in HANDLER_ACTIONS:
        return bool(case.department_path) and actor.sees_department(case.department_path or "")
    return True


def perform(
    session: Session,
    *,
    actor: Actor,
    settings: Settings,
    case_id: int,
    action: str,
    data: ActionIn,
    photos: Sequence[service.PhotoIn] = (),
    now: datetime | None = None,
) -> Case:
    rule = RULES.get(action)
    if rule is None:
        raise NotFound("不支持的操作")
    case = service.get_case(session, actor=actor, case_id=case_id)
    if action in HANDLER_ACTIONS and actor.can(rule.permission) and not actor.can("citymgmt.dispatch"):
        actor.check_department(case.department_path or "/nowhere/")
    if not _permitted(session, actor, case, action, rule):
        if action in HANDLER_ACTIONS and actor.can(rule.permission):
            raise NotPermitted("该案件不属于本部门，不能办理")
        if action in TASK_ACTIONS and actor.can(rule.permission):
            raise NotPermitted("该案件的任务未派给您")
        raise NotPermitted(f"没有“{rule.label}”的权限")
    if case.status not in rule.from_statuses:
        allowed = "、".join(STATUS_LABELS[s] for s in rule.from_statuses)
        raise Conflict(
            f"案件当前为“{STATUS_LABELS.get(case.status, case.status)}”，不能{rule.label}（仅限{allowed}状态）"
        )
    now = now or utcnow()
    before = case.status
    handler = HANDLERS[action]
    dept_before = case.department_id
    step_name, note, extra = handler(Step(session, actor, settings, case, data, photos, now))
    dept = case.department_id if action == "dispatch" else dept_before if action == "return" else None
    service.add_event(
        session,
        case,
        actor=actor,
        step=step_name,
        from_status=before,
        to_status=case.status,
        note=note,
        data=extra,
        at=now,
        department_id=dept,
    )
    audit.record(
        session,
        actor.audit,
        action=f"citymgmt.case_{action}",
        object_type="cm_case",
        object_id=case.number,
        detail={
            "from": before,
            "to": case.status,
            **{k: v for k, v in extra.items() if isinstance(v, str | int | float | bool)},
        },
    )
    session.flush()
    return case


def escalate_overdue(session: Session, *, now: datetime | None = None) -> int:
    """The job: every case past its deadline is escalated once (督办 by the system) and its department told."""
    now = now or utcnow()
    actor = platform.system_actor()
    count = 0
    rows = session.execute(
        select(Case).where(Case.status == "handling", Case.deadline < now, Case.escalated_at.is_(None)).limit(500)
    ).scalars()
    for case in rows:
        case.escalated_at = now
        case.supervise_count += 1
        service.add_event(
            session,
            case,
            actor=actor,
            step="超期升级",
            from_status=case.status,
            to_status=case.status,
            note="已超过处置时限，系统自动督办",
            at=now,
        )
        if case.department_id:
            dept = platform.get_department(session, case.department_id)
            session.add(
                Notice(
                    case_id=case.id,
                    channel="department",
                    recipient=dept.name,
                    message=f"案件 {case.number} 已超期，请立即处置",
                    at=now,
                )
            )
        audit.record(
            session,
            actor.audit,
            action="citymgmt.case_escalate",
            object_type="cm_case",
            object_id=case.number,
            detail={"deadline": case.deadline.isoformat() if case.deadline else ""},
        )
        count += 1
    session.flush()
    return count
