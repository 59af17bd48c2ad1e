"""Names of 数字城管's audit actions, object types and detail keys (see ``zhixian.labels``).

Case actions are named from ``workflow.RULES``, so a new workflow action is named where it is defined.
"""

from __future__ import annotations

from zhixian.citymgmt.cases.workflow import RULES
from zhixian.citymgmt.config.standards import SOURCES, STATUS_LABELS
from zhixian.labels import Labels

LABELS = Labels(
    subsystem="citymgmt",
    audit_actions={
        "citymgmt.case_create": "新建案件",
        "citymgmt.case_escalate": "案件超期升级",
        **{f"citymgmt.case_{code}": f"案件{rule.label}" for code, rule in RULES.items()},
        "citymgmt.evaluation_export": "导出综合评价",
        "citymgmt.config": "修改运行参数",
        "citymgmt.class_save": "保存案件类别",
        "citymgmt.geo_import": "导入地理数据",
        "citymgmt.grid_cover": "生成网格覆盖",
    },
    object_types={
        "cm_case": "案件",
        "cm_class": "案件类别",
        "cm_grid": "单元网格",
        "cm_area": "社区",
        "evaluation": "综合评价",
        "citymgmt_config": "运行参数",
    },
    object_ids={"evaluation": {"department": "部门评价", "inspector": "监督员评价", "region": "区域评价"}},
    object_links={"cm_class": "/citymgmt/config/classes/{id}"},
    detail_keys={
        "class": "类别",
        "grid": "网格",
        "self_disposed": "自行处置",
        "deadline": "处置时限",
        "assignee_id": "承办人编号",
        "check_assignee_id": "核查人编号",
        "filed_on_time": "按时立案",
        "confirmed": "属实",
        "department": "处置部门",
        "suggested": "按建议派遣",
        "limit": "处置时限",
        "warnings": "提示",
        "from_department_id": "回退部门编号",
        "on_time": "按时处置",
        "passed": "核查通过",
        "rework": "返工次数",
        "hours": "工作小时",
        "days": "工作日",
        "approved": "批准",
        "target": "并入案件",
        "size_m": "网格边长（米）",
        "grids": "网格数",
        "imported": "导入条数",
        # 案件类别 (citymgmt.class_save details are the saved class)
        "filing_standard": "立案标准",
        "closing_standard": "结案标准",
        "limit_value": "处置时限",
        "limit_unit": "时限单位",
        "urgent_value": "紧急时限",
        "urgent_unit": "紧急时限单位",
        "department_code": "责任部门代码",
        # 运行参数 (citymgmt.config details are the changed parameters)
        "yellow_ratio": "黄灯剩余时限比例",
        "duplicate_distance_m": "疑似重复距离（米）",
        "duplicate_hours": "疑似重复时间窗（小时）",
        "photo_max_bytes": "照片大小上限（字节）",
        "filing_limit_hours": "立案时限（工作小时）",
        "verify_limit_hours": "核实时限（工作小时）",
        "check_limit_hours": "核查时限（工作小时）",
        "weights": "综合评价权重",
        "open311_api_keys": "Open311 api_key",
        "open311_reports_per_hour": "Open311 每小时上报上限",
        "open311_public_sources": "Open311 公开的来源",
    },
    fields={
        "grid_code": "网格",
        "community_code": "社区",
        "street_code": "街道",
        "department_id": "处置部门",
        "class_code": "类别",
        "reported_from": "上报自",
        "reported_to": "上报至",
        "dispatched_from": "派遣自",
        "dispatched_to": "派遣至",
    },
    detail_values={
        "from": STATUS_LABELS,
        "to": STATUS_LABELS,
        "source": SOURCES,
        "kind": {"grid": "单元网格", "area": "社区边界", "component": "部件", "event": "事件"},
        "limit_unit": {"hours": "工作小时", "days": "工作日"},
        "urgent_unit": {"hours": "工作小时", "days": "工作日"},
    },
)
