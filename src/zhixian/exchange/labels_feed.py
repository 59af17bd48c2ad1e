"""Names of the change feed's and subscriptions' audit codes (see ``zhixian.labels``); the rest of the
exchange names its own codes in its own module."""

from __future__ import annotations

from zhixian.labels import Labels

LABELS = Labels(
    subsystem="exchange",
    audit_actions={
        "exchange.gateway.changes": "网关调用：获取变更",
        "exchange.gateway.push": "推送变更（订阅）",
        "exchange.subscription_create": "新建变更订阅",
        "exchange.subscription_pause": "暂停变更订阅",
        "exchange.subscription_resume": "恢复变更订阅",
        "exchange.subscription_cancel": "取消变更订阅",
        "exchange.subscription_replay": "从游标重新推送",
    },
    object_types={"exchange_subscription": "变更订阅"},
    object_links={"exchange_subscription": "/exchange/subscriptions/{id}"},
    detail_keys={
        "subscription": "订阅编号",
        "delivery": "推送批次编号",
        "number": "批次序号",
        "attempt": "第几次尝试",
        "url": "推送地址",
        "start": "起点",
        "position": "变更位置",
        "superseded": "被取代的批次数",
        "call": "调用编号",
        "application": "应用编号",
        "grant": "授权编号",
        "items": "信息项",
        "masked": "脱敏信息项",
        "rows": "记录数",
        "subjects": "涉及对象数",
        "status": "应答状态码",
        "error": "错误",
    },
    detail_values={"start": {"now": "只推送此后的变更", "beginning": "从头推送"}},
)
