"""Names of 数据共享's audit actions, object types and detail keys (see ``zhixian.labels``).

The steps of requests, grants and applications are named where they are defined (``policy``), and
``timeline.step`` writes no other, so a new step is named by being declared.
"""

from __future__ import annotations

from zhixian.exchange.policy import OPERATIONS, STAGE_LABELS, SUBJECT_EVENTS
from zhixian.labels import Labels

GATEWAY_ACTIONS = {
    "list": "共享网关：查询可用资源",
    "lookup": "共享网关：按主键查询",
    "query": "共享网关：条件查询",
    "verify": "共享网关：核验",
    "export": "共享网关：提交批量导出",
    "export_get": "共享网关：查询导出任务",
    "export_file": "共享网关：下载导出文件",
    "export_run": "共享网关：批量导出（生成文件）",
}

LABELS = Labels(
    subsystem="exchange",
    audit_actions={
        **{
            f"exchange.{subject}.{step}": name
            for subject, steps in SUBJECT_EVENTS.items()
            for step, name in steps.items()
        },
        **{f"exchange.gateway.{op}": name for op, name in GATEWAY_ACTIONS.items()},
        "exchange.person_usage.lookup": "查询个人数据使用记录",
        "exchange.citizen_check": "公众实名登录核验",
        "exchange.citizen_usage": "公众查看本人数据使用记录",
        "exchange.department_read": "部门按授权读取共享数据（办事预填）",
    },
    object_types={
        "exchange_request": "共享申请",
        "exchange_grant": "共享授权",
        "exchange_application": "共享应用",
        "person": "个人",
    },
    object_links={
        "exchange_request": "/exchange/requests/{id}",
        "exchange_grant": "/exchange/grants/{id}",
        "exchange_application": "/exchange/apps/{id}",
    },
    detail_keys={
        "match": "核验一致",
        "note": "说明",
        "resource": "资源",
        "items": "信息项",
        "plain_items": "不脱敏的信息项",
        "operations": "调用方式",
        "share_type": "共享类型",
        "row_filter": "行范围",
        "grant": "授权编号",
        "by": "决定方",
        "before": "变更前",
        "after": "变更后",
        "client_id": "应用标识",
        "ip_allow": "来源地址白名单",
        "rate_per_minute": "每分钟上限",
        "daily_quota": "每日配额",
        "status": "状态",
        "name": "名称",
        "description": "说明",
        "fingerprint": "密钥指纹",
        "version": "密钥版本",
        "call": "调用编号",
        "application": "应用编号",
        "application_name": "应用",
        "masked": "脱敏提供的信息项",
        "rows": "返回记录数",
        "subjects": "涉及人员或法人数",
        "purpose": "用途",
        "reason": "事由",
        "error": "错误",
        "count": "条数",
        "export": "导出任务编号",
        "format": "文件格式",
    },
    detail_values={
        "operations": OPERATIONS,
        "by": {"authority": STAGE_LABELS["authority"], "provider": STAGE_LABELS["provider"]},
        "status": {"active": "启用", "disabled": "停用"},
        "format": {"csv": "CSV", "jsonl": "JSON Lines"},
    },
)
