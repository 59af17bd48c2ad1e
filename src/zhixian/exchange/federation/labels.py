"""Names of federation's audit actions, object types and detail keys (see ``zhixian.labels``)."""

from __future__ import annotations

from zhixian.labels import Labels

LABELS = Labels(
    subsystem="exchange",
    audit_actions={
        "exchange.federation.register": "节点申请注册",
        "exchange.federation.approve": "批准节点注册",
        "exchange.federation.revoke": "撤销节点登记",
        "exchange.federation.request": "转发跨节点共享申请",
        "exchange.federation.received": "收到跨节点共享申请",
        "exchange.federation.decide": "决定跨节点共享申请",
        "exchange.federation.decided": "收到跨节点申请的决定",
        "exchange.federation.grant": "给出联邦授权",
        "exchange.federation.grant_revoke": "撤销联邦授权",
        "exchange.federation.call": "转发跨节点调用",
        "exchange.federation.serve": "应答跨节点调用",
    },
    object_types={
        "exchange_fed_peer": "联邦节点",
        "exchange_fed_request": "跨节点共享申请",
        "exchange_fed_grant": "联邦授权",
    },
    detail_keys={
        "node": "节点",
        "name": "名称",
        "fingerprint": "公钥指纹",
        "status": "状态",
        "grant": "联邦授权",
        "resource": "资源",
        "department": "部门",
        "client": "应用标识",
        "operation": "调用方式",
        "items": "信息项",
        "rows": "条数",
        "error": "错误",
    },
    detail_values={
        "status": {"granted": "已同意", "refused": "不同意"},
        "operation": {"lookup": "按主键查询", "query": "条件查询", "verify": "核验"},
    },
)
