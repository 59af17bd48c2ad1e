"""The platform subsystem's declaration, the target of its ``zhixian.subsystems`` entry point.

Importing it loads the routers; importing ``zhixian.platform.service`` does not.
"""

from __future__ import annotations

from pathlib import Path

from zhixian.platform import audit_anchor
from zhixian.platform.api import router as api_router
from zhixian.platform.labels import LABELS
from zhixian.platform.pages import router as page_router
from zhixian.subsystems import Job, MenuItem, Permission, RoleSpec, Subsystem

_HERE = Path(__file__).parent

PERMISSIONS = [
    Permission("platform.scope.county", "全县范围（不限本部门）"),
    Permission("platform.users.read", "查看用户（本部门范围）"),
    Permission("platform.users.manage", "管理用户与授权"),
    Permission("platform.roles.manage", "管理角色与权限"),
    Permission("platform.org.manage", "维护行政区划与部门"),
    Permission("platform.calendar.manage", "维护工作日历"),
    Permission("platform.system.manage", "系统运行管理（子系统、作业）"),
    Permission("platform.audit.read", "查阅审计日志"),
    Permission("platform.audit.export", "导出审计日志"),
    # machine access is granted, not assumed: only roles that connect other systems may mint API tokens
    Permission("platform.token.create", "创建 API 令牌（供其他系统调用）"),
]

ROLES = [
    RoleSpec(
        "sysadmin",
        "系统管理员",
        ("platform.system.manage", "platform.org.manage", "platform.calendar.manage", "platform.scope.county"),
        "运行与维护系统，不能管理用户或查阅审计",
        "system",
    ),
    RoleSpec(
        "secadmin",
        "安全管理员",
        (
            "platform.users.read",
            "platform.users.manage",
            "platform.roles.manage",
            "platform.scope.county",
            "platform.token.create",
        ),
        "管理用户、角色与安全策略",
        "security",
    ),
    RoleSpec(
        "auditor",
        "审计管理员",
        ("platform.audit.read", "platform.audit.export", "platform.token.create"),
        "只读审计日志，不能修改用户、策略或数据",
        "audit",
    ),
    RoleSpec("leader", "县领导", ("platform.scope.county", "platform.users.read"), "全县概览，可下钻到任何数字"),
    RoleSpec("dept_head", "部门负责人", ("platform.users.read",), "查看本部门及下属单位"),
    RoleSpec(
        "dept_data_officer",
        "部门数据管理员",
        ("platform.users.read", "platform.token.create"),
        "管理本部门的系统、资源与数据",
    ),
    RoleSpec(
        "data_authority",
        "政务数据主管部门",
        ("platform.token.create",),
        "全县目录审核发布、数据整合与共享审批",
    ),
    RoleSpec("staff", "一般工作人员", (), "本部门日常工作"),
]

subsystem = Subsystem(
    code="platform",
    name="底座",
    kind="core",
    description="行政区划、部门、用户与权限、登录与会话、审计、工作日历",
    standard="GB/T 22239-2019（等保2.0 三级）、GB/T 2260",
    api_router=api_router,
    page_router=page_router,
    templates=_HERE / "templates",
    migrations=_HERE / "migrations",
    permissions=PERMISSIONS,
    roles=ROLES,
    menu=[
        MenuItem("用户管理", "/admin/users", "platform.users.read", "系统管理"),
        MenuItem("角色权限", "/admin/roles", "platform.roles.manage", "系统管理"),
        MenuItem("区划与部门", "/admin/org", "platform.org.manage", "系统管理"),
        MenuItem("工作日历", "/admin/calendar", "platform.calendar.manage", "系统管理"),
        MenuItem("子系统", "/admin/subsystems", "platform.system.manage", "系统管理"),
        MenuItem("审计日志", "/admin/audit", "platform.audit.read", "系统管理"),
    ],
    depends_on=(),
    jobs=[Job("platform.audit_anchor", audit_anchor.job, 30)],  # anchors a log that went quiet
    labels=[LABELS],
)
