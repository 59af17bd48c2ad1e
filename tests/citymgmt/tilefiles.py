"""Small basemap files made in the test: MBTiles (sqlite3 with PNG tiles drawn by Pillow) and PMTiles
(converted by the pmtiles package), so the tile route is tried on real files of both kinds."""

from __future__ import annotations

import io
import math
import sqlite3
from collections.abc import Iterable
from pathlib import Path

from PIL import Image, ImageDraw


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    """XYZ (web Mercator, as Leaflet numbers tiles) of a point."""
    n = 1 << z
    x = int((lon + 180.0) / 360.0 * n)
    rad = math.radians(lat)
    y = int((1.0 - math.asinh(math.tan(rad)) / math.pi) / 2.0 * n)
    return min(max(x, 0), n - 1), min(max(y, 0), n - 1)


def tiles_over(bounds: tuple[float, float, float, float], zooms: Iterable[int]) -> list[tuple[int, int, int]]:
    west, south, east, north = bounds
    out = []
    for z in zooms:
        x0, y0 = tile_of(west, north, z)
        x1, y1 = tile_of(east, south, z)
        out += [(z, x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]
    return out


def draw_tile(z: int, x: int, y: int) -> bytes:
    """A light map-like tile: land colour, a road grid whose density grows with zoom, a label."""
    img = Image.new("RGB", (256, 256), (242, 239, 233))
    d = ImageDraw.Draw(img)
    step = max(32, 256 >> max(0, z - 10))
    for i in range(0, 256, step):
        d.line([(i + (y % 3) * 7, 0), (i + (y % 3) * 7, 255)], fill=(255, 255, 255), width=3)
        d.line([(0, i + (x % 3) * 5), (255, i + (x % 3) * 5)], fill=(255, 255, 255), width=3)
    if (x + y) % 4 == 0:
        d.rectangle([40, 150, 110, 210], fill=(205, 229, 194))  # a park
    if (x * 7 + y) % 5 == 0:
        d.line([(0, 200), (255, 60)], fill=(170, 211, 223), width=8)  # a river
    buf = io.BytesIO()
    img.save(buf, "PNG", optimize=True)
    return buf.getvalue()


def make_mbtiles(
    path: Path,
    bounds: tuple[float, float, float, float],
    zooms: Iterable[int],
    *,
    fmt: str = "png",
    name: str = "测试底图",
) -> dict[tuple[int, int, int], bytes]:
    """Writes the file and returns the tiles it holds by XYZ (MBTiles itself stores TMS rows)."""
    zooms = list(zooms)
    made: dict[tuple[int, int, int], bytes] = {}
    conn = sqlite3.connect(path)
    try:
        conn.execute("CREATE TABLE metadata (name TEXT, value TEXT)")
        conn.execute("CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB)")
        meta = {
            "name": name,
            "format": fmt,
            "minzoom": str(min(zooms)),
            "maxzoom": str(max(zooms)),
            "bounds": ",".join(str(v) for v in bounds),
            "attribution": "测试底图 © 本县",
        }
        conn.executemany("INSERT INTO metadata VALUES (?, ?)", list(meta.items()))
        for z, x, y in tiles_over(bounds, zooms):
            data = draw_tile(z, x, y) if fmt == "png" else b"\x1f\x8b vector tile"
            made[(z, x, y)] = data
            conn.execute("INSERT INTO tiles VALUES (?, ?, ?, ?)", (z, x, (1 << z) - 1 - y, data))
        conn.commit()
    finally:
        conn.close()
    return made


def make_pmtiles(mbtiles: Path, target: Path) -> None:
    from pmtiles.convert import mbtiles_to_pmtiles

    mbtiles_to_pmtiles(str(mbtiles), str(target), maxzoom=None)
