"""商铺店面 (storefronts): shops, 门前三包 zones, and cases linked to shops — an optional extension.

It adds its case classes, intake channel and case hook through ``contributions``; the core never
imports it.
"""

from __future__ import annotations

from pathlib import Path

from zhixian.extensions.storefronts import service
from zhixian.extensions.storefronts.demo import seed
from zhixian.extensions.storefronts.labels import LABELS
from zhixian.extensions.storefronts.web import api, pages
from zhixian.subsystems import MenuItem, Permission, RoleSpec, Subsystem

_HERE = Path(__file__).parent

subsystem = Subsystem(
    code="storefronts",
    name="商铺店面",
    kind="extension",
    description="商铺与门前三包责任区；商铺相关案件关联并通知联系人",
    api_router=api,
    page_router=pages,
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
    contributions={
        "case_categories": service.CATEGORIES,
        "case_created": [service.on_case_created],
        "intake_sources": [{"code": "storefront", "label": "商铺店面", "permission": "storefronts.report"}],
        "labels": [LABELS],
    },
)
