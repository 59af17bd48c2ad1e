"""Settings 数字城管 declares (read with ``Settings.declared``; listed on its Subsystem)."""

from __future__ import annotations

from zhixian.settings import Setting

DEMO_CASES = Setting(
    "citymgmt",
    "demo_cases",
    int,
    6000,
    "生成演示县时造出的历史案件数（0 表示不生成；测试与基准用较小的数）",
    ge=0,
    le=5_000_000,
)

SETTINGS = [DEMO_CASES]
