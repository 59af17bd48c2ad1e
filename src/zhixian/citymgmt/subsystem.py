"""The citymgmt subsystem's declaration, the target of its ``zhixian.subsystems`` entry point.

Importing it loads the routers; importing ``zhixian.citymgmt.service`` does not.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter

from zhixian.citymgmt.cases import api, field_pages
from zhixian.citymgmt.cases.home import home_cards
from zhixian.citymgmt.cases.pages import router as pages_router
from zhixian.citymgmt.config import api as catalogue_api
from zhixian.citymgmt.config.pages import router as config_router
from zhixian.citymgmt.demo import seed
from zhixian.citymgmt.evaluation import api as evaluation_api
from zhixian.citymgmt.geo import api as geo_api
from zhixian.citymgmt.geo.pages import router as geo_pages_router
from zhixian.citymgmt.labels import LABELS
from zhixian.citymgmt.open311.api import router as open311_router
from zhixian.citymgmt.settings import SETTINGS
from zhixian.citymgmt.tasks import escalate_overdue
from zhixian.subsystems import Job, MenuItem, Permission, RoleSpec, Subsystem

_HERE = Path(__file__).parent

# JSON API under /api/v1/citymgmt: case routes, then base data and 应用维护, then evaluation
api_router = APIRouter()
for _area in (api, catalogue_api, evaluation_api, geo_api):
    api_router.include_router(_area.router)
api_router.include_router(field_pages.api_router)

page_router = APIRouter()
page_router.include_router(open311_router)
page_router.include_router(pages_router)
page_router.include_router(field_pages.router)
page_router.include_router(config_router)
page_router.include_router(geo_pages_router)

PERMISSIONS = [
    Permission("citymgmt.view", "查看全部城管案件与监督指挥"),
    Permission("citymgmt.report", "监督员：上报、核实、核查"),
    Permission("citymgmt.accept", "受理员：受理、立案、不予立案、合并"),
    Permission("citymgmt.approve", "值班长：审批延期、挂账缓办"),
    Permission("citymgmt.dispatch", "派遣员：派遣案件"),
    Permission("citymgmt.handle", "处置部门：办理本部门案件"),
    Permission("citymgmt.supervise", "督办案件"),
    Permission("citymgmt.evaluate", "综合评价与导出"),
    Permission("citymgmt.config", "应用维护：分类、网格、参数"),
    Permission("citymgmt.intake", "系统对接：各渠道案件录入（API）"),
]

CENTRE = ("citymgmt.view", "citymgmt.evaluate")
ROLES = [
    RoleSpec("inspector", "监督员", ("citymgmt.report",), "街面巡查上报，核实、核查"),
    RoleSpec("acceptor", "受理员", (*CENTRE, "citymgmt.accept", "citymgmt.intake"), "受理各渠道案件，立案或不予立案"),
    RoleSpec(
        "shift_lead",
        "值班长",
        (*CENTRE, "citymgmt.accept", "citymgmt.approve", "citymgmt.supervise", "citymgmt.config"),
        "审批延期、挂账，督办",
    ),
    RoleSpec("dispatcher", "派遣员", (*CENTRE, "citymgmt.dispatch"), "把案件派遣给处置部门"),
    RoleSpec("handler", "处置人员", ("citymgmt.handle",), "办理派给本部门的案件"),
    RoleSpec(
        "leader", "县领导", ("citymgmt.view", "citymgmt.evaluate", "citymgmt.supervise"), "全县概览，可下钻到任何数字"
    ),
]

subsystem = Subsystem(
    code="citymgmt",
    name="数字城管",
    kind="core",
    description="单元网格、部件事件、案件受理派遣处置核查、综合评价、监督指挥",
    standard="GB/T 30428.1–.8",
    api_router=api_router,
    page_router=page_router,
    templates=_HERE / "templates",
    static=_HERE / "static",
    migrations=_HERE / "migrations",
    permissions=PERMISSIONS,
    roles=ROLES,
    menu=[
        MenuItem("监督指挥", "/citymgmt/ops", "citymgmt.view", "数字城管"),
        MenuItem("案件列表", "/citymgmt/cases", "citymgmt.view", "数字城管"),
        MenuItem("我的任务", "/citymgmt/my", "citymgmt.report", "数字城管"),
        MenuItem("本部门待办", "/citymgmt/my", "citymgmt.handle", "数字城管"),
        MenuItem("上报问题", "/citymgmt/report", "citymgmt.report", "数字城管", primary=True),
        MenuItem("我的上报", "/citymgmt/reports/mine", "citymgmt.report", "数字城管"),
        MenuItem("综合评价", "/citymgmt/evaluation", "citymgmt.evaluate", "数字城管"),
        MenuItem("应用维护", "/citymgmt/config", "citymgmt.config", "数字城管"),
    ],
    jobs=[Job("citymgmt.escalate_overdue", escalate_overdue, 300)],
    seed=seed,
    home_cards=[home_cards, field_pages.home_cards],
    settings=SETTINGS,
    labels=[LABELS],
)
