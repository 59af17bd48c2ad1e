"""Local basemap files: MBTiles (SQLite, the common offline format) and PMTiles (Protomaps' single-file
archive, read with its own ``pmtiles`` reader), served tile by tile without a separate tile server.

Only raster tiles (PNG, JPEG, WebP) are served: Leaflet draws images; a vector archive (pbf/MVT) is
refused with a message saying so. A file is chosen by its name inside the configured tiles directory,
never by a path, so a setting cannot point the server at another file on the machine.
"""

from __future__ import annotations

import os
import re
import sqlite3
import threading
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from pmtiles import reader as _pmtiles_reader
from pmtiles.tile import Compression, TileType

FILE_NAME = re.compile(r"^[\w\u4e00-\u9fff][\w\u4e00-\u9fff .()-]{0,120}\.(mbtiles|pmtiles)$")
MAX_ZOOM = 22
CONTENT_TYPES = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp"}
_PM_TYPES = {TileType.PNG: "png", TileType.JPEG: "jpg", TileType.WEBP: "webp"}


class TileFileError(ValueError):
    """A tiles file that cannot serve this map; the message is Chinese and names the file."""


@dataclass(frozen=True)
class TileFile:
    name: str
    kind: str  # mbtiles / pmtiles
    format: str  # png / jpg / webp
    min_zoom: int
    max_zoom: int
    bounds: tuple[float, float, float, float] | None  # west, south, east, north
    title: str
    attribution: str
    size_bytes: int

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.format]


def resolve(directory: Path, name: str) -> Path:
    """The file of that name directly inside ``directory``; TileFileError for anything else."""
    if not FILE_NAME.fullmatch(name or ""):
        raise TileFileError("底图文件名无效：只能选择瓦片目录中的 .mbtiles 或 .pmtiles 文件")
    path = directory / name
    try:
        real = path.resolve(strict=True)
    except (OSError, RuntimeError):
        raise TileFileError(f"瓦片目录中没有文件“{name}”") from None
    if real.parent != directory.resolve() or not real.is_file():
        raise TileFileError(f"“{name}”不是瓦片目录中的普通文件")
    return real


def _sniff(data: bytes) -> str | None:
    if data.startswith(b"\x89PNG"):
        return "png"
    if data.startswith(b"\xff\xd8"):
        return "jpg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def _bounds(text: str) -> tuple[float, float, float, float] | None:
    try:
        w, s, e, n = (float(v) for v in text.split(","))
    except ValueError:
        return None
    if -180 <= w < e <= 180 and -90 <= s < n <= 90:
        return (w, s, e, n)
    return None


def _open_mbtiles(path: Path) -> sqlite3.Connection:
    # read-only: the platform never writes a county's basemap file
    return sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, check_same_thread=False)


def _describe_mbtiles(path: Path) -> TileFile:
    try:
        with closing(_open_mbtiles(path)) as conn:
            meta = {str(k): str(v) for k, v in conn.execute("SELECT name, value FROM metadata").fetchall()}
            zooms = conn.execute("SELECT min(zoom_level), max(zoom_level) FROM tiles").fetchone()
            first = conn.execute("SELECT tile_data FROM tiles LIMIT 1").fetchone()
    except sqlite3.Error as exc:
        raise TileFileError(f"“{path.name}”不是有效的 MBTiles 文件（{exc}）") from None
    if zooms is None or zooms[0] is None or first is None:
        raise TileFileError(f"“{path.name}”中没有任何瓦片")
    fmt = meta.get("format", "").lower() or (_sniff(bytes(first[0])) or "")
    if fmt in ("pbf", "mvt") or (not fmt and bytes(first[0])[:2] == b"\x1f\x8b"):
        raise TileFileError(f"“{path.name}”是矢量瓦片（pbf），本平台地图只显示栅格瓦片（png/jpg/webp）")
    if fmt not in CONTENT_TYPES:
        raise TileFileError(f"“{path.name}”的瓦片格式“{fmt or '未知'}”不受支持，应为 png、jpg 或 webp")
    return TileFile(
        name=path.name,
        kind="mbtiles",
        format="jpg" if fmt == "jpeg" else fmt,
        min_zoom=int(meta["minzoom"]) if meta.get("minzoom", "").isdigit() else int(zooms[0]),
        max_zoom=int(meta["maxzoom"]) if meta.get("maxzoom", "").isdigit() else int(zooms[1]),
        bounds=_bounds(meta.get("bounds", "")),
        title=meta.get("name", "")[:100],
        attribution=meta.get("attribution", "")[:200],
        size_bytes=path.stat().st_size,
    )


