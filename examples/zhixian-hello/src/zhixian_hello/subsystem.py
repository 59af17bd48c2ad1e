"""The example's declaration: the target of its entry point in group ``zhixian.subsystems``.

Each field is one kind of contribution; a misspelt field name is a TypeError when this module loads.
"""

from __future__ import annotations

from pathlib import Path

from zhixian.subsystems import IntakeSource, MenuItem, Permission, RoleSpec, Subsystem
from zhixian_hello import service
from zhixian_hello.api import router as api_router
from zhixian_hello.cli import app as cli_app
from zhixian_hello.pages import router as page_router
from zhixian_hello.settings import SETTINGS

HERE = Path(__file__).parent

subsystem = Subsystem(
    code="hello",
    name="示例扩展",
    kind="extension",
    description="第三方扩展示例：独立的表、接口、页面与权限，并向首页、数字城管和设置各贡献一项",
    api_router=api_router,
    page_router=page_router,
    templates=HERE / "templates",
    migrations=HERE / "migrations",
    cli=cli_app,
    permissions=[Permission("hello.view", "查看示例扩展"), Permission("hello.report", "通过示例渠道上报问题")],
    roles=[
        RoleSpec("staff", "一般工作人员", ("hello.view",)),
        RoleSpec("inspector", "监督员", ("hello.view", "hello.report")),
    ],
    menu=[MenuItem("示例扩展", "/hello/", "hello.view", "自选动作")],
    seed=service.seed,
    depends_on=("platform", "citymgmt"),
    # contributions to other subsystems' extension points
    home_cards=[service.home_cards],
    case_categories=service.CATEGORIES,
    case_hooks=[service.on_case_created],
    intake_sources=[IntakeSource(service.CHANNEL, "示例渠道", "hello.report")],
    settings=SETTINGS,
)
