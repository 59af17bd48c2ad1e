"""Settings of change-feed pushes (read with ``Settings.declared``; listed on the exchange's Subsystem)."""

from __future__ import annotations

from typing import Any

from zhixian.settings import Setting

WEBHOOK_TIMEOUT = Setting(
    "exchange", "webhook_timeout_seconds", float, 10.0, "推送一次等待接收方应答的最长秒数", ge=0.5, le=120
)
RETRY_BASE = Setting(
    "exchange", "webhook_retry_base_seconds", int, 30, "推送失败后第一次重试的间隔秒数（此后每次加倍）", ge=1, le=3600
)
RETRY_CAP = Setting(
    "exchange", "webhook_retry_cap_seconds", int, 3600, "推送重试间隔的上限秒数（一直重试，不会丢弃）", ge=1, le=86_400
)
MAX_PENDING = Setting(
    "exchange",
    "webhook_max_pending",
    int,
    1000,
    "每个订阅在发件箱中最多排队的批次（其余留在变更日志中）",
    ge=1,
    le=100_000,
)

SETTINGS: list[Setting[Any]] = [WEBHOOK_TIMEOUT, RETRY_BASE, RETRY_CAP, MAX_PENDING]
