"""What each workflow action does to a case: the seven steps' handlers and the side paths.

``workflow.perform`` has already checked permission and status when a handler runs; a handler
changes the case, may raise ``Invalid``/``Conflict`` for what the user sent, and returns the event's
step name, note and data. ``HANDLERS`` maps every action in ``workflow.RULES`` to its handler.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhixian.citymgmt import service
from zhixian.citymgmt.config import classes
from zhixian.citymgmt.config.standards import STATUS_LABELS
from zhixian.citymgmt.models import Case, CasePhoto, Notice, Postponement, Task
from zhixian.citymgmt.schemas import ActionIn
from zhixian.errors import Conflict, FieldError, Invalid, NotFound
from zhixian.platform import service as platform
from zhixian.platform.actor import Actor
from zhixian.settings import Settings

__all__ = ["HANDLERS", "Handled", "Step", "open_task", "pending_postponement"]

Handled = tuple[str, str, dict[str, object]]


def open_task(session: Session, case: Case, kind: str) -> Task | None:
    """The unfinished verify or check task of a case: the engine asks who may act, a step closes it."""
    return session.execute(
        select(Task).where(Task.case_id == case.id, Task.kind == kind, Task.done_at.is_(None)).order_by(Task.id.desc())
    ).scalar_one_or_none()


def pending_postponement(session: Session, case: Case) -> Postponement | None:
    """The one postponement request awaiting the shift lead, which return, postpone and complete respect."""
    return session.execute(
        select(Postponement).where(Postponement.case_id == case.id, Postponement.state == "pending")
    ).scalar_one_or_none()


def _deadline(
    session: Session, settings: Settings, start: datetime, *, hours: float, days: float
) -> tuple[datetime, tuple[str, ...]]:
    result = platform.add_working_time(session, settings=settings, start=start, hours=hours, days=days)
    return result.at, result.warnings


def _new_task(session: Session, settings: Settings, case: Case, kind: str, now: datetime) -> Task:
    limit = float(service.config(session)[f"{kind}_limit_hours"])
    deadline, _ = _deadline(session, settings, now, hours=limit, days=0)
    task = Task(
        case_id=case.id,
        kind=kind,
        assignee_id=service.grid_inspector(session, case.grid_code),
        created_at=now,
        deadline=deadline,
    )
    session.add(task)
    return task


def _close_task(task: Task | None, *, result: str, note: str, now: datetime) -> None:
    if task is not None:
        task.done_at, task.result, task.note = now, result, note[:1000]


def _notify_merged(session: Session, case: Case, message: str, now: datetime) -> None:
    """Reporters of cases merged into this one hear what happens to it."""
    for other in session.execute(select(Case).where(Case.merged_into_id == case.id)).scalars():
        if other.reporter_contact_enc or other.token:
            session.add(
                Notice(
                    case_id=other.id,
                    channel="sms" if other.reporter_contact_enc else "open311",
                    recipient=other.reporter_name or other.number,
                    message=message,
                    at=now,
                )
            )


@dataclass(frozen=True)
class Step:
    """Everything a step handler needs, in one argument."""

    session: Session
    actor: Actor
    settings: Settings
    case: Case
    data: ActionIn
    photos: Sequence[service.PhotoIn]
    now: datetime

    def store_photos(self, stage: str) -> None:
        for photo in self.photos:
            service.store_photo(
                self.session,
                settings=self.settings,
                case=self.case,
                photo=service.PhotoIn(photo.content, photo.filename, stage),
                actor=self.actor,
            )

    def tell_reporter(self, message: str) -> None:
        """Citizens and hotline callers hear back through the channel they came by."""
        case = self.case
        if case.token or case.reporter_contact_enc:
            self.session.add(
                Notice(
                    case_id=case.id,
                    channel="open311" if case.token else "sms",
                    recipient=case.reporter_name or case.number,
                    message=message[:500],
                    at=self.now,
                )
            )


def _need_note(data: ActionIn, what: str) -> str:
    if not data.note.strip():
        raise Invalid(f"请填写{what}", field="note")
    return data.note.strip()


def _verify(step: Step) -> Handled:
    session, case = step.session, step.case
    task = _new_task(session, step.settings, case, "verify", step.now)
    case.status = "verifying"
    return "派发核实", step.data.note, {"assignee_id": task.assignee_id or 0}


def _verified(step: Step) -> Handled:
    session, case = step.session, step.case
    if step.data.confirmed is None:
        raise Invalid("请说明核实结果（问题是否属实）", field="confirmed")
    _close_task(
        open_task(session, case, "verify"),
        result="confirmed" if step.data.confirmed else "false",
        note=step.data.note,
        now=step.now,
    )
    step.store_photos("verify")
    case.status = "reported"
    return (
        "核实反馈",
        step.data.note or ("属实" if step.data.confirmed else "不属实"),
        {"confirmed": step.data.confirmed},
    )


def _file(step: Step) -> Handled:
    session, case = step.session, step.case
    _close_task(open_task(session, case, "verify"), result="skipped", note="受理员直接立案", now=step.now)
    seconds, _ = platform.working_calendar(session, settings=step.settings).working_seconds_between(
        case.reported_at, step.now
    )
    case.filed_at = step.now
    case.filed_on_time = seconds <= float(service.config(session)["filing_limit_hours"]) * 3600
    case.status = "dispatching"
    return "立案", step.data.note, {"filed_on_time": bool(case.filed_on_time)}


def _reject(step: Step) -> Handled:
    session, case = step.session, step.case
    reason = _need_note(step.data, "不予立案的理由（对照立案标准）")
    _close_task(open_task(session, case, "verify"), result="skipped", note="不予立案", now=step.now)
    case.status, case.closed_at = "rejected", step.now
    step.tell_reporter(f"不予立案：{reason}")
    return "不予立案", reason, {}


def _merge(step: Step) -> Handled:
    session, case = step.session, step.case
    if not step.data.target_id:
        raise Invalid("请选择要并入的案件", field="target_id")
    target = session.get(Case, step.data.target_id)
    if target is None or target.id == case.id:
        raise Invalid("要并入的案件不存在", field="target_id")
    if target.status in ("closed", "rejected", "merged"):
        raise Conflict(f"目标案件 {target.number} 已{STATUS_LABELS[target.status]}，不能并入")
    if target.class_code != case.class_code:
        raise Conflict("只能合并同一类别的案件")
    _close_task(open_task(session, case, "verify"), result="skipped", note="已合并", now=step.now)
    case.status, case.merged_into_id, case.closed_at = "merged", target.id, step.now
    service.add_event(
        session,
        target,
        actor=step.actor,
        step="合并",
        from_status=target.status,
        to_status=target.status,
        note=f"并入重复案件 {case.number}",
        data={"merged_id": case.id},
        at=step.now,
    )
    if case.reporter_contact_enc or case.token:
        session.add(
            Notice(
                case_id=case.id,
                channel="sms" if case.reporter_contact_enc else "open311",
                recipient=case.reporter_name or case.number,
                message=f"您反映的问题已与案件 {target.number} 合并办理，进展将同步告知"[:500],
                at=step.now,
            )
        )
    return "合并", step.data.note or f"并入案件 {target.number}", {"target": target.number}


def _dispatch(step: Step) -> Handled:
    session, case = step.session, step.case
    suggested = service.suggest_department(session, case)
    dept_id = step.data.department_id or suggested
    if dept_id is None:
        raise Invalid("无法自动确定处置部门，请选择", field="department_id")
    try:
        dept = platform.get_department(session, dept_id)
    except NotFound as exc:
        raise Invalid("处置部门不存在", field="department_id") from exc
    cls = classes.get_class(session, case.class_code)
    hours, days = classes.class_limit(cls, urgent=case.urgent)
    ratio = float(service.config(session)["yellow_ratio"])
    case.deadline, warnings = _deadline(session, step.settings, step.now, hours=hours, days=days)
    case.warn_at, _ = _deadline(session, step.settings, step.now, hours=hours * (1 - ratio), days=days * (1 - ratio))
    case.department_id, case.department_path = dept.id, dept.path
    case.dispatched_at, case.status, case.escalated_at = step.now, "handling", None
    limit = f"{days:g} 个工作日" if days else f"{hours:g} 个工作小时"
    return (
        "派遣",
        step.data.note,
        {
            "department": dept.name,
            "suggested": dept_id == suggested,
            "limit": limit,
            "deadline": case.deadline.isoformat(),
            "warnings": "；".join(warnings),
        },
    )


def _return(step: Step) -> Handled:
    session, case = step.session, step.case
    reason = _need_note(step.data, "回退理由（如：非本部门职责）")
    if pending_postponement(session, case):
        raise Conflict("延期申请待审批，暂不能回退")
    dept = case.department_id
    case.status, case.return_count = "dispatching", case.return_count + 1
    case.department_id, case.department_path, case.deadline, case.warn_at = None, None, None, None
    return "回退", reason, {"from_department_id": dept or 0}


def _complete(step: Step) -> Handled:
    session, case = step.session, step.case
    step.store_photos("after")
    has_after = session.execute(
        select(CasePhoto.id).where(CasePhoto.case_id == case.id, CasePhoto.stage == "after")
    ).first()
    if not has_after:
        raise Invalid("处置反馈须上传处置后照片", [FieldError("请上传处置后照片", field="photo")])
    pending = pending_postponement(session, case)
    if pending is not None:
        pending.state, pending.decided_at, pending.decision_note = "withdrawn", step.now, "已处置完毕，自动撤回"
    assert case.dispatched_at is not None
    seconds, _ = platform.working_calendar(session, settings=step.settings).working_seconds_between(
        case.dispatched_at, step.now
    )
    case.completed_at, case.handle_seconds = step.now, seconds
    case.completed_on_time = case.deadline is not None and step.now <= case.deadline
    case.status = "checking"
    task = _new_task(session, step.settings, case, "check", step.now)
    return (
        "处置反馈",
        step.data.note,
        {"on_time": bool(case.completed_on_time), "check_assignee_id": task.assignee_id or 0},
    )


def _check(step: Step) -> Handled:
    session, case = step.session, step.case
    if step.data.passed is None:
        raise Invalid("请说明核查结果（通过或不通过）", field="passed")
    if not step.photos and not step.actor.can("citymgmt.accept"):
        # the inspector on site shows what they found; the centre may record a result phoned in without one
        raise Invalid("核查须上传现场核查照片", [FieldError("请拍摄或选择核查照片", field="photo")])
    _close_task(
        open_task(session, case, "check"),
        result="passed" if step.data.passed else "failed",
        note=step.data.note,
        now=step.now,
    )
    step.store_photos("check")
    if step.data.passed:
        case.status, case.closed_at = "closed", step.now
        _notify_merged(session, case, f"案件 {case.number} 已办结", step.now)
        step.tell_reporter(f"您反映的问题（{case.number}）已处理完毕")
        return "核查结案", step.data.note or "核查通过", {"passed": True}
    _need_note(step.data, "核查不通过的原因")
    case.status, case.rework_count = "handling", case.rework_count + 1
    case.completed_at, case.completed_on_time, case.handle_seconds = None, None, None
    return "返工", step.data.note, {"passed": False, "rework": case.rework_count}


def _postpone(step: Step) -> Handled:
    session, case = step.session, step.case
    reason = _need_note(step.data, "延期理由")
    if step.data.hours <= 0 and step.data.days <= 0:
        raise Invalid("请填写延期时长（工作小时或工作日）", field="days")
    if pending_postponement(session, case):
        raise Conflict("已有一份延期申请待审批")
    if case.postpone_count >= 1:
        raise Conflict("本案已延期一次，再次延期须由指挥中心挂账处理")
    session.add(
        Postponement(
            case_id=case.id,
            hours=step.data.hours,
            days=step.data.days,
            reason=reason,
            requested_by=step.actor.user_id,
            requested_at=step.now,
            old_deadline=case.deadline,
        )
    )
    return "申请延期", reason, {"hours": step.data.hours, "days": step.data.days}


def _decide_postpone(step: Step) -> Handled:
    session, case = step.session, step.case
    pending = pending_postponement(session, case)
    if pending is None:
        raise Conflict("没有待审批的延期申请")
    if step.data.approve is None:
        raise Invalid("请选择批准或不批准", field="approve")
    pending.decided_by, pending.decided_at, pending.decision_note = step.actor.user_id, step.now, step.data.note[:500]
    if not step.data.approve:
        pending.state = "refused"
        return "延期不批准", step.data.note, {"approved": False}
    assert case.deadline is not None
    pending.state = "approved"
    new_deadline, _ = _deadline(session, step.settings, case.deadline, hours=pending.hours, days=pending.days)
    if case.warn_at is not None:
        case.warn_at, _ = _deadline(session, step.settings, case.warn_at, hours=pending.hours, days=pending.days)
    pending.old_deadline, pending.new_deadline = case.deadline, new_deadline
    case.deadline, case.postpone_count, case.escalated_at = new_deadline, case.postpone_count + 1, None
    return "延期批准", step.data.note, {"approved": True, "deadline": new_deadline.isoformat()}


def _hold(step: Step) -> Handled:
    case = step.case
    reason = _need_note(step.data, "挂账/缓办理由（长期或季节性问题）")
    case.status, case.hold_count = "on_hold", case.hold_count + 1
    return "挂账缓办", reason, {}


def _resume(step: Step) -> Handled:
    case = step.case
    case.status = "dispatching"
    case.deadline, case.warn_at = None, None
    return "恢复办理", step.data.note, {}


def _supervise(step: Step) -> Handled:
    session, case = step.session, step.case
    note = _need_note(step.data, "督办意见")
    case.supervise_count += 1
    if case.department_id:
        dept = platform.get_department(session, case.department_id)
        session.add(
            Notice(
                case_id=case.id, channel="department", recipient=dept.name, message=f"督办：{note}"[:500], at=step.now
            )
        )
    return "督办", note, {}


HANDLERS: dict[str, Callable[[Step], Handled]] = {
    "verify": _verify,
    "verified": _verified,
    "file": _file,
    "reject": _reject,
    "merge": _merge,
    "dispatch": _dispatch,
    "return": _return,
    "complete": _complete,
    "check": _check,
    "postpone": _postpone,
    "decide_postpone": _decide_postpone,
    "hold": _hold,
    "resume": _resume,
    "supervise": _supervise,
}
