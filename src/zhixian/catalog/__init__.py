"""政务信息资源目录: the county's government data resource catalogue and business-system registry."""

from __future__ import annotations

from zhixian.subsystems import Subsystem

subsystem = Subsystem(
    code="catalog",
    name="资源目录",
    kind="core",
    description="业务系统台账、政务信息资源目录（编制、审核、发布、检索、上报）",
    standard="政务信息资源目录编制指南（试行）、GB/T 21063、GB/T 43697-2024",
)
