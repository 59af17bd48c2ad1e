"""Settings 数据共享 declares (read with ``Settings.declared``; listed on its Subsystem): answer limits in
working days of the platform calendar, and the gateway's bounds. Env ``ZHIXIAN_EXCHANGE_<NAME>`` or
``[subsystems.exchange]`` in zhixian.toml."""

from __future__ import annotations

from typing import Any

from zhixian.settings import Setting

CHECK_DAYS = Setting(
    "exchange", "check_days", float, 2.0, "无条件共享申请：数据主管部门合规审核时限（工作日）", ge=0.1, le=60
)
ANSWER_DAYS = Setting("exchange", "answer_days", float, 10.0, "有条件共享申请：提供方答复时限（工作日）", ge=0.1, le=60)
DISPUTE_DAYS = Setting(
    "exchange", "dispute_days", float, 10.0, "共享争议：数据主管部门协调时限（工作日）", ge=0.1, le=60
)
REMIND_DAYS = Setting(
    "exchange", "remind_days", float, 1.0, "到期前多少个工作日催办；逾期即升级至数据主管部门", ge=0, le=30
)
GRANT_MAX_DAYS = Setting("exchange", "grant_max_days", int, 1095, "一次授权的最长有效期（天）", ge=1, le=3650)
CLOCK_SKEW_SECONDS = Setting(
    "exchange", "clock_skew_seconds", int, 300, "网关签名时间戳允许的时钟偏差（秒）", ge=30, le=3600
)
PAGE_SIZE_MAX = Setting("exchange", "page_size_max", int, 500, "网关分页查询每页条数上限", ge=10, le=10_000)
RATE_PER_MINUTE = Setting("exchange", "rate_per_minute", int, 600, "新登记应用的默认每分钟调用上限", ge=1, le=100_000)
DAILY_QUOTA = Setting("exchange", "daily_quota", int, 100_000, "新登记应用的默认每日调用配额", ge=1, le=100_000_000)
MASK_SENSITIVITY = Setting("exchange", "mask_sensitivity", int, 3, "敏感级别达到该值的信息项默认脱敏提供", ge=1, le=9)
EXPORT_HOURS = Setting(
    "exchange", "export_hours", int, 24, "批量导出文件的保留时间（小时），到期后不能下载并被删除", ge=1, le=720
)
EXPORT_MAX_ROWS = Setting(
    "exchange", "export_max_rows", int, 5_000_000, "一次批量导出的最大记录数（超过即失败并说明）", ge=1, le=100_000_000
)

SETTINGS: list[Setting[Any]] = [
    CHECK_DAYS,
    ANSWER_DAYS,
    DISPUTE_DAYS,
    REMIND_DAYS,
    GRANT_MAX_DAYS,
    CLOCK_SKEW_SECONDS,
    PAGE_SIZE_MAX,
    RATE_PER_MINUTE,
    DAILY_QUOTA,
    MASK_SENSITIVITY,
    EXPORT_HOURS,
    EXPORT_MAX_ROWS,
]
