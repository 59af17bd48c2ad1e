"""Names of the catalogue's audit actions, object types and detail values (see ``zhixian.labels``)."""

from __future__ import annotations

from zhixian.catalog import grading
from zhixian.labels import Labels

LABELS = Labels(
    subsystem="catalog",
    audit_actions={
        "catalog.resource.create": "新建目录资源",
        "catalog.resource.update": "修改目录资源",
        "catalog.resource.submit": "提交目录审核",
        "catalog.resource.publish": "审核通过并发布目录",
        "catalog.resource.reject": "退回目录",
        "catalog.resource.withdraw": "撤回目录",
        "catalog.resource.delete": "删除目录资源",
        "catalog.export": "导出资源目录",
        "catalog.system.save": "登记或修改业务系统",
        "catalog.system.apply": "向上申请系统数据",
        "catalog.system.decision": "登记上级答复",
    },
    object_types={"catalog_resource": "目录资源", "catalog_system": "业务系统"},
    object_links={"catalog_resource": "/catalog/resources/{id}", "catalog_system": "/catalog/systems/{id}"},
    detail_keys={
        "element_set": "元素集",
        "application": "申请编号",
        "addressee": "申请对象",
        "outcome": "答复",
    },
    detail_values={
        "status": grading.STATUS_LABELS,
        "from": grading.STATUS_LABELS,
        "to": grading.STATUS_LABELS,
        "outcome": {"pending": "待答复", "granted": "同意", "refused": "不同意"},
        "element_set": {"legacy": "旧版元数据", "modern": "目录编制指南"},
        "format": {"xlsx": "Excel", "json": "JSON", "xml": "XML"},
    },
)
