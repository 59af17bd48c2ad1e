"""Declared settings of 一网通办 (env ``ZHIXIAN_SERVICES_<NAME>`` or ``[subsystems.services]``)."""

from __future__ import annotations

from zhixian.settings import Setting

RECTIFY_DAYS = Setting(
    "services",
    "rectify_days",
    int,
    10,
    "差评整改时限（工作日）：差评生成整改任务后须在此期限内整改并回访，逾期升级；各省多为 5–15 个工作日",
    ge=1,
    le=30,
)
REMIND_DAYS = Setting(
    "services",
    "remind_days",
    int,
    2,
    "办件临期提醒（工作日）：距承诺办结时限还剩此天数时亮黄灯",
    ge=0,
    le=10,
)
BAD_GRADE = Setting(
    "services", "bad_grade", int, 2, "差评的等级上限：等级不高于此值（不满意、非常不满意）为差评", ge=1, le=3
)

SETTINGS = [RECTIFY_DAYS, REMIND_DAYS, BAD_GRADE]
