"""Settings the catalogue declares (read with ``Settings.declared``; listed on its Subsystem)."""

from __future__ import annotations

from zhixian.settings import Setting

GENERAL_LEVELS = Setting(
    "catalog",
    "general_levels",
    int,
    4,
    "一般数据细分的敏感级别数（GB/T 43697-2024 附录 H，由本县确认）",
    ge=1,
    le=9,
)

SETTINGS = [GENERAL_LEVELS]
