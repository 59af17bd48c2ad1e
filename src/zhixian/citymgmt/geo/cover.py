"""Grid covers: squares of a chosen size clipped to a boundary and numbered as the standard says, and
overlap checks between grids."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import shapely
from shapely.geometry import box, mapping

from zhixian.citymgmt.geo.index import area_m2, polygonal
from zhixian.errors import Invalid


@dataclass
class OverlapReport:
    pairs: list[tuple[int, int, float]]  # (i, j, overlap m²)
    checks: int  # candidate pairs whose intersection was computed
    complete: bool  # False: stopped early, more overlaps may exist


def overlaps(geoms: list[Any], *, tolerance_m2: float = 1.0, max_pairs: int = 50) -> OverlapReport:
    """Pairs whose interiors share more than the tolerance, found through an STRtree.

    The tree alone is not enough: 1,500 squares stacked on each other are a million candidate
    pairs. A real grid layer has a handful of neighbours per grid, so the work is capped at
    ``16 n`` intersections and ``max_pairs`` overlaps; past either the caller refuses the file.
    """
    pairs: list[tuple[int, int, float]] = []
    checks = 0
    if len(geoms) < 2:
        return OverlapReport(pairs, checks, complete=True)
    budget = 16 * len(geoms) + 100
    tree = shapely.STRtree(geoms)
    for i, geom in enumerate(geoms):
        for j in tree.query(geom, predicate="intersects").tolist():
            if j <= i:
                continue
            checks += 1
            shared = area_m2(geom.intersection(geoms[j]))
            if shared > tolerance_m2:
                pairs.append((i, j, shared))
            if len(pairs) >= max_pairs or checks >= budget:
                return OverlapReport(pairs, checks, complete=False)
    return OverlapReport(pairs, checks, complete=True)


# --- grid cover for a boundary


def grid_cover(boundary: Any, *, size_m: float, max_cells: int = 999) -> list[Any]:
    """Squares of ``size_m`` clipped to the boundary, ordered north→south then west→east.

    The order is the standard's numbering inside a community, so index + 1 is the sequence.
    """
    if size_m <= 0 or not math.isfinite(size_m):
        raise Invalid("网格边长必须是正数", field="size_m")
    minx, miny, maxx, maxy = boundary.bounds
    lat = (miny + maxy) / 2
    dx = size_m / (111_320.0 * math.cos(math.radians(lat)))
    dy = size_m / 110_540.0
    cols = max(1, math.ceil((maxx - minx) / dx))
    rows = max(1, math.ceil((maxy - miny) / dy))
    if cols * rows > max_cells * 50:
        raise Invalid(f"网格过多（约 {cols * rows} 个），请加大网格边长", field="size_m")
    prepared = boundary
    shapely.prepare(prepared)
    cells = []
    for r in range(rows):
        top = maxy - r * dy
        for c in range(cols):
            left = minx + c * dx
            square = box(left, top - dy, left + dx, top)
            if not prepared.intersects(square):
                continue
            piece = polygonal(square.intersection(boundary)) if not prepared.contains(square) else square
            if piece is None or piece.is_empty or area_m2(piece) < 1.0:
                continue
            cells.append(piece)
    if len(cells) > max_cells:
        raise Invalid(
            f"一个社区最多 {max_cells} 个网格，当前边长会生成 {len(cells)} 个，请加大网格边长", field="size_m"
        )
    return cells


def geojson_feature(geom: Any, **props: Any) -> dict[str, Any]:
    return {"type": "Feature", "properties": props, "geometry": mapping(geom)}
