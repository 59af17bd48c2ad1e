"""Names of 商铺店面's audit actions and object types (see ``zhixian.labels``)."""

from __future__ import annotations

from zhixian.labels import Labels

LABELS = Labels(
    subsystem="storefronts",
    audit_actions={"storefronts.shop_create": "登记商铺"},
    object_types={"sf_shop": "商铺"},
    object_links={"sf_shop": "/storefronts/{id}"},
    detail_keys={"uscc": "统一社会信用代码"},
)
