"""Planning grid covers before anything is written: which communities, which squares, what overlaps.

A cover is planned for a community, a street or the whole county, optionally inside an uploaded
outline that is split by the communities' boundaries. Each community's piece is checked against
every grid that will still exist (other communities', and its own unless replaced) and against the
other pieces of the same plan: an overlap is refused with its area and the communities it touches,
or clipped away if the user chose so. A community needing more than 999 squares (the code's three
digits) gets a cell size that fits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import shapely
from shapely.geometry import mapping
from sqlalchemy import select
from sqlalchemy.orm import Session

from zhixian.citymgmt.geo.cover import grid_cover
from zhixian.citymgmt.geo.index import area_m2, index, polygonal
from zhixian.citymgmt.models import Area, Grid
from zhixian.errors import FieldError, Invalid
from zhixian.platform import service as platform

MAX_SEQUENCE = 999  # the grid code's last three digits
MAX_CELLS_PER_RUN = 30_000
PREVIEW_MAX_CELLS = 3_000
OVERLAP_TOLERANCE_M2 = 1.0
Overlap = Literal["refuse", "clip"]


@dataclass
class CommunityPlan:
    code: str
    name: str
    street_code: str
    piece: Any = None  # the area to cover (boundary ∩ outline, minus clipped overlaps)
    cells: list[Any] = field(default_factory=list)
    start: int = 1
    replaced: int = 0
    kept: int = 0
    overlap_m2: float = 0.0
    overlap_with: dict[str, int] = field(default_factory=dict)  # community code → grids touched
    clipped_m2: float = 0.0
    needed: int = 0
    suggested_size_m: int | None = None
    problem: str = ""  # why this community can't be generated as asked
    notice: str = ""  # something to know that doesn't stop it
    boundary_from_outline: bool = False
    blocking: list[Any] = field(default_factory=list)  # the grids it overlaps, for the preview map


@dataclass
class CoverPlan:
    scope_code: str
    scope_name: str
    size_m: float
    replace: bool
    overlap: Overlap
    communities: list[CommunityPlan]
    outline: Any = None
    outside_m2: float = 0.0
    outside: Any = None
    problem: str = ""

    @property
    def cells(self) -> int:
        return sum(len(c.cells) for c in self.communities)

    @property
    def ok(self) -> bool:
        return not self.problem and not any(c.problem for c in self.communities) and self.cells > 0

    def errors(self) -> list[FieldError]:
        out = [FieldError(self.problem, field="scope")] if self.problem else []
        for c in self.communities:
            if c.problem:
                out.append(FieldError(f"{c.name}（{c.code}）：{c.problem}", field=_field_of(c)))
        return out


def _field_of(c: CommunityPlan) -> str:
    if c.needed > MAX_SEQUENCE - c.start + 1:
        return "size_m"
    return "overlap" if c.overlap_m2 else "scope"


def suggest_size(piece: Any, capacity: int, size_m: float) -> tuple[int, int] | None:
    """The smallest round size (10 m steps) whose cover fits ``capacity`` squares, and its count."""
    if capacity <= 0:
        return None
    area = area_m2(piece)
    size = max(size_m, math.ceil(math.sqrt(area / capacity) / 10) * 10)
    for _ in range(40):
        try:
            count = len(grid_cover(piece, size_m=size, max_cells=10**9))
        except Invalid:
            count = capacity + 1
        if count <= capacity:
            return int(size), count
        size = math.ceil(size * 1.08 / 10) * 10
    return None


def _scope(session: Session, scope_code: str) -> tuple[str, list[Any]]:
    """(scope name, the communities it holds) for a community, a street or the county."""
    divisions = platform.list_divisions(session)
    by_code = {d.code: d for d in divisions}
    chosen = by_code.get(scope_code)
    if chosen is None:
        raise Invalid("范围不存在：请选择本县的社区、街道（乡镇）或全县", field="scope")
    if chosen.level == "village":
        return chosen.name, [chosen]
    if chosen.level == "town":
        return chosen.name, [d for d in divisions if d.level == "village" and d.parent_code == chosen.code]
    return chosen.name, [d for d in divisions if d.level == "village"]


def plan(  # noqa: C901, PLR0912, PLR0915 - one pass per community, each check in its own short branch
    session: Session,
    *,
    scope_code: str,
    size_m: float,
    replace: bool,
    overlap: Overlap,
    outline: Any = None,
) -> CoverPlan:
    """Everything a cover would do, computed without writing: the preview and the checks before saving."""
    if not (math.isfinite(size_m) and 20 < size_m <= 5000):
        raise Invalid("网格边长应在 20～5000 米之间", field="size_m")
    scope_name, villages = _scope(session, scope_code)
    codes = [v.code for v in villages]
    boundaries = {
        a.division_code: a.wkt
        for a in session.execute(select(Area).where(Area.division_code.in_(codes), Area.level == "village")).scalars()
    }
    result = CoverPlan(scope_code, scope_name, size_m, replace, overlap, [], outline=outline)
    taken: list[Any] = []  # pieces already planned in this run: communities may not overlap each other
    geo_index = index(session)
    existing: dict[str, list[int]] = {}
    for code in codes:
        rows = session.execute(select(Grid.code).where(Grid.community_code == code)).scalars().all()
        existing[code] = sorted(int(c[-3:]) for c in rows if c[-3:].isdigit())
    for village in villages:
        c = CommunityPlan(village.code, village.name, village.parent_code or "")
        result.communities.append(c)
        wkt = boundaries.get(village.code)
        if wkt is not None:
            piece = shapely.from_wkt(wkt)
            if outline is not None:
                piece = polygonal(piece.intersection(outline))
        elif outline is not None and len(villages) == 1:
            piece, c.boundary_from_outline = outline, True
            c.notice = "该社区还没有边界，将以上传的轮廓作为社区范围"
        else:
            c.notice = "该社区还没有边界，已跳过（请先导入社区边界）"
            continue
        if piece is None or piece.is_empty or area_m2(piece) < 1.0:
            c.notice = "与上传的轮廓不相交，已跳过"
            continue
        c.replaced = len(existing[village.code]) if replace else 0
        c.kept = 0 if replace else len(existing[village.code])
        c.start = 1 if replace else (existing[village.code][-1] + 1 if existing[village.code] else 1)
        _check_overlaps(c, piece, geo_index, taken, overlap, replace)
        piece = c.piece
        if piece is None or piece.is_empty:
            c.problem = c.problem or "裁剪重叠部分后没有剩余范围"
            continue
        taken.append(piece)
        capacity = MAX_SEQUENCE - c.start + 1
        try:
            cells = grid_cover(piece, size_m=size_m, max_cells=10**9)
        except Invalid:
            cells = []
            c.needed = math.ceil(area_m2(piece) / (size_m * size_m))
        else:
            c.needed = len(cells)
        if c.needed > capacity:
            fit = suggest_size(piece, capacity, size_m)
            c.suggested_size_m = fit[0] if fit else None
            hint = f"建议边长不小于 {fit[0]} 米（约 {fit[1]} 个网格）" if fit else "请先拆分社区或导入网格"
            used = f"（已有序号用到 {c.start - 1}）" if c.start > 1 else ""
            c.problem = (
                f"按 {size_m:g} 米边长需要约 {c.needed} 个网格，超过社区网格序号上限 {capacity} 个"
                f"{used}（网格编码末三位最大 999）；{hint}"
            )
            continue
        if not c.problem:
            c.cells = cells
    if outline is not None:
        covered = [shapely.from_wkt(boundaries[v.code]) for v in villages if v.code in boundaries]
        rest = outline.difference(shapely.union_all(covered)) if covered else None
        if rest is not None and area_m2(rest) >= 1.0 and len(villages) > 1:
            result.outside, result.outside_m2 = rest, area_m2(rest)
    if result.cells > MAX_CELLS_PER_RUN:
        result.problem = (
            f"一次最多生成 {MAX_CELLS_PER_RUN} 个网格（当前约 {result.cells} 个），请按街道分批生成或加大边长"
        )
    elif not any(c.cells or c.problem for c in result.communities):
        result.problem = "范围内没有可以生成网格的社区：请先导入社区边界，或上传轮廓并选择一个社区"
    return result


def _check_overlaps(
    c: CommunityPlan, piece: Any, geo_index: Any, taken: list[Any], overlap: Overlap, replace: bool
) -> None:
    """Other communities' grids, this one's kept grids and the run's earlier pieces: refuse or clip."""
    others: list[Any] = []
    touched: dict[str, int] = {}
    for i in geo_index.grid_tree.query(piece, predicate="intersects").tolist():
        community = geo_index.grid_communities[i]
        if replace and community == c.code:
            continue  # these grids are being replaced
        grid = geo_index.grid_geoms[i]
        shared = area_m2(piece.intersection(grid))
        if shared > OVERLAP_TOLERANCE_M2:
            others.append(grid)
            touched[community] = touched.get(community, 0) + 1
    for earlier in taken:
        if piece.intersects(earlier) and area_m2(piece.intersection(earlier)) > OVERLAP_TOLERANCE_M2:
            others.append(earlier)
            touched["本次生成的相邻社区"] = touched.get("本次生成的相邻社区", 0) + 1
    if not others:
        c.piece = piece
        return
    blocked = shapely.union_all(others)
    shared = area_m2(piece.intersection(blocked))
    c.overlap_with = touched
    c.blocking = others[:200]
    if overlap == "clip":
        c.piece = polygonal(piece.difference(blocked))
        c.clipped_m2 = shared
        c.notice = f"已裁去与已有网格重叠的约 {shared:,.0f} 平方米"
        return
    c.piece = piece
    c.overlap_m2 = shared
    c.problem = f"与已有网格重叠约 {shared:,.0f} 平方米（占本社区范围的 {shared / max(area_m2(piece), 1) * 100:.1f}%）"


