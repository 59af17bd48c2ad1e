"""Writing a planned cover, reading an outline file, and exporting grids by community or street."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import shapefile
import shapely
from shapely.geometry import mapping
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from zhixian.citymgmt.geo.imports import GeoLimits, read_features
from zhixian.citymgmt.geo.index import area_m2, bump_version, load_geometries, polygonal
from zhixian.citymgmt.geo.plan import CoverPlan
from zhixian.citymgmt.models import Area, Grid
from zhixian.errors import FieldError, Invalid
from zhixian.exports import Sheet, xlsx_bytes
from zhixian.platform import audit
from zhixian.platform import service as platform
from zhixian.platform.actor import Actor

EXPORT_FORMATS = {"geojson": "GeoJSON", "zip": "Shapefile（ZIP）", "xlsx": "Excel 清单"}
WGS84_PRJ = (
    'GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]],'
    'PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]'
)


def read_outline(content: bytes, filename: str, limits: GeoLimits | None = None) -> Any:
    """The union of every polygon in the file: a county or street outline, however many parts it has."""
    result = read_features(content, filename, limits)
    if result.errors and not result.features:
        first = result.errors[0]
        raise Invalid("轮廓文件中没有可用的面", [FieldError(first.message, field="file", row=first.row)])
    if not result.features:
        raise Invalid("轮廓文件中没有面要素", field="file")
    outline = polygonal(shapely.union_all([f.geometry for f in result.features]))
    if outline is None or outline.is_empty or area_m2(outline) < 1.0:
        raise Invalid("轮廓文件中没有有效的面", field="file")
    return outline


def outline_text(outline: Any) -> str:
    """The outline as compact GeoJSON, carried by the page between preview and generation."""
    geometry = mapping(shapely.set_precision(outline, 1e-7))
    return json.dumps({"type": "Feature", "properties": {}, "geometry": geometry}, separators=(",", ":"))


def apply(
    session: Session,
    *,
    actor: Actor,
    plan: CoverPlan,
    inspector_id: int | None = None,
    save_boundary: bool = False,
) -> list[Grid]:
    """Writes a plan that passed its checks; anything refused is refused as a whole, with every reason."""
    actor.require("citymgmt.config")
    if not plan.ok:
        raise Invalid("未生成网格：" + (plan.problem or "请先解决下列问题"), plan.errors())
    names = {d.code: d for d in platform.list_divisions(session)}
    grids: list[Grid] = []
    for c in plan.communities:
        if not c.cells:
            continue
        if plan.replace:
            session.execute(delete(Grid).where(Grid.community_code == c.code))
        for i, cell in enumerate(c.cells):
            code = f"{c.code}{c.start + i:03d}"
            minx, miny, maxx, maxy = cell.bounds
            grid = Grid(
                code=code,
                name=f"{c.name}{c.start + i:03d}号网格",
                community_code=c.code,
                street_code=c.code[:9] + "000",
                wkt=cell.wkt,
                min_lon=minx,
                min_lat=miny,
                max_lon=maxx,
                max_lat=maxy,
                area_m2=area_m2(cell),
                inspector_id=inspector_id,
            )
            session.add(grid)
            grids.append(grid)
        if c.boundary_from_outline and save_boundary and c.code in names:
            _save_area(session, names[c.code], plan.outline)
    if save_boundary and plan.outline is not None and plan.scope_code in names:
        scope = names[plan.scope_code]
        if scope.level == "town":
            _save_area(session, scope, plan.outline)
    session.flush()
    bump_version(session)
    audit.record(
        session,
        actor.audit,
        action="citymgmt.grid_cover",
        object_type="cm_area",
        object_id=plan.scope_code,
        detail={
            "size_m": plan.size_m,
            "replace": plan.replace,
            "overlap": plan.overlap,
            "grids": len(grids),
            "communities": {c.code: len(c.cells) for c in plan.communities if c.cells},
            "clipped_m2": round(sum(c.clipped_m2 for c in plan.communities), 1),
            "outline": plan.outline is not None,
        },
    )
    return grids


def _save_area(session: Session, division: Any, geom: Any) -> None:
    row = session.get(Area, division.code) or Area(division_code=division.code)
    row.name, row.level, row.parent_code, row.wkt = division.name, division.level, division.parent_code, geom.wkt
    session.add(row)


# --- export


def export_grids(
    session: Session,
    *,
    actor: Actor,
    fmt: str,
    community_code: str | None = None,
    street_code: str | None = None,
) -> tuple[bytes, str, str]:
    """(content, media type, file name) of one community's or one street's grids (or all), audited."""
    actor.require("citymgmt.view")
    if fmt not in EXPORT_FORMATS:
        raise Invalid("导出格式只能是 geojson、zip 或 xlsx", field="format")
    names = {d.code: d.name for d in platform.list_divisions(session)}
    query = select(Grid).order_by(Grid.code)
    scope = "全县"
    if community_code:
        if community_code not in names:
            raise Invalid("社区不存在", field="community_code")
        query, scope = query.where(Grid.community_code == community_code), names[community_code]
    elif street_code:
        if street_code not in names:
            raise Invalid("街道（乡镇）不存在", field="street_code")
        query, scope = query.where(Grid.street_code == street_code), names[street_code]
    grids = list(session.execute(query).scalars())
    geoms, _ = load_geometries([g.code for g in grids], [g.wkt for g in grids])
    rows = [
        {
            "code": g.code,
            "name": g.name,
            "community_code": g.community_code,
            "community": names.get(g.community_code, ""),
            "street_code": g.street_code,
            "street": names.get(g.street_code, ""),
            "area_m2": round(g.area_m2, 1),
        }
        for g in grids
    ]
    stem = f"grids-{community_code or street_code or 'county'}"
    if fmt == "geojson":
        features = [
            {"type": "Feature", "properties": r, "geometry": mapping(geom)}
            for r, geom in zip(rows, geoms, strict=True)
            if geom is not None
        ]
        body = json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False).encode()
        out = (body, "application/geo+json", f"{stem}.geojson")
    elif fmt == "zip":
        out = (_shapefile_zip(rows, geoms, stem), "application/zip", f"{stem}.zip")
    else:
        header = ["网格编码", "网格名称", "社区代码", "社区", "街道代码", "街道", "面积（平方米）"]
        body = xlsx_bytes([Sheet("网格", header, ([*r.values()] for r in rows), bold_header=True, freeze_header=True)])
        out = (body, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", f"{stem}.xlsx")
    audit.record(
        session,
        actor.audit,
        action="citymgmt.grid_export",
        object_type="cm_grid",
        object_id=community_code or street_code or "county",
        detail={"format": fmt, "grids": len(rows), "scope": scope},
    )
    return out


def _shapefile_zip(rows: list[dict[str, Any]], geoms: list[Any], stem: str) -> bytes:
    shp, shx, dbf = io.BytesIO(), io.BytesIO(), io.BytesIO()
    with shapefile.Writer(shp=shp, shx=shx, dbf=dbf, shapeType=shapefile.POLYGON, encoding="utf-8") as w:
        w.field("code", "C", size=15)
        w.field("name", "C", size=100)
        w.field("comm_code", "C", size=12)
        w.field("community", "C", size=100)
        w.field("street_cd", "C", size=12)
        w.field("street", "C", size=100)
        w.field("area_m2", "N", size=14, decimal=1)
        for r, geom in zip(rows, geoms, strict=True):
            if geom is None:
                continue
            polygons = list(getattr(geom, "geoms", [geom]))
            parts = []
            for poly in polygons:
                parts.append(list(poly.exterior.coords)[::-1] if poly.exterior.is_ccw else list(poly.exterior.coords))
                parts += [list(i.coords) if i.is_ccw else list(i.coords)[::-1] for i in poly.interiors]
            w.poly(parts)
            w.record(*r.values())
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(f"{stem}.shp", shp.getvalue())
        z.writestr(f"{stem}.shx", shx.getvalue())
        z.writestr(f"{stem}.dbf", dbf.getvalue())
        z.writestr(f"{stem}.cpg", "UTF-8")
        z.writestr(f"{stem}.prj", WGS84_PRJ)
    return out.getvalue()
