"""The application's states and steps: 收件 → (补正) → 受理 → 审查 → 决定 → 办结, or 不予受理.

Which step is whose: the window (``services.window``, the department that took it in) handles the intake
steps; the handling department's approver (``services.approve``) reviews, decides and finishes.
"""

from __future__ import annotations

from datetime import datetime

STATUS_LABELS: dict[str, str] = {
    "received": "待受理",
    "correction": "待补正",
    "accepted": "审查中",
    "reviewed": "待决定",
    "decided": "待办结",
    "done": "已办结",
    "rejected": "不予受理",
}
OPEN = ("accepted", "reviewed", "decided")  # the promised limit runs
INTAKE = ("received", "correction")

ACTIONS: dict[str, str] = {
    "create": "收件",
    "submit": "网上提交",
    "answer": "补正后重新提交",
    "consent": "申请人同意使用共享数据",
    "prefill": "共享数据预填",
    "cite": "引用电子证照",
    "upload": "收取材料",
    "correction": "一次性告知补正",
    "accept": "受理",
    "reject": "不予受理",
    "review": "审查",
    "decide": "决定",
    "finish": "办结",
}

# steps the applicant is told about (a notice on the portal): action → title, "{matter}" filled in
NOTICES: dict[str, str] = {
    "create": "您申请的“{matter}”已收件",
    "correction": "您申请的“{matter}”需要补正材料",
    "accept": "您申请的“{matter}”已受理",
    "reject": "您申请的“{matter}”不予受理",
    "decide": "您申请的“{matter}”已作出决定",
    "finish": "您申请的“{matter}”已办结",
}

# step → (statuses it starts from, the status it leaves, who: window or approver)
STEPS: dict[str, tuple[tuple[str, ...], str, str]] = {
    "prefill": (INTAKE, "", "window"),
    "cite": (INTAKE, "", "window"),
    "upload": (INTAKE, "", "window"),
    "correction": (INTAKE, "correction", "window"),
    "accept": (INTAKE, "accepted", "window"),
    "reject": (INTAKE, "rejected", "window"),
    "review": (("accepted",), "reviewed", "approver"),
    "decide": (("reviewed",), "decided", "approver"),
    "finish": (("decided",), "done", "approver"),
}

LIGHT_LABELS = {"green": "正常", "yellow": "临期", "red": "逾期", "": ""}


def light(now: datetime, status: str, remind_at: datetime | None, due_at: datetime | None) -> str:
    """红黄绿灯 while the promised limit runs; a finished application keeps red if it finished late."""
    if due_at is None:
        return ""
    if status in OPEN:
        if now >= due_at:
            return "red"
        return "yellow" if remind_at is not None and now >= remind_at else "green"
    return ""
