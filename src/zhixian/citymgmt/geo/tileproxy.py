"""Tiles from an online service, fetched by the server (the key stays here) and kept in a disk cache.

Every fetch goes through ``platform.outbound`` (no loopback, link-local or the platform itself unless
allow-listed), is bounded in time and size, and at most ``map_tile_fetch_concurrency`` run at once:
a hung tile server ties up a few worker threads, never the whole pool. The cache is plain files under
``<tiles dir>/cache/<service fingerprint>/``; past ``map_tile_cache_mb`` the oldest files go first.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import httpx

from zhixian.citymgmt.geo.basemap import Active, sample_url, tiles_dir
from zhixian.platform import outbound
from zhixian.settings import Settings

log = logging.getLogger(__name__)

MAX_TILE_BYTES = 2 * 1024 * 1024
_PRUNE_EVERY = 200  # writes between checks of the cache's size


class TileUnavailable(Exception):
    """The service did not give a tile; the message (Chinese, no key) is for the settings page."""


class NoTile(Exception):
    """The service has no tile there (404): an empty spot on the map, not a failure."""


@dataclass
class _State:
    lock: threading.Lock
    slots: threading.BoundedSemaphore
    clients: dict[tuple[str, ...], httpx.Client]
    writes: int = 0
    last_error: str = ""


_STATES: dict[int, _State] = {}
_STATES_LOCK = threading.Lock()


def _state(settings: Settings) -> _State:
    with _STATES_LOCK:
        state = _STATES.get(id(settings))
        if state is None:
            state = _State(threading.Lock(), threading.BoundedSemaphore(settings.map_tile_fetch_concurrency), {})
            _STATES[id(settings)] = state
        return state


def last_error(settings: Settings) -> str:
    return _state(settings).last_error


def cache_dir(settings: Settings, basemap: Active, layer: str) -> Path:
    """Per service (template and key), so a changed key or address never serves another service's tiles."""
    ident = hashlib.sha256(f"{basemap.urls.get(layer, '')}|{basemap.key}|{basemap.subdomains}".encode()).hexdigest()
    return tiles_dir(settings) / "cache" / ident[:16]


def _client(state: _State, settings: Settings) -> httpx.Client:
    policy = outbound.Policy.of(settings)
    key = (*settings.outbound_allow_networks, str(settings.map_tile_timeout_seconds))
    with state.lock:
        client = state.clients.get(key)
        if client is None:
            client = outbound.http_client(
                policy, timeout=settings.map_tile_timeout_seconds, headers={"User-Agent": "zhixian-basemap/1"}
            )
            state.clients[key] = client
        return client


def _prune(root: Path, limit_bytes: int) -> None:
    """Deletes the least recently written tiles until the cache is under 80% of its limit."""
    files = []
    total = 0
    for path in root.rglob("*.tile"):
        try:
            stat = path.stat()
        except OSError:
            continue
        files.append((stat.st_mtime, stat.st_size, path))
        total += stat.st_size
    if total <= limit_bytes:
        return
    files.sort()
    for _, size, path in files:
        if total <= limit_bytes * 0.8:
            break
        try:
            path.unlink()
            total -= size
        except OSError:
            continue


def fetch(settings: Settings, basemap: Active, layer: str, z: int, x: int, y: int) -> tuple[bytes, str]:
    """(tile bytes, content type) from the cache or the service; TileUnavailable otherwise."""
    template = basemap.urls.get(layer, "")
    if not template:
        raise NoTile
    limit = settings.map_tile_cache_mb * 1024 * 1024
    folder = cache_dir(settings, basemap, layer) / str(z) / str(x)
    cached = folder / f"{y}.tile"
    if limit and cached.exists():
        data = cached.read_bytes()
        kind = _sniff(data)
        if kind:
            return data, kind
    state = _state(settings)
    if not state.slots.acquire(timeout=2):
        raise TileUnavailable("瓦片服务请求过多，请稍后")
    try:
        url = httpx.URL(sample_url(template, basemap.subdomains, basemap.key, z, x, y))
        policy = outbound.Policy.of(settings)
        try:  # outbound.get sets the query from params: hand it the template's own
            got = outbound.get(
                _client(state, settings),
                str(url.copy_with(query=None)),
                params=dict(url.params.multi_items()),
                timeout=settings.map_tile_timeout_seconds,
                policy=policy,
            )
        except (outbound.Failed, outbound.Refused) as exc:
            state.last_error = f"瓦片服务无法访问：{exc}"
            raise TileUnavailable(state.last_error) from None
    finally:
        state.slots.release()
    if got.status_code in (204, 404):
        raise NoTile
    kind = _sniff(got.content)
    if got.status_code != 200 or kind is None or len(got.content) > MAX_TILE_BYTES:
        # 天地图 answers a wrong or exhausted key with an error page, sometimes with status 200
        state.last_error = f"瓦片服务返回 HTTP {got.status_code}，内容不是图片（请检查地址模板与服务密钥）"
        raise TileUnavailable(state.last_error)
    state.last_error = ""
    if limit:
        _store(state, folder, cached, got.content, limit, settings)
    return got.content, kind


def _store(state: _State, folder: Path, path: Path, data: bytes, limit: int, settings: Settings) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{threading.get_ident()}.part")
        partial.write_bytes(data)
        partial.replace(path)  # readers never see half a tile
    except OSError as exc:
        log.warning("tile cache not written: %s", exc)
        return
    with state.lock:
        state.writes += 1
        due = state.writes % _PRUNE_EVERY == 0
    if due:
        _prune(tiles_dir(settings) / "cache", limit)


def _sniff(data: bytes) -> str | None:
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data.startswith(b"\xff\xd8"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None
