"""Settings 视频共享 declares (env ``ZHIXIAN_PERCEPTION_<NAME>``, like the sensor half's)."""

from __future__ import annotations

from typing import Any

from zhixian.settings import Setting

P = "perception"

PLAY_TOKEN_SECONDS = Setting(
    P, "play_token_seconds", int, 120, "视频播放令牌的有效期（秒）：媒体服务器须在此时间内开始播放", ge=10, le=3600
)
PLAY_URL = Setting(
    P,
    "play_url",
    str,
    "/media/{app}/{stream}/hls.m3u8?token={token}",
    "播放地址模板（{app} {stream} {token}），指向 ZLMediaKit 或 MediaMTX；媒体服务器回调平台鉴权",
)
EVENT_DEDUP_MINUTES = Setting(
    P, "event_dedup_minutes", int, 30, "同一摄像机同类视频分析事件在多少分钟内只立一案", ge=1, le=1440
)

CAMERA_SETTINGS: list[Setting[Any]] = [PLAY_TOKEN_SECONDS, PLAY_URL, EVENT_DEDUP_MINUTES]
