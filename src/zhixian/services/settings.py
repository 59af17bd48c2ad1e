"""Declared settings of 一网通办 (env ``ZHIXIAN_SERVICES_<NAME>`` or ``[subsystems.services]``)."""

from __future__ import annotations

from typing import Any

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

SETTINGS: list[Setting[Any]] = [RECTIFY_DAYS, REMIND_DAYS, BAD_GRADE]

# --- 一网通享: the citizen portal's sign-in
SENDERS = ("file", "none")  # file: one JSON line per message in <data>/outbox/sms.log (masked phone + code)
SMS_SENDER = Setting(
    "services",
    "sms_sender",
    str,
    "file",
    "公众实名登录验证码的发送方式：file 写入数据目录 outbox/sms.log（对接短信平台前使用）；none 不发送",
    check=lambda v: None if v in SENDERS else f"可选值：{'、'.join(SENDERS)}",
)
CODES_PER_HOUR = Setting("services", "codes_per_hour", int, 5, "同一身份号码每小时最多获取的登录验证码数", ge=1, le=50)
CODES_PER_HOUR_IP = Setting(
    "services", "codes_per_hour_ip", int, 20, "同一来源地址每小时最多获取的登录验证码数", ge=1, le=1000
)
PORTAL_DEPARTMENT = Setting(
    "services",
    "portal_department",
    str,
    "sjb",
    "运营一网通享的部门代码：公众查询（公积金、车辆违章）以该部门获得的共享授权调用",
)

# citizens sign in on shared devices too (办事大厅 self-service terminals, a relative's phone): their sessions
# end sooner than staff sessions, and never later than the platform's own limits
CITIZEN_IDLE_MINUTES = Setting(
    "services",
    "citizen_idle_minutes",
    int,
    15,
    "公众登录会话的空闲超时（分钟）：公众常在自助终端、他人手机上登录，短于工作人员的会话",
    ge=1,
    le=30,
)
CITIZEN_SESSION_HOURS = Setting(
    "services", "citizen_session_hours", int, 2, "公众登录会话的最长时长（小时），到期须重新实名登录", ge=1, le=12
)

SETTINGS.extend(
    [SMS_SENDER, CODES_PER_HOUR, CODES_PER_HOUR_IP, PORTAL_DEPARTMENT, CITIZEN_IDLE_MINUTES, CITIZEN_SESSION_HOURS]
)
