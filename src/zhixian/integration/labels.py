"""Names of 数据整合's audit actions, object types and detail keys (see ``zhixian.labels``)."""

from __future__ import annotations

from zhixian.labels import Labels

SOURCE_KINDS = {"csv": "CSV 文件", "excel": "Excel 文件", "json": "JSON 文件", "sql": "SQL 数据库", "http": "HTTP 接口"}

LABELS = Labels(
    subsystem="integration",
    audit_actions={
        "integration.source.create": "新建数据源",
        "integration.source.file": "上传数据源文件",
        "integration.source.settings": "修改数据源设置",
        "integration.source.connection": "修改数据源连接",
        "integration.source.preview": "预览数据源",
        "integration.mapping.save": "保存字段映射",
        "integration.run.start": "开始加载",
        "integration.run.resume": "续跑加载",
        "integration.run.finish": "加载完成",
        "integration.quarantine.read": "查看隔离行",
        "integration.quarantine.resubmit": "重新提交隔离行",
        "integration.quarantine.discard": "放弃隔离行",
        "integration.person.lookup": "查询人口信息",
        "integration.person.read_unmasked": "查阅人口信息明文",
        "integration.legal.read": "查询法人信息",
        "integration.conflict.list": "查看数据冲突",
        "integration.conflict.resolve": "处理数据冲突",
    },
    object_types={
        "integration_source": "数据源",
        "integration_run": "加载批次",
        "integration_quarantine": "隔离行",
        "integration_conflict": "数据冲突",
        "integration_person": "人口信息",
        "integration_legal_person": "法人信息",
    },
    object_links={
        "integration_source": "/integration/sources/{id}",
        "integration_run": "/integration/runs/{id}",
        "integration_quarantine": "/integration/quarantine/{id}",
    },
    detail_keys={
        "sha256": "文件指纹（SHA-256）",
        "secret": "含密码",
        "columns": "映射列",
        "mapping_version": "映射版本",
        "checkpoint": "续跑位置",
        "read": "读取",
        "loaded": "入库",
        "quarantined": "隔离",
        "duplicates": "重复",
        "conflicts": "冲突",
        "row": "行号",
        "run": "批次",
        "persons": "人口记录",
        "legal": "法人记录",
        "field": "字段",
        "entity": "对象",
        "action": "处理方式",
        "schedule": "定时",
        "incremental": "增量方式",
        "watermark_column": "水位列",
    },
    detail_values={
        "kind": SOURCE_KINDS,
        "action": {"keep": "保留原值", "replace": "采用新值"},
        "entity": {"person": "人口", "legal": "法人"},
        "incremental": {"hash": "按内容指纹", "watermark": "按水位列"},
        "fields": {
            "id_number": "身份证号",
            "name": "姓名",
            "birth_date": "出生日期",
            "phone": "手机",
            "address": "地址",
        },
    },
)
