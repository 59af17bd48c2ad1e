"""数字城管 (一网统管): grids, components and events, one case hub, evaluation, per GB/T 30428."""

from __future__ import annotations

from zhixian.subsystems import Subsystem

subsystem = Subsystem(
    code="citymgmt",
    name="数字城管",
    kind="core",
    description="单元网格、部件事件、案件受理派遣处置核查、综合评价、监督指挥",
    standard="GB/T 30428.1–.8",
)
