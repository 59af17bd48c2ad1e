"""The county's standard device profiles with their rules, and the case classes 物联感知 contributes.

Thresholds follow common practice and are meant to be edited: road ponding depth in metres with the
flood-control colours, combustible gas in %LEL with the two-stage alarm of GB 50493 (low alarm at or
below 25 %LEL, high at or below 50 %LEL), PM2.5 at the AQI breakpoints of HJ 633 (115/150/250 μg/m³),
environmental noise against the 70 dB(A) daytime limit of GB 3096 class 4a.
"""

from __future__ import annotations

from typing import Any

from zhixian.subsystems import CaseCategory

CATEGORIES = [
    CaseCategory(
        code="S0801",
        major="S08",
        major_name="扩展事件·物联感知",
        name="燃气泄漏报警",
        filing_standard="可燃气体监测达到报警值",
        closing_standard="泄漏点处置完毕，浓度回落到报警值以下",
        limit_value=2,
        limit_unit="hours",
        urgent_value=1,
        urgent_unit="hours",
        department_code="yjj",
        source="perception",
    ),
    CaseCategory(
        code="S0802",
        major="S08",
        major_name="扩展事件·物联感知",
        name="有毒气体超标",
        filing_standard="有毒气体（硫化氢、一氧化碳等）监测超标",
        closing_standard="污染源查明处置，监测值恢复正常",
        limit_value=4,
        limit_unit="hours",
        urgent_value=1,
        urgent_unit="hours",
        department_code="sthj",
        source="perception",
    ),
    CaseCategory(
        code="B0801",
        major="B08",
        major_name="扩展部件·物联感知设备",
        kind="component",
        name="物联感知设备",
        filing_standard="感知设备离线、损坏或数据异常",
        closing_standard="设备恢复上报，数据正常",
        limit_value=2,
        limit_unit="days",
        urgent_value=8,
        urgent_unit="hours",
        department_code="sjb",
        source="perception",
    ),
]


def _rule(code: str, name: str, kind: str, key: str = "", **params: Any) -> dict[str, Any]:
    return {"code": code, "name": name, "kind": kind, "key": key, "params": params}


BATTERY = {"key": "battery", "name": "电量", "unit": "%", "min": 0, "max": 100}
BATTERY_RULE = _rule(
    "battery_low", "电量低", "threshold", "battery", op="<=", value=20, severity="warning", hysteresis=5
)

