"""Map routes: the basemap (setting, what a map is told, the tiles themselves) and the map's data layers
(case heat, case points, gazetteer), each scoped and bounded."""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Annotated, Any

from anyio.to_thread import run_sync
from fastapi import APIRouter, Depends, Path, Query, Request, Response

from zhixian.citymgmt.geo import basemap, casemap, tileproxy, tiles
from zhixian.db import Database
from zhixian.platform.actor import Actor
from zhixian.settings import Settings
from zhixian.web.auth import Public, Require, Signed
from zhixian.web.deps import SessionDep

router = APIRouter(tags=["数字城管"])
Configurer = Annotated[Actor, Depends(Require("citymgmt.config"))]
TILE_MAX_AGE = 86_400  # the URL carries the basemap's version, so a changed basemap is a new URL


# --- the basemap setting (write-only key)


@router.get("/api/v1/citymgmt/basemap", summary="地图底图设置（服务密钥只显示是否已设置及指纹）")
def basemap_setting(request: Request, session: SessionDep, actor: Configurer) -> dict[str, Any]:
    settings: Settings = request.app.state.settings
    directory = basemap.tiles_dir(settings)
    return {
        **basemap.shown(session),
        "tiles_dir": str(directory),
        "files": [
            {"name": f.name, "usable": f.file is not None, "problem": f.problem} for f in tiles.list_files(directory)
        ],
        "presets": basemap.PRESETS,
        "last_error": tileproxy.last_error(settings),
    }


@router.put("/api/v1/citymgmt/basemap", summary="修改地图底图（在线瓦片服务或本地瓦片文件；密钥只写）")
def basemap_save(data: basemap.BasemapIn, request: Request, session: SessionDep, actor: Configurer) -> dict[str, Any]:
    state = request.app.state
    return basemap.save(session, actor=actor, data=data, cipher=state.cipher, settings=state.settings)


@router.get("/api/v1/citymgmt/map/basemap", summary="地图使用的底图（平台瓦片地址，不含服务地址与密钥）")
def map_basemap(request: Request, response: Response, session: SessionDep, actor: Signed) -> dict[str, Any]:
    """Also hands the browser its tile ticket (a cookie only the tile route reads)."""
    state = request.app.state
    active = basemap.active(session, state.cipher, state.settings)
    if active.layers:
        settings: Settings = state.settings
        value, max_age = basemap.ticket(settings.effective_secret_key, actor.user_id)
        secure = settings.cookie_secure == "always" or (
            settings.cookie_secure == "auto" and request.url.scheme == "https"
        )
        response.set_cookie(  # scoped to the tiles: no other route ever sees it
            basemap.TICKET_COOKIE,
            value,
            max_age=max_age,
            path=basemap.TICKET_PATH,
            httponly=True,
            secure=secure,
            samesite="strict",
        )
    return basemap.view(active)


def _load_active(database: Database, request: Request) -> basemap.Active:
    state = request.app.state
    with database.sessionmaker() as session:
        try:
            return basemap.active(session, state.cipher, state.settings)
        finally:
            session.rollback()


async def _active_for(request: Request, version: int) -> basemap.Active:
    """The basemap of that version from this worker's cache, else one short read taken in turn at the gate."""
    database: Database = request.app.state.db
    found = basemap.cached(str(database.engine.url), version)
    if found is not None:
        return found
    gate = database.request_gate()
    if gate is not None:
        await gate.acquire()
    try:
        return await run_sync(_load_active, database, request)
    finally:
        if gate is not None:
            gate.release()


def _tile_bytes(settings: Settings, active: basemap.Active, layer: str, z: int, x: int, y: int) -> tuple[bytes, str]:
    """(bytes, content type), empty where the source has no tile; raises when the source fails."""
    if active.kind == "file":
        directory = basemap.tiles_dir(settings)
        data = tiles.read_tile(directory, active.files[layer], z, x, y)
        return (data, tiles.describe(directory, active.files[layer]).content_type) if data else (b"", "")
    try:
        return tileproxy.fetch(settings, active, layer, z, x, y)
    except tileproxy.NoTile:
        return b"", ""


@router.get("/citymgmt/basemap/tiles/{layer}/{z}/{x}/{y}", include_in_schema=False, dependencies=[Public])
async def tile(
    request: Request,
    layer: Annotated[str, Path(pattern="^(base|labels)$")],
    z: Annotated[int, Path(ge=0, le=tiles.MAX_ZOOM)],
    x: Annotated[int, Path(ge=0, le=2**tiles.MAX_ZOOM - 1)],
    y: Annotated[int, Path(ge=0, le=2**tiles.MAX_ZOOM - 1)],
    v: Annotated[int, Query(ge=0, lt=2**31)] = 0,
) -> Response:
    """One tile. Authorised by the signed ticket cookie, not the session: no database work per tile."""
    settings: Settings = request.app.state.settings
    if not basemap.ticket_valid(settings.effective_secret_key, request.cookies.get(basemap.TICKET_COOKIE)):
        return Response(status_code=401, headers={"Cache-Control": "no-store"})
    active = await _active_for(request, v)
    caching = f"private, max-age={TILE_MAX_AGE}" if active.version == v else "no-store"
    data, kind = b"", ""
    if layer in active.layers and active.min_zoom <= z <= active.max_zoom and x < 1 << z and y < 1 << z:
        try:
            data, kind = await run_sync(_tile_bytes, settings, active, layer, z, x, y)
        except (tiles.TileFileError, tileproxy.TileUnavailable):
            return Response(status_code=502, headers={"Cache-Control": "no-store"})
    if not data:
        return Response(status_code=404, headers={"Cache-Control": caching})
    etag = '"' + hashlib.blake2b(data, digest_size=12).hexdigest() + '"'
    headers = {"Cache-Control": caching, "ETag": etag}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(data, media_type=kind, headers=headers)


# --- the map's data layers


@router.get("/api/v1/citymgmt/map/heat", summary="案件热力（约 50 米一格计数；本人可见的案件）")
def map_heat(
    session: SessionDep,
    actor: Signed,
    from_: Annotated[date | None, Query(alias="from", description="开始日期（含），默认近 30 天")] = None,
    to: Annotated[date | None, Query(description="结束日期（含），默认今天")] = None,
    status: Annotated[str | None, Query(pattern="^(all|open|closed)?$")] = None,
) -> dict[str, Any]:
    return casemap.heat(session, actor=actor, span=casemap.period(from_, to, status))


@router.get("/api/v1/citymgmt/map/points", summary="地图范围内的案件点位（最多 500 个，最新优先）")
def map_points(
    session: SessionDep,
    actor: Signed,
    bbox: Annotated[str, Query(max_length=120, description="西,南,东,北（WGS84 经纬度）")],
    from_: Annotated[date | None, Query(alias="from")] = None,
    to: Annotated[date | None, Query()] = None,
    status: Annotated[str | None, Query(pattern="^(all|open|closed)?$")] = None,
) -> dict[str, Any]:
    extent = casemap.required_extent(bbox)
    return casemap.points(session, actor=actor, span=casemap.period(from_, to, status), bbox=extent)


@router.get("/api/v1/citymgmt/map/addresses", summary="地图范围内的标准地址（地名地址图层，最多 300 个）")
def map_addresses(session: SessionDep, actor: Signed, bbox: Annotated[str, Query(max_length=120)]) -> dict[str, Any]:
    extent = casemap.required_extent(bbox)
    return casemap.addresses(session, bbox=extent)
