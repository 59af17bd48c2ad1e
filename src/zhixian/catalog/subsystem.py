"""The catalog subsystem's declaration, the target of its ``zhixian.subsystems`` entry point.

Importing it loads the routers; importing ``zhixian.catalog.service`` does not.
"""

from __future__ import annotations

from pathlib import Path

from zhixian.catalog.api import router as api_router
from zhixian.catalog.demo import seed
from zhixian.catalog.labels import LABELS
from zhixian.catalog.pages import router as page_router
from zhixian.catalog.settings import SETTINGS
from zhixian.subsystems import MenuItem, Permission, RoleSpec, Subsystem

_HERE = Path(__file__).parent

PERMISSIONS = [
    Permission("catalog.view", "查看资源目录与业务系统台账"),
    Permission("catalog.edit", "编制本部门目录、登记本部门业务系统"),
    Permission("catalog.review", "审核、发布、撤回目录（数据主管部门）"),
]

ROLES = [
    RoleSpec(
        "data_authority",
        "政务数据主管部门",
        ("platform.scope.county", "catalog.view", "catalog.edit", "catalog.review"),
        "全县目录审核发布、数据整合与共享审批",
    ),
    RoleSpec("dept_data_officer", "部门数据管理员", ("catalog.view", "catalog.edit"), "管理本部门的系统、资源与数据"),
    RoleSpec("leader", "县领导", ("catalog.view",), "全县概览"),
]

subsystem = Subsystem(
    code="catalog",
    name="资源目录",
    kind="core",
    description="业务系统台账、政务信息资源目录（编制、审核、发布、检索、上报）",
    standard="政务信息资源目录编制指南（试行）、GB/T 21063、GB/T 43697-2024",
    api_router=api_router,
    page_router=page_router,
    templates=_HERE / "templates",
    migrations=_HERE / "migrations",
    permissions=PERMISSIONS,
    roles=ROLES,
    menu=[
        MenuItem("资源目录", "/catalog", "catalog.view", "数据中枢"),
        MenuItem("业务系统台账", "/catalog/systems", "catalog.view", "数据中枢"),
    ],
    seed=seed,
    settings=SETTINGS,
    labels=[LABELS],
)