PROFILES: list[dict[str, Any]] = [
    {
        "code": "manhole",
        "name": "井盖监测",
        "description": "井盖倾斜、开启与电量；告警转为所关联部件（井盖）的案件",
        "telemetry": [
            {"key": "tilt", "name": "倾角", "unit": "°", "min": 0, "max": 90},
            {"key": "open", "name": "开盖", "unit": "", "min": 0, "max": 1},
            BATTERY,
        ],
        "offline_minutes": 60,
        "case_class_code": "",
        "maintenance_class_code": "B0801",
        "case_min_severity": "minor",
        "rules": [
            _rule(
                "cover_tilt",
                "井盖倾斜",
                "threshold",
                "tilt",
                op=">=",
                hysteresis=2,
                levels=[{"level": "黄", "value": 10}, {"level": "红", "value": 30}],
            ),
            _rule("cover_open", "井盖开启", "repeat", "open", op=">=", value=1, count=2, severity="critical"),
            BATTERY_RULE,
            _rule("offline", "设备离线", "offline", minutes=60, severity="minor"),
        ],
    },
    {
        "code": "water",
        "name": "积水水位监测",
        "description": "下穿通道、低洼路段积水深度（米）；蓝/黄/橙/红四级预警",
        "telemetry": [{"key": "level", "name": "积水深度", "unit": "m", "min": -0.5, "max": 10}, BATTERY],
        "offline_minutes": 30,
        "case_class_code": "S0403",
        "maintenance_class_code": "B0801",
        "case_min_severity": "major",
        "rules": [
            _rule(
                "water_high",
                "积水超警",
                "threshold",
                "level",
                op=">=",
                hysteresis=0.03,
                levels=[
                    {"level": "蓝", "value": 0.15},
                    {"level": "黄", "value": 0.25},
                    {"level": "橙", "value": 0.4},
                    {"level": "红", "value": 0.6},
                ],
            ),
            _rule(
                "water_rise",
                "水位快速上涨",
                "rate",
                "level",
                change=0.1,
                minutes=10,
                direction="rise",
                severity="minor",
            ),
            BATTERY_RULE,
            _rule("offline", "设备离线", "offline", minutes=30, severity="minor"),
        ],
    },
    {
        "code": "gas",
        "name": "可燃气体监测",
        "description": "燃气管网、窨井、餐饮场所的可燃气体浓度（%LEL）",
        "telemetry": [{"key": "lel", "name": "可燃气体浓度", "unit": "%LEL", "min": 0, "max": 100}],
        "offline_minutes": 30,
        "case_class_code": "S0801",
        "maintenance_class_code": "B0801",
        "case_min_severity": "major",
        "notify_minutes": 0,
        "case_minutes": 5,
        "rules": [
            _rule(
                "gas_lel",
                "可燃气体报警",
                "threshold",
                "lel",
                op=">=",
                hysteresis=2,
                levels=[{"level": "黄", "value": 10}, {"level": "橙", "value": 20}, {"level": "红", "value": 50}],
            ),
            _rule("gas_persist", "可燃气体持续偏高", "duration", "lel", op=">=", value=5, minutes=10, severity="minor"),
            _rule("offline", "设备离线", "offline", minutes=30, severity="major"),
        ],
    },
    {
        "code": "toxic",
        "name": "有毒气体监测",
        "description": "硫化氢（污水井、泵站）与一氧化碳浓度（ppm）",
        "telemetry": [
            {"key": "h2s", "name": "硫化氢", "unit": "ppm", "min": 0, "max": 100},
            {"key": "co", "name": "一氧化碳", "unit": "ppm", "min": 0, "max": 1000},
        ],
        "offline_minutes": 30,
        "case_class_code": "S0802",
        "maintenance_class_code": "B0801",
        "case_min_severity": "major",
        "rules": [
            _rule(
                "h2s_high",
                "硫化氢超标",
                "threshold",
                "h2s",
                op=">=",
                hysteresis=1,
                levels=[{"level": "黄", "value": 10}, {"level": "红", "value": 20}],
            ),
            _rule("co_high", "一氧化碳超标", "repeat", "co", op=">", value=50, count=3, severity="major"),
            _rule("offline", "设备离线", "offline", minutes=30, severity="minor"),
        ],
    },
    {
        "code": "smoke",
        "name": "烟感监测",
        "description": "老旧小区、九小场所的独立式烟感（报警即推送）",
        "telemetry": [
            {"key": "smoke", "name": "烟雾遮光率", "unit": "%/m", "min": 0, "max": 100},
            {"key": "alarm", "name": "报警", "unit": "", "min": 0, "max": 1},
            BATTERY,
        ],
        "offline_minutes": 120,
        "case_class_code": "S0404",
        "maintenance_class_code": "B0801",
        "case_min_severity": "critical",
        "notify_minutes": 0,
        "case_minutes": 3,
        "rules": [
            _rule("smoke_alarm", "烟感报警", "repeat", "alarm", op=">=", value=1, count=1, severity="critical"),
            BATTERY_RULE,
            _rule("offline", "设备离线", "offline", minutes=120, severity="warning"),
        ],
    },
    {
        "code": "noise",
        "name": "噪声监测",
        "description": "工地与交通干线旁的等效声级 LAeq（dB(A)）",
        "telemetry": [{"key": "laeq", "name": "等效声级", "unit": "dB(A)", "min": 20, "max": 140}],
        "offline_minutes": 30,
        "case_class_code": "S0301",
        "maintenance_class_code": "B0801",
        "case_min_severity": "minor",
        "case_minutes": 60,
        "rules": [
            _rule(
                "noise_over",
                "噪声超标",
                "duration",
                "laeq",
                op=">",
                value=70,
                minutes=30,
                hysteresis=2,
                severity="minor",
            ),
            _rule("offline", "设备离线", "offline", minutes=30, severity="warning"),
        ],
    },
    {
        "code": "pm25",
        "name": "扬尘（PM2.5）监测",
        "description": "工地与道路扬尘的 PM2.5、PM10（μg/m³）",
        "telemetry": [
            {"key": "pm25", "name": "PM2.5", "unit": "μg/m³", "min": 0, "max": 1000},
            {"key": "pm10", "name": "PM10", "unit": "μg/m³", "min": 0, "max": 2000},
        ],
        "offline_minutes": 30,
        "case_class_code": "S0303",
        "maintenance_class_code": "B0801",
        "case_min_severity": "major",
        "rules": [
            _rule(
                "pm25_high",
                "PM2.5 超标",
                "threshold",
                "pm25",
                op=">=",
                hysteresis=10,
                levels=[{"level": "黄", "value": 115}, {"level": "橙", "value": 150}, {"level": "红", "value": 250}],
            ),
            _rule(
                "pm25_persist", "PM2.5 持续偏高", "duration", "pm25", op=">", value=75, minutes=60, severity="warning"
            ),
            _rule("offline", "设备离线", "offline", minutes=30, severity="warning"),
        ],
    },
]
