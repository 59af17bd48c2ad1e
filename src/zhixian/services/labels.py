"""Names of 一网通办's audit actions, object types and detail keys (see ``zhixian.labels``)."""

from __future__ import annotations

from zhixian.labels import Labels
from zhixian.services.workflow import ACTIONS, STATUS_LABELS

LABELS = Labels(
    subsystem="services",
    audit_actions={
        "services.matter_save": "保存政务服务事项",
        "services.matter_import": "导入政务服务事项",
        "services.matter_export": "导出政务服务事项",
        "services.licence_load": "加载电子证照",
        "services.licence_use": "调用电子证照",
        "services.rating": "服务评价",
        "services.rectify": "差评整改",
        "services.rectify_escalate": "差评整改逾期升级",
        **{f"services.application_{code}": f"办件{label}" for code, label in ACTIONS.items()},
    },
    object_types={
        "services_matter": "政务服务事项",
        "services_licence": "电子证照",
        "services_application": "办件",
        "services_rating": "服务评价",
        "services_rectification": "差评整改",
    },
    object_links={
        "services_matter": "/services/matters/{id}",
        "services_application": "/services/applications/{id}",
    },
    detail_keys={
        "code": "实施编码",
        "name": "名称",
        "created": "新增条数",
        "updated": "更新条数",
        "rows": "行数",
        "matters": "事项数",
        "type": "证照类型",
        "number": "证照编号",
        "application": "办件",
        "material": "材料",
        "matter": "事项",
        "applicant": "申请人",
        "consent": "同意使用共享数据",
        "items": "补正事项",
        "filled": "已预填材料",
        "refused": "未能预填",
        "calls": "共享调用",
        "reason": "理由",
        "decision": "决定",
        "due": "办结时限",
        "on_time": "按时办结",
        "status": "状态",
        "grade": "评价等级",
        "reasons": "评价理由",
        "rectification": "整改任务",
        "outcome": "回访结果",
        "late": "逾期",
        "file": "文件",
        "household": "同户成员数",
    },
    detail_values={
        "status": STATUS_LABELS,
        "decision": {"approve": "准予", "deny": "不予"},
        "outcome": {"satisfied": "满意", "unsatisfied": "不满意"},
    },
    fields={
        "status": "状态",
        "light": "时限",
        "matter_id": "事项",
        "department_id": "部门",
        "grade": "评价等级",
        "bad": "差评",
        "kind": "事项类型",
        "level": "办理层级",
        "q": "关键词",
    },
)
