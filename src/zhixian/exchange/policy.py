"""The sharing rules as data: share types and their paths, states, deadlines' lights, masking thresholds.

国发〔2016〕51号: 以共享为原则、不共享为例外. An unconditional resource is granted after the data authority's
compliance check; a conditional one is answered by its provider within a limit; a not-shared one only
through a dispute to the data authority. Limits are settings, counted in working days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from zhixian.exchange.settings import ANSWER_DAYS, CHECK_DAYS, DISPUTE_DAYS, MASK_SENSITIVITY
from zhixian.settings import Settings

ShareType = Literal["无条件共享", "有条件共享", "不予共享"]
Operation = Literal["lookup", "query", "verify"]
Light = Literal["green", "yellow", "red", "none"]

SHARE_RANK: dict[str, int] = {"无条件共享": 0, "有条件共享": 1, "不予共享": 2}
OPERATIONS: dict[str, str] = {"lookup": "按主键查询", "query": "条件查询", "verify": "核验"}
# what a call record may say besides the grantable operations (the change feed rides on 条件查询)
CALL_OPERATIONS: dict[str, str] = {
    **OPERATIONS,
    "list": "可用资源列表",
    "changes": "获取变更",
    "push": "推送变更",
    "export": "提交批量导出",
    "export_get": "查询导出任务",
    "export_file": "下载导出文件",
    "export_run": "批量导出（生成文件）",
}

STATUS_LABELS: dict[str, str] = {
    "check": "待合规审核",
    "review": "待提供方答复",
    "dispute": "争议协调中",
    "granted": "已授权",
    "refused": "未同意",
    "withdrawn": "已撤回",
}
OPEN_STATUSES = ("check", "review", "dispute")
# who must act in each open state
STAGE_OF: dict[str, str] = {"check": "authority", "review": "provider", "dispute": "authority"}
STAGE_LABELS: dict[str, str] = {"authority": "数据主管部门", "provider": "提供方", "catalogue": "目录共享属性"}

GRANT_LABELS: dict[str, str] = {"active": "有效", "suspended": "已暂停", "revoked": "已撤销", "expired": "已到期"}

# the steps of each kind of record's life (timeline.step refuses any other): audited as exchange.<subject>.<step>
REQUEST_EVENTS: dict[str, str] = {
    "submitted": "提交申请",
    "refused_by_catalogue": "按目录不予共享",
    "checked": "合规审核通过",
    "approved": "同意共享",
    "refused": "不同意共享",
    "reminded": "临期催办",
    "escalated": "逾期升级至数据主管部门",
    "overdue": "已逾期（数据主管部门督办）",
    "disputed": "提出争议",
    "resolved_grant": "协调后同意共享",
    "resolved_refuse": "协调后维持不予共享",
    "withdrawn": "撤回申请",
    "granted": "生成授权",
}
GRANT_EVENTS: dict[str, str] = {
    "suspended": "暂停授权",
    "resumed": "恢复授权",
    "renewed": "授权续期",
    "revoked": "撤销授权",
    "expired": "授权到期",
}
APPLICATION_EVENTS: dict[str, str] = {
    "app_created": "登记应用",
    "app_updated": "修改应用",
    "secret_rotated": "重置应用密钥",
}
SUBJECT_EVENTS: dict[str, dict[str, str]] = {
    "request": REQUEST_EVENTS,
    "grant": GRANT_EVENTS,
    "application": APPLICATION_EVENTS,
}
EVENT_LABELS: dict[str, str] = {**REQUEST_EVENTS, **GRANT_EVENTS, **APPLICATION_EVENTS}


def strictest(*types: str) -> str:
    """就高从严: a request is as strict as the strictest of the resource and the items it asks for."""
    return max(types, key=lambda t: SHARE_RANK.get(t, 2))


def first_status(share_type: str) -> str:
    """Where a new request starts: the authority's check, the provider's answer, or an immediate refusal."""
    return {"无条件共享": "check", "有条件共享": "review"}.get(share_type, "refused")


def stage_days(status: str, settings: Settings) -> float:
    return {
        "check": settings.declared(CHECK_DAYS),
        "review": settings.declared(ANSWER_DAYS),
        "dispute": settings.declared(DISPUTE_DAYS),
    }[status]


def light(now: datetime, remind_at: datetime | None, due_at: datetime | None) -> Light:
    """红黄绿灯: green in time, yellow once the reminder is due, red past the deadline."""
    if due_at is None:
        return "none"
    if now >= due_at:
        return "red"
    if remind_at is not None and now >= remind_at:
        return "yellow"
    return "green"


LIGHT_LABELS: dict[str, str] = {"green": "正常", "yellow": "临期", "red": "逾期", "none": ""}


@dataclass(frozen=True)
class ItemGrade:
    """What the masking decision needs to know about one catalogue item."""

    field: str
    grade: str
    sensitivity: int | None
    masking: str  # the catalogue's 脱敏方式 label, may be empty


def needs_authority_for_plain(item: ItemGrade, settings: Settings) -> bool:
    """Unmasked delivery of an important or highly sensitive item is the data authority's decision alone."""
    return item.grade in ("重要", "核心") or (item.sensitivity or 0) >= max(4, settings.declared(MASK_SENSITIVITY))


def masked_by_default(item: ItemGrade, settings: Settings) -> bool:
    """Items with a masking label, of grade 重要 or above, or at the sensitivity threshold go out masked."""
    return bool(item.masking) or item.grade != "一般" or (item.sensitivity or 0) >= settings.declared(MASK_SENSITIVITY)
