"""Names of the citizen portal's audit actions, object types and detail keys (see ``zhixian.labels``)."""

from __future__ import annotations

from zhixian.labels import Labels

PORTAL_LABELS = Labels(
    subsystem="services",
    audit_actions={
        "services.citizen_code": "公众实名登录：获取验证码",
        "services.citizen_sign_in": "公众实名登录",
        "services.citizen_sign_out": "公众退出登录",
        "services.citizen_read": "公众查看本人信息",
        "services.citizen_consent": "公众同意授权",
        "services.citizen_consent_withdraw": "公众撤回授权",
    },
    object_types={
        "services_citizen": "公众用户",
        "services_citizen_code": "登录验证码",
        "services_citizen_consent": "公众授权",
        "services_citizen_notice": "公众通知",
        "services_citizen_data": "本人数据（我的）",
    },
    detail_keys={
        "phone": "手机号码（脱敏）",
        "match": "核验一致",
        "attempts": "尝试次数",
        "scope": "授权范围",
        "count": "条数",
        "fields": "信息项",
        "person": "人口库记录",
        "licences": "电子证照条数",
        "applications": "办件条数",
    },
    detail_values={"scope": {"prefill": "办事预填", "lookup:gjj": "查询住房公积金", "lookup:wz": "查询机动车违章"}},
)
