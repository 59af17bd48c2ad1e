"""Settings 视频共享 declares (env ``ZHIXIAN_PERCEPTION_<NAME>``, like the sensor half's)."""

from __future__ import annotations

from typing import Any

from zhixian.settings import Setting, networks_problem

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
MEDIA_SERVER_NETWORKS = Setting(
    P,
    "media_server_networks",
    str,
    "127.0.0.1/32,::1/128",
    "可调用播放鉴权回调（ZLMediaKit on_play、MediaMTX 认证）的媒体服务器地址段，逗号分隔",
    check=networks_problem,
)

CAMERA_SETTINGS: list[Setting[Any]] = [PLAY_TOKEN_SECONDS, PLAY_URL, EVENT_DEDUP_MINUTES, MEDIA_SERVER_NETWORKS]