_PM: Any = _pmtiles_reader  # the pmtiles package is untyped
_PM_LOCK = threading.Lock()
_PM_OPEN: dict[str, tuple[tuple[int, int], IO[bytes], Any]] = {}


def _pmtiles(path: Path) -> Any:
    """One memory-mapped reader per file, reopened when the file is replaced."""
    stat = path.stat()
    stamp = (stat.st_mtime_ns, stat.st_size)
    key = str(path)
    with _PM_LOCK:
        cached = _PM_OPEN.get(key)
        if cached is not None and cached[0] == stamp:
            return cached[2]
        if cached is not None:
            cached[1].close()
        handle = path.open("rb")
        try:
            reader = _PM.Reader(_PM.MmapSource(handle))
        except (OSError, ValueError) as exc:
            handle.close()
            raise TileFileError(f"“{path.name}”无法读取（{exc}）") from None
        _PM_OPEN[key] = (stamp, handle, reader)
        return reader


def _describe_pmtiles(path: Path) -> TileFile:
    try:
        reader = _pmtiles(path)
        header: dict[str, Any] = reader.header()
        meta = reader.metadata()
    except TileFileError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure is recorded and the loop goes on
        raise TileFileError(f"“{path.name}”不是有效的 PMTiles 文件（{type(exc).__name__}）") from None
    fmt = _PM_TYPES.get(header.get("tile_type"))  # type: ignore[arg-type]
    if header.get("tile_type") == TileType.MVT:
        raise TileFileError(f"“{path.name}”是矢量瓦片（MVT），本平台地图只显示栅格瓦片（png/jpg/webp）")
    if fmt is None:
        raise TileFileError(f"“{path.name}”的瓦片格式不受支持，应为 png、jpg 或 webp")
    if header.get("tile_compression") not in (Compression.NONE, Compression.UNKNOWN):
        raise TileFileError(f"“{path.name}”的瓦片经过压缩，栅格瓦片应不压缩存放")
    bounds = _bounds(
        ",".join(str(header.get(k, 0) / 1e7) for k in ("min_lon_e7", "min_lat_e7", "max_lon_e7", "max_lat_e7"))
    )
    return TileFile(
        name=path.name,
        kind="pmtiles",
        format=fmt,
        min_zoom=int(header.get("min_zoom", 0)),
        max_zoom=int(header.get("max_zoom", MAX_ZOOM)),
        bounds=bounds,
        title=str(meta.get("name", "") if isinstance(meta, dict) else "")[:100],
        attribution=str(meta.get("attribution", "") if isinstance(meta, dict) else "")[:200],
        size_bytes=path.stat().st_size,
    )


_DESCRIBED: dict[tuple[str, int, int], TileFile] = {}


def describe(directory: Path, name: str) -> TileFile:
    """What the file holds; remembered until the file changes (every tile asks for its content type)."""
    path = resolve(directory, name)
    stat = path.stat()
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    found = _DESCRIBED.get(key)
    if found is None:
        found = _describe_pmtiles(path) if path.suffix == ".pmtiles" else _describe_mbtiles(path)
        if len(_DESCRIBED) > 256:
            _DESCRIBED.clear()
        _DESCRIBED[key] = found
    return found


@dataclass(frozen=True)
class Listed:
    name: str
    file: TileFile | None
    problem: str  # why the file can't be used, or ""


def list_files(directory: Path) -> list[Listed]:
    """Every tiles file in the directory, each with what it holds or why it can't be used."""
    if not directory.is_dir():
        return []
    out = []
    for entry in sorted(os.scandir(directory), key=lambda e: e.name):
        if not entry.name.endswith((".mbtiles", ".pmtiles")) or not entry.is_file():
            continue
        try:
            out.append(Listed(entry.name, describe(directory, entry.name), ""))
        except TileFileError as exc:
            out.append(Listed(entry.name, None, str(exc)))
    return out[:200]


def read_tile(directory: Path, name: str, z: int, x: int, y: int) -> bytes | None:
    """One tile in XYZ numbering (as Leaflet asks), or None where the file has none."""
    path = resolve(directory, name)
    if path.suffix == ".pmtiles":
        data = _pmtiles(path).get(z, x, y)
        return bytes(data) if data else None
    tms_y = (1 << z) - 1 - y  # MBTiles rows count from the south
    try:
        with closing(_open_mbtiles(path)) as conn:
            row = conn.execute(
                "SELECT tile_data FROM tiles WHERE zoom_level = ? AND tile_column = ? AND tile_row = ?",
                (z, x, tms_y),
            ).fetchone()
    except sqlite3.Error as exc:
        raise TileFileError(f"“{name}”读取失败（{exc}）") from None
    return bytes(row[0]) if row and row[0] else None
