"""The integration subsystem's declaration, the target of its ``zhixian.subsystems`` entry point.

Importing it loads the routers; importing ``zhixian.integration.service`` does not.
"""

from __future__ import annotations

from pathlib import Path

from zhixian.integration import basedata, tasks
from zhixian.integration.api import router as api_router
from zhixian.integration.catalog_facts import resource_facts
from zhixian.integration.cli import app as cli_app
from zhixian.integration.demo import seed
from zhixian.integration.labels import LABELS
from zhixian.integration.pages import router as page_router
from zhixian.subsystems import Job, MenuItem, Permission, RoleSpec, Subsystem

_HERE = Path(__file__).parent

PERMISSIONS = [
    Permission("integration.view", "查看数据源、运行记录、数据质量"),
    Permission("integration.run", "配置数据源与映射、运行整合、处理隔离区与冲突"),
    Permission("integration.personal.read", "查看未脱敏的个人信息（留痕）"),
]

ROLES = [
    RoleSpec(
        "data_authority",
        "政务数据主管部门",
        ("integration.view", "integration.run", "integration.personal.read"),
        "全县目录审核发布、数据整合与共享审批",
    ),
    RoleSpec(
        "dept_data_officer", "部门数据管理员", ("integration.view", "integration.run"), "管理本部门的系统、资源与数据"
    ),
    RoleSpec("leader", "县领导", ("integration.view",), "全县概览"),
]

subsystem = Subsystem(
    code="integration",
    name="数据整合",
    kind="core",
    description="数据源连接、清洗校验、隔离区、人口/法人/地理基础库、数据质量",
    standard="GB 11643、GB 32100、GB/T 35273-2020",
    api_router=api_router,
    page_router=page_router,
    templates=_HERE / "templates",
    static=_HERE / "static",
    migrations=_HERE / "migrations",
    cli=cli_app,
    permissions=PERMISSIONS,
    roles=ROLES,
    menu=[
        MenuItem("数据源与运行", "/integration", "integration.view", "数据整合"),
        MenuItem("隔离区", "/integration/quarantine", "integration.view", "数据整合"),
        MenuItem("数据冲突", "/integration/conflicts", "integration.view", "数据整合"),
        MenuItem("数据质量", "/integration/quality", "integration.view", "数据整合"),
    ],
    jobs=[Job("integration.scheduler", tasks.scheduler, 60), Job("integration.quality", tasks.quality_daily, 86400)],
    seed=seed,
    depends_on=("platform", "catalog"),
    home_cards=[basedata.home_cards],
    labels=[LABELS],
    catalog_resource_facts=[resource_facts],
)
