"""Settings 城市感知 declares (read with ``Settings.declared``; env ``ZHIXIAN_PERCEPTION_<NAME>``)."""

from __future__ import annotations

from typing import Any

from zhixian.settings import Setting

P = "perception"

MQTT_HOST = Setting(P, "mqtt_host", str, "127.0.0.1", "MQTT 代理（Mosquitto）地址")
MQTT_PORT = Setting(P, "mqtt_port", int, 1883, "MQTT 代理端口", ge=1, le=65535)
MQTT_USERNAME = Setting(P, "mqtt_username", str, "", "平台连接 MQTT 代理的用户名（代理开启认证时）")
MQTT_PASSWORD = Setting(P, "mqtt_password", str, "", "平台连接 MQTT 代理的密码")
MQTT_TOPIC_ROOT = Setting(
    P, "mqtt_topic_root", str, "zhixian/sensors", "设备上报主题的前缀：<前缀>/<设备编码>/telemetry"
)
MQTT_SHARE_GROUP = Setting(
    P, "mqtt_share_group", str, "zhixian-ingest", "接入进程共享订阅的分组名（$share/<分组>/…），多个进程分担消息"
)
MQTT_QOS = Setting(P, "mqtt_qos", int, 1, "接入进程订阅的 QoS（1：至少一次，处理入库后才确认）", ge=0, le=1)
INGEST_IN_PROCESS = Setting(
    P,
    "ingest_in_process",
    bool,
    default=True,
    description="单机部署时由 Web 进程内的线程接入 MQTT；另起 zhixian perception ingest 时设为 false",
)
BATCH_SIZE = Setting(P, "batch_size", int, 500, "每批写入的最多消息数", ge=1, le=20_000)
BATCH_MS = Setting(P, "batch_ms", int, 200, "凑批最长等待（毫秒）", ge=1, le=10_000)
MAX_PAYLOAD_BYTES = Setting(P, "max_payload_bytes", int, 65_536, "单条上报消息的大小上限（字节）", ge=256, le=1_048_576)
CLOCK_SKEW_MINUTES = Setting(
    P, "clock_skew_minutes", int, 10, "读数时间比平台时间超前多少分钟即视为设备时钟错误而拒收", ge=1, le=1440
)
MAX_AGE_HOURS = Setting(
    P, "max_age_hours", int, 72, "读数时间早于多少小时即拒收（设备补传的缓存数据在此范围内接受）", ge=1, le=8760
)
RETENTION_DAYS = Setting(P, "retention_days", int, 90, "原始读数保留天数（之后只保留汇总）", ge=1, le=3650)
ROLLUP_5M_DAYS = Setting(P, "rollup_5m_days", int, 400, "5 分钟汇总保留天数", ge=1, le=3650)
ROLLUP_1H_DAYS = Setting(P, "rollup_1h_days", int, 1830, "小时汇总保留天数", ge=1, le=36500)
NOTIFY_MINUTES = Setting(
    P, "notify_minutes", int, 5, "告警多少分钟未确认即通知值班员（设备类型可另设）", ge=0, le=10_080
)
CASE_MINUTES = Setting(
    P, "case_minutes", int, 15, "告警多少分钟未确认即自动转为城管案件（设备类型可另设）", ge=1, le=10_080
)
REMIND_MINUTES = Setting(P, "remind_minutes", int, 10, "未确认告警每隔多少分钟再次提醒值班员", ge=1, le=1440)
DEMO_HISTORY_HOURS = Setting(
    P, "demo_history_hours", int, 72, "演示县生成的传感器历史时长（小时，0 表示不生成）", ge=0, le=24 * 60
)
DEMO_STEP_MINUTES = Setting(P, "demo_step_minutes", int, 10, "演示历史的读数间隔（分钟）", ge=1, le=60)

SETTINGS: list[Setting[Any]] = [
    MQTT_HOST,
    MQTT_PORT,
    MQTT_USERNAME,
    MQTT_PASSWORD,
    MQTT_TOPIC_ROOT,
    MQTT_SHARE_GROUP,
    MQTT_QOS,
    INGEST_IN_PROCESS,
    BATCH_SIZE,
    BATCH_MS,
    MAX_PAYLOAD_BYTES,
    CLOCK_SKEW_MINUTES,
    MAX_AGE_HOURS,
    RETENTION_DAYS,
    ROLLUP_5M_DAYS,
    ROLLUP_1H_DAYS,
    NOTIFY_MINUTES,
    CASE_MINUTES,
    REMIND_MINUTES,
    DEMO_HISTORY_HOURS,
    DEMO_STEP_MINUTES,
]