def describe(result: CoverPlan, names: dict[str, str], *, with_cells: bool = True) -> dict[str, Any]:
    """The plan as a page or the API shows it; squares only while the preview stays light."""
    show_cells = with_cells and result.cells <= PREVIEW_MAX_CELLS
    features: list[dict[str, Any]] = []
    rows = []
    for c in result.communities:
        touched = "、".join(
            f"{names.get(code, code)}（{n} 个网格）" if code[:1].isdigit() else code
            for code, n in c.overlap_with.items()
        )
        rows.append(
            {
                "code": c.code,
                "name": c.name,
                "street": names.get(c.street_code, c.street_code),
                "cells": len(c.cells),
                "needed": c.needed,
                "first": f"{c.code}{c.start:03d}" if c.cells else "",
                "last": f"{c.code}{c.start + len(c.cells) - 1:03d}" if c.cells else "",
                "replaced": c.replaced,
                "kept": c.kept,
                "area_m2": round(sum(area_m2(g) for g in c.cells), 1),
                "overlap_m2": round(c.overlap_m2, 1),
                "overlap_with": touched,
                "clipped_m2": round(c.clipped_m2, 1),
                "suggested_size_m": c.suggested_size_m,
                "problem": c.problem,
                "notice": c.notice,
            }
        )
        if c.piece is not None:
            features.append(_feature(c.piece, role="community", code=c.code, name=c.name, problem=bool(c.problem)))
        features += [_feature(g, role="existing", community=c.code) for g in c.blocking]
        if show_cells:
            features += [_feature(g, role="cell", code=f"{c.code}{c.start + i:03d}") for i, g in enumerate(c.cells)]
    if result.outside is not None:
        features.append(_feature(result.outside, role="outside", name="不属于任何社区"))
    return {
        "scope": result.scope_code,
        "scope_name": result.scope_name,
        "size_m": result.size_m,
        "replace": result.replace,
        "overlap": result.overlap,
        "cells": result.cells,
        "ok": result.ok,
        "problem": result.problem,
        "errors": [e.as_dict() for e in result.errors()],
        "outside_m2": round(result.outside_m2, 1),
        "communities": rows,
        "cells_shown": show_cells,
        "geojson": {"type": "FeatureCollection", "features": features},
    }


def _feature(geom: Any, **props: Any) -> dict[str, Any]:
    simple = shapely.set_precision(geom, 1e-7)
    return {"type": "Feature", "properties": props, "geometry": mapping(simple)}
