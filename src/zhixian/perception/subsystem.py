"""The perception subsystem's declaration, the target of its ``zhixian.subsystems`` entry point.

Two halves share it: 物联感知 (``sensors``) and 视频共享 (``cameras``). Each half lists its routers,
permissions, roles, menu entries, jobs and seed below; adding the other half is adding its lists.
Importing this module loads the routers; importing ``zhixian.perception.service`` does not.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter
from sqlalchemy.orm import Session

from zhixian.perception import service, tasks
from zhixian.perception.cameras import api as cameras_api
from zhixian.perception.cameras import demo as cameras_demo
from zhixian.perception.cameras import pages as cameras_pages
from zhixian.perception.cameras.roles import CAMERA_MENU, CAMERA_PERMISSIONS, CAMERA_ROLES, CAMERA_SOURCE
from zhixian.perception.cameras.settings import CAMERA_SETTINGS
from zhixian.perception.cli import app as cli
from zhixian.perception.labels import LABELS
from zhixian.perception.sensors import alarm_pages as sensors_alarm_pages
from zhixian.perception.sensors import api as sensors_api
from zhixian.perception.sensors import catalogue as sensors_catalogue
from zhixian.perception.sensors import demo as sensors_demo
from zhixian.perception.sensors import pages as sensors_pages
from zhixian.perception.sensors import profile_pages as sensors_profile_pages
from zhixian.perception.sensors.escalation import ESCALATE
from zhixian.perception.settings import SETTINGS
from zhixian.subsystems import IntakeSource, Job, MenuItem, Permission, RoleSpec, Subsystem

_HERE = Path(__file__).parent

# --- 物联感知 (sensors)
SENSOR_PERMISSIONS = [
    Permission("perception.view", "查看感知设备、读数与告警（本部门；有全县值守权限时全县）"),
    Permission("perception.monitor", "指挥中心值守：查看全县感知设备与告警"),
    Permission("perception.alarm.handle", "处理告警：确认、指派、清除、评论"),
    Permission(ESCALATE, "告警转城管案件（物联感知渠道）"),
    Permission("perception.device.manage", "登记与维护感知设备（含设备密钥）"),
    Permission("perception.profile.manage", "维护设备类型与告警规则"),
]
SENSOR_ROLES = [
    RoleSpec(
        "duty_officer",
        "值班员",
        ("perception.view", "perception.monitor", "perception.alarm.handle", ESCALATE),
        "指挥中心值班：盯守传感器告警与视频事件，确认、指派，必要时转为案件",
    ),
    RoleSpec(
        "shift_lead",
        "值班长",
        (
            "perception.view",
            "perception.monitor",
            "perception.alarm.handle",
            ESCALATE,
            "perception.device.manage",
            "perception.profile.manage",
        ),
    ),
    RoleSpec("acceptor", "受理员", ("perception.view", "perception.monitor")),
    RoleSpec("dispatcher", "派遣员", ("perception.view", "perception.monitor")),
    RoleSpec("leader", "县领导", ("perception.view", "perception.monitor")),
    RoleSpec("dept_data_officer", "部门数据管理员", ("perception.view", "perception.device.manage")),
    RoleSpec("handler", "处置人员", ("perception.view", "perception.alarm.handle")),
]
SENSOR_MENU = [
    MenuItem("感知地图", "/perception/map", "perception.view", "城市感知"),
    MenuItem("告警台", "/perception/alarms", "perception.view", "城市感知"),
    MenuItem("值班告警", "/perception/duty", "perception.alarm.handle", "城市感知"),
    MenuItem("感知设备", "/perception/devices", "perception.view", "城市感知"),
    MenuItem("设备类型与规则", "/perception/profiles", "perception.profile.manage", "城市感知"),
    MenuItem("接入统计", "/perception/ingest", "perception.device.manage", "城市感知"),
]
SENSOR_JOBS = [
    Job("perception.escalate", tasks.escalate, 60),
    Job("perception.retention", tasks.retention, 3600),
    Job("perception.ingest", tasks.ingest_watchdog, 30),
]

API_ROUTERS = [sensors_api.router, cameras_api.router]
PAGE_ROUTERS = [
    sensors_pages.router,
    sensors_alarm_pages.router,
    sensors_profile_pages.router,
    cameras_pages.router,
]
PERMISSIONS = [*SENSOR_PERMISSIONS, *CAMERA_PERMISSIONS]
ROLES = [*SENSOR_ROLES, *CAMERA_ROLES]
MENU = [*SENSOR_MENU, *CAMERA_MENU]
JOBS = [*SENSOR_JOBS]
SEEDS = [sensors_demo.seed, cameras_demo.seed]


def seed(session: Session, ctx: Any) -> None:
    for part in SEEDS:
        part(session, ctx)


api_router = APIRouter()
for _router in API_ROUTERS:
    api_router.include_router(_router)
page_router = APIRouter()
for _router in PAGE_ROUTERS:
    page_router.include_router(_router)

subsystem = Subsystem(
    code="perception",
    name="城市感知",
    kind="core",
    description="物联感知：设备类型、MQTT/HTTP 接入、告警规则、告警升级转案件；视频共享",
    standard="GB/T 28181（视频）；告警分级 蓝/黄/橙/红",
    api_router=api_router,
    page_router=page_router,
    templates=_HERE / "templates",
    static=_HERE / "static",
    migrations=_HERE / "migrations",
    cli=cli,
    permissions=PERMISSIONS,
    roles=ROLES,
    menu=MENU,
    jobs=JOBS,
    seed=seed,
    depends_on=("platform", "citymgmt"),
    home_cards=[service.home_cards],
    case_categories=[*sensors_catalogue.CATEGORIES],
    case_hooks=[service.on_case_created],
    intake_sources=[IntakeSource("sensor", "物联感知", ESCALATE), CAMERA_SOURCE],
    settings=[*SETTINGS, *CAMERA_SETTINGS],
    labels=[LABELS],
)
