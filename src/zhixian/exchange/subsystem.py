"""The exchange subsystem as the core mounts it (entry point ``exchange`` in group zhixian.subsystems)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter

from zhixian.exchange import (
    api,
    cards,
    cli,
    corrections,
    corrections_api,
    corrections_pages,
    corrections_reads,
    gateway_api,
    grants,
    pages,
    pages_admin,
    pages_subscriptions,
    pages_usage,
    subscriptions_api,
    tasks,
)
from zhixian.exchange.demo import seed
from zhixian.exchange.federation import api as federation_api
from zhixian.exchange.federation import cli as federation_cli
from zhixian.exchange.federation import pages as federation_pages
from zhixian.exchange.federation import tasks as federation_tasks
from zhixian.exchange.federation.labels import LABELS as FEDERATION_LABELS
from zhixian.exchange.labels import LABELS
from zhixian.exchange.labels_corrections import LABELS as CORRECTION_LABELS
from zhixian.exchange.labels_feed import LABELS as FEED_LABELS
from zhixian.exchange.settings import SETTINGS
from zhixian.exchange.settings_feed import SETTINGS as FEED_SETTINGS
from zhixian.integration import access
from zhixian.subsystems import Apart, Job, MenuItem, Permission, RoleSpec, Subsystem

_HERE = Path(__file__).parent

api_router = APIRouter()
api_router.include_router(api.router)
api_router.include_router(gateway_api.router)
api_router.include_router(subscriptions_api.router)
api_router.include_router(corrections_api.router)
api_router.include_router(federation_api.router)

page_router = APIRouter()
for _area in (pages, pages_admin, pages_usage, pages_subscriptions, corrections_pages, federation_pages):
    page_router.include_router(_area.router)

cli.app.add_typer(federation_cli.app, name="federation")

# base-database pages and APIs (integration) honour sharing grants through the one access decision
access.register_grant(grants.base_read)

PERMISSIONS = [
    Permission("exchange.view", "查看共享目录、本部门的申请、授权、应用与调用记录"),
    Permission("exchange.request", "提交共享申请、提出争议、管理本部门的应用和密钥"),
    Permission("exchange.approve", "答复本部门资源的共享申请，管理本部门资源的授权"),
    Permission("exchange.authority", "合规审核、逾期代为决定、争议协调（数据主管部门）"),
    Permission("exchange.stats", "查看全县共享统计"),
    Permission("exchange.usage.person", "按身份号码查询个人数据的使用记录（留痕）"),
]

ROLES = [
    RoleSpec(
        "data_authority",
        "政务数据主管部门",
        (
            "exchange.view",
            "exchange.request",
            "exchange.approve",
            "exchange.authority",
            "exchange.stats",
            "exchange.usage.person",
        ),
        "全县目录审核发布、数据整合与共享审批",
    ),
    RoleSpec(
        "dept_data_officer",
        "部门数据管理员",
        ("exchange.view", "exchange.request", "exchange.approve"),
        "管理本部门的系统、资源与数据",
    ),
    RoleSpec("leader", "县领导", ("exchange.view", "exchange.stats"), "全县概览"),
]

subsystem = Subsystem(
    code="exchange",
    name="数据共享",
    kind="core",
    description="共享申请与审批、授权、应用与签名密钥、共享网关（脱敏、核验、审计）、数据使用透明",
    standard="国发〔2016〕51号、GB/T 43697-2024、GB/T 35273-2020、GB/T 22239-2019",
    api_router=api_router,
    page_router=page_router,
    templates=_HERE / "templates",
    static=_HERE / "static",
    migrations=_HERE / "migrations",
    permissions=PERMISSIONS,
    roles=ROLES,
    menu=[
        MenuItem("共享申请", "/exchange/requests", "exchange.view", "数据共享"),
        MenuItem("授权管理", "/exchange/grants", "exchange.view", "数据共享"),
        MenuItem("应用与密钥", "/exchange/apps", "exchange.view", "数据共享"),
        MenuItem("变更订阅", "/exchange/subscriptions", "exchange.view", "数据共享"),
        MenuItem("数据使用情况", "/exchange/usage", "exchange.view", "数据共享"),
        MenuItem("数据异议", "/exchange/corrections", "exchange.view", "数据共享"),
        MenuItem("共享统计", "/exchange/statistics", "exchange.stats", "数据共享"),
        MenuItem("个人数据使用查询", "/exchange/person-usage", "exchange.usage.person", "数据共享"),
        MenuItem("节点联邦", "/exchange/federation", "exchange.authority", "数据共享"),
    ],
    cli=cli.app,
    jobs=[
        Job("exchange.deadlines", tasks.deadlines, 300),
        Job("exchange.purge", tasks.purge, 900),
        Job("exchange.feed", tasks.feed_sweep, 30),
        Job("exchange.deliver", tasks.deliver, 5),
        Job("exchange.correction_deadlines", tasks.correction_deadlines, 300),
        Job("exchange.federation", federation_tasks.deliver, 30),
        Job("exchange.exports", tasks.exports, 10, Apart(("exchange", "exports"), tasks.exports_due)),
    ],
    settings=[*SETTINGS, *FEED_SETTINGS, *corrections.SETTINGS],
    labels=[LABELS, FEED_LABELS, CORRECTION_LABELS, FEDERATION_LABELS],
    seed=seed,
    depends_on=("platform", "catalog", "integration"),
    home_cards=[cards.home_cards, corrections_reads.home_cards],
)
