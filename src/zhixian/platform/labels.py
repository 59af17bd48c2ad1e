"""Names of the platform's audit actions, object types and detail keys (see ``zhixian.labels``).

Detail keys here are also the fallback for every subsystem, so shared words (行数, 原因) are named once.
"""

from __future__ import annotations

from zhixian.labels import Labels
from zhixian.platform.separation import ADMIN_KIND_NAMES

AUDIT_ACTIONS = {
    "login": "登录",
    "login_failed": "登录失败",
    "logout": "退出",
    "account_locked": "账号锁定",
    "password_change": "修改密码",
    "password_reset": "重置密码",
    "user_create": "创建用户",
    "user_update": "修改用户",
    "user_unlock": "解锁用户",
    "permission_change": "权限变更",
    "personal_read": "查阅个人信息",
    "audit_export": "导出审计日志",
    "org_import": "导入组织机构",
    "api_token_create": "创建 API 令牌",
    "api_token_revoke": "吊销 API 令牌",
    "totp_enable": "启用动态口令",
    "calendar_override": "调整工作日历",
    "calendar_override_delete": "删除日历调整",
    "department_create": "新建部门",
    "department_update": "修改部门",
    "admin_change_propose": "提出管理员变更",
    "admin_change_confirm": "确认管理员变更",
    "admin_change_reject": "驳回管理员变更",
    "break_glass": "应急操作（命令行）",
    "export": "导出数据",
}

ADMIN_CHANGE_KINDS = {
    "user_create": "新建管理员账号",
    "user_roles": "调整管理员角色",
    "user_reset": "重置管理员密码",
    "user_active": "启用或停用管理员",
    "role": "修改管理员角色权限",
}

LOGIN_FAILURES = {
    "unknown_user": "用户名不存在",
    "bad_password": "密码错误",
    "disabled": "账号已停用",
    "locked": "账号已锁定",
    "bad_totp": "动态口令错误",
    "reused_totp": "动态口令已使用过",
}

LABELS = Labels(
    subsystem="platform",
    audit_actions=AUDIT_ACTIONS,
    object_types={
        "user": "用户",
        "role": "角色",
        "department": "部门",
        "org": "组织机构",
        "calendar": "工作日历",
        "api_token": "API 令牌",
        "audit": "审计日志",
        "admin_change": "管理员变更",
        "admin_duty": "管理员职责",
    },
    object_links={"user": "/admin/users/{id}"},
    detail_keys={
        # shared words any subsystem may use
        "rows": "行数",
        "count": "条数",
        "reason": "原因",
        "kind": "类型",
        "name": "名称",
        "code": "代码",
        "note": "说明",
        "status": "状态",
        "from": "原状态",
        "to": "新状态",
        "before": "变更前",
        "after": "变更后",
        "file": "文件",
        "format": "格式",
        "fields": "字段",
        "ids": "记录编号",
        "masked": "已脱敏",
        "start": "开始",
        "end": "结束",
        "created": "新增",
        "updated": "更新",
        "unchanged": "未变",
        "errors": "错误数",
        "changed": "变更项",
        "source": "来源",
        "version": "版本",
        "active": "在用",
        # the platform's own
        "mfa_pending": "待验证动态口令",
        "minutes": "锁定分钟数",
        "threshold": "失败次数上限",
        "sessions_ended": "结束的会话数",
        "tokens_revoked": "吊销的令牌数",
        "user_id": "用户编号",
        "days": "有效天数",
        "username": "用户名",
        "full_name": "姓名",
        "phone": "手机",
        "email": "邮箱",
        "department_id": "部门编号",
        "roles": "角色",
        "is_workday": "工作日",
        "target": "对象",
        "payload": "变更内容",
        "proposed_by": "提出人",
        "what": "事项",
        "accounts": "账号",
        "short_name": "简称",
        "parent_code": "上级代码",
        "division_code": "区划代码",
    },
    detail_values={
        "reason": LOGIN_FAILURES,
        "kind": ADMIN_CHANGE_KINDS,
        "admin_kind": ADMIN_KIND_NAMES,
    },
)
