"""The storefronts subsystem's declaration, the target of its ``zhixian.subsystems`` entry point.

Importing it loads the routers; importing ``zhixian.extensions.storefronts.service`` does not.
"""

from __future__ import annotations

from pathlib import Path

from zhixian.extensions.storefronts import service
from zhixian.extensions.storefronts.api import router as api_router
from zhixian.extensions.storefronts.demo import seed
from zhixian.extensions.storefronts.labels import LABELS
from zhixian.extensions.storefronts.pages import router as page_router
from zhixian.subsystems import IntakeSource, MenuItem, Permission, RoleSpec, Subsystem

_HERE = Path(__file__).parent

subsystem = Subsystem(
    code="storefronts",
    name="商铺店面",
    kind="extension",
    description="商铺与门前三包责任区；商铺相关案件关联并通知联系人",
    api_router=api_router,
    page_router=page_router,
    templates=_HERE / "templates",
    migrations=_HERE / "migrations",
    permissions=[
        Permission("storefronts.view", "查看商铺与关联案件"),
        Permission("storefronts.manage", "登记与维护商铺"),
        Permission("storefronts.report", "在商铺处上报问题"),
    ],
    roles=[
        RoleSpec("acceptor", "受理员", ("storefronts.view", "storefronts.report")),
        RoleSpec("inspector", "监督员", ("storefronts.view", "storefronts.report")),
        RoleSpec("shift_lead", "值班长", ("storefronts.view", "storefronts.manage", "storefronts.report")),
        RoleSpec("leader", "县领导", ("storefronts.view",)),
    ],
    menu=[MenuItem("商铺店面", "/storefronts/", "storefronts.view", "自选动作")],
    seed=seed,
    depends_on=("platform", "citymgmt"),
    case_categories=service.CATEGORIES,
    case_hooks=[service.on_case_created],
    intake_sources=[IntakeSource("storefront", "商铺店面", "storefronts.report")],
    labels=[LABELS],
)
