"""商铺店面 (storefronts): shops, 门前三包 zones, and cases linked to shops — an optional extension."""

from __future__ import annotations

from zhixian.subsystems import Subsystem

subsystem = Subsystem(
    code="storefronts",
    name="商铺店面",
    kind="extension",
    description="商铺与门前三包责任区；商铺相关案件关联并通知联系人",
    depends_on=("platform", "citymgmt"),
)
