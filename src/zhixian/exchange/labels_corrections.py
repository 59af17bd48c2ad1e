"""Names of the codes 数据异议 writes into the audit log (see ``zhixian.labels``)."""

from __future__ import annotations

from zhixian.exchange.corrections import EVENT_LABELS, STATUS_LABELS
from zhixian.labels import Labels

LABELS = Labels(
    subsystem="exchange",
    audit_actions={
        **{f"exchange.correction.{code}": f"数据异议：{name}" for code, name in EVENT_LABELS.items()},
        "exchange.correction.read": "查看数据异议（含提出的正确值）",
    },
    object_types={"exchange_correction": "数据异议"},
    object_links={"exchange_correction": "/exchange/corrections/{id}"},
    detail_keys={
        "call": "网关调用",
        "items": "信息项",
        "changes": "记录变更",
        "amended": "改用的值",
        "masked": "已脱敏",
        "resource": "资源",
        "note": "说明",
        "fields": "已更正的信息项",
    },
    detail_values={"status": STATUS_LABELS},
    fields={"box": "范围", "status": "状态", "light": "时限"},
)
