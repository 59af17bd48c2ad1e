"""The 一网通办 subsystem as the core mounts it (entry point ``services`` in group zhixian.subsystems)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter

from zhixian.services import api, cards, pages, tasks
from zhixian.services.demo import seed
from zhixian.services.labels import LABELS
from zhixian.services.portal import models as portal_models  # noqa: F401 - the citizen realm's tables join the metadata
from zhixian.services.portal import pages as portal_pages
from zhixian.services.portal import report_pages  # its rules import the reporting tables into the metadata
from zhixian.services.portal.labels import PORTAL_LABELS
from zhixian.services.settings import SETTINGS
from zhixian.subsystems import Job, MenuItem, Permission, RoleSpec, Subsystem

_HERE = Path(__file__).parent

page_router = APIRouter()
page_router.include_router(pages.router)
page_router.include_router(report_pages.router)
page_router.include_router(portal_pages.router)

PERMISSIONS = [
    Permission("services.view", "查看政务服务事项清单、本部门的办件和评价"),
    Permission("services.catalog", "维护本部门的政务服务事项（含导入导出）"),
    Permission("services.licence", "加载和查看电子证照库"),
    Permission("services.window", "窗口收件、预填、一次性告知补正、受理或不予受理、记录评价"),
    Permission("services.approve", "审查、决定、办结本部门的办件"),
    Permission("services.head", "部门负责人：逾期办件、评价统计、差评整改"),
    Permission("services.report", "政务数据主管部门：可由共享数据替代的提交材料与所需授权"),
]

ROLES = [
    RoleSpec("window_clerk", "窗口人员", ("services.view", "services.window"), "综合窗口一窗受理"),
    RoleSpec("approver", "审批人员", ("services.view", "services.approve"), "审查、决定、办结本部门办件"),
    RoleSpec(
        "service_head",
        "部门负责人",
        ("services.view", "services.approve", "services.head"),
        "本部门政务服务的督办与整改",
    ),
    RoleSpec(
        "dept_data_officer", "部门数据管理员", ("services.view", "services.catalog"), "管理本部门的系统、资源与数据"
    ),
    RoleSpec(
        "data_authority",
        "政务数据主管部门",
        ("services.view", "services.catalog", "services.licence", "services.head", "services.report"),
        "全县目录审核发布、数据整合与共享审批",
    ),
    RoleSpec("leader", "县领导", ("services.view",), "全县概览"),
]

subsystem = Subsystem(
    code="services",
    name="一网通办",
    kind="core",
    description="政务服务事项清单、电子证照、一窗受理与免提交、办件时限、好差评与差评整改",
    standard="国办发〔2018〕45号、国办发〔2019〕51号（好差评）、GB/T 39047-2020、GB/T 36112-2018",
    api_router=api.router,
    page_router=page_router,
    templates=_HERE / "templates",
    static=_HERE / "static",
    migrations=_HERE / "migrations",
    permissions=PERMISSIONS,
    roles=ROLES,
    menu=[
        MenuItem("事项清单", "/services/matters", "services.view", "政务服务"),
        MenuItem("窗口受理", "/services/window", "services.window", "政务服务", primary=True),
        MenuItem("办件", "/services/applications", "services.view", "政务服务"),
        MenuItem("好差评", "/services/ratings", "services.view", "政务服务"),
        MenuItem("差评整改", "/services/rectifications", "services.view", "政务服务"),
        MenuItem("办件督办", "/services/applications?box=handling&light=due", "services.head", "政务服务"),
        MenuItem("政务服务指标", "/services/kpis", "services.view", "政务服务"),
        MenuItem("材料免提交分析", "/services/replaceable", "services.report", "政务服务"),
        MenuItem("电子证照", "/services/licences", "services.licence", "政务服务"),
    ],
    jobs=[
        Job("services.rectify_escalate", tasks.escalate, 600),
        Job("services.report_closed", tasks.report_closed, 300),
        Job("services.citizen_purge", tasks.citizen_purge, 3600),
    ],
    seed=seed,
    depends_on=("platform", "catalog", "integration", "exchange"),
    home_cards=[cards.home_cards],
    settings=SETTINGS,
    labels=[LABELS, PORTAL_LABELS],
)
