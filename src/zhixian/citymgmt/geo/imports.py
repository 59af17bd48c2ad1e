"""Grid and boundary files: GeoJSON and zipped Shapefile read into valid polygons, with per-feature
problems and vertex limits checked on the raw coordinates before Shapely builds anything."""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import shapefile
import shapely
from shapely.geometry import shape

from zhixian.citymgmt.geo.index import polygonal
from zhixian.errors import FieldError, Invalid
from zhixian.platform import uploads
from zhixian.settings import Settings

# --- import: GeoJSON and zipped Shapefile, with per-feature problems


@dataclass
class ImportedFeature:
    row: int
    properties: dict[str, Any]
    geometry: Any  # shapely geometry, valid and polygonal


@dataclass
class ImportResult:
    features: list[ImportedFeature]
    errors: list[FieldError]
    repaired: list[int]


@dataclass(frozen=True)
class GeoLimits:
    """What one import may bring (from settings); defaults equal the Settings defaults."""

    max_vertices_per_feature: int = 50_000
    max_vertices_per_import: int = 2_000_000
    zip: uploads.UploadLimits = field(default_factory=uploads.UploadLimits)

    @classmethod
    def from_settings(cls, settings: Settings) -> GeoLimits:
        return cls(
            max_vertices_per_feature=settings.geo_max_vertices_per_feature,
            max_vertices_per_import=settings.geo_max_vertices_per_import,
            zip=uploads.UploadLimits.from_settings(settings),
        )

    @property
    def max_file_bytes(self) -> int:
        """A GeoJSON file can't carry more vertices than this allows (about 40 bytes per vertex)."""
        return self.max_vertices_per_import * 40


def _positions(coords: Any, stop: int) -> int:
    """Number of positions in GeoJSON coordinates, counting no further than ``stop`` + 1."""
    n = 0
    stack = [coords]
    while stack:
        item = stack.pop()
        if not isinstance(item, list) or not item:
            continue
        if isinstance(item[0], int | float):
            n += 1
            if n > stop:
                return n
        else:
            stack.extend(item)
    return n


def _vertex_count(geometry: Any, stop: int) -> int:
    if not isinstance(geometry, dict):
        return 0
    if geometry.get("type") == "GeometryCollection":
        total = 0
        for part in geometry.get("geometries") or []:
            total += _vertex_count(part, stop - total)
            if total > stop:
                break
        return total
    return _positions(geometry.get("coordinates"), stop)


def _refuse_vertices(row: int, n: int, total: int, limits: GeoLimits) -> None:
    """A 422 naming the row and the limit once a feature or the running total is over it."""
    per = limits.max_vertices_per_feature
    if n > per:
        raise Invalid(
            "要素顶点过多",
            [FieldError(f"第 {row} 个要素的顶点超过上限 {per} 个，请先简化后再导入", field="geometry", row=row)],
        )
    if total > limits.max_vertices_per_import:
        message = f"到第 {row} 个要素为止顶点总数已超过单次导入上限 {limits.max_vertices_per_import} 个，请分批导入"
        raise Invalid("导入文件顶点总数过多", [FieldError(message, field="file", row=row)])


def _check_vertices(raw: list[dict[str, Any]], limits: GeoLimits) -> None:
    """Refuses the whole file before any geometry is built."""
    total = 0
    for row, feat in enumerate(raw, start=1):
        n = _vertex_count(feat.get("geometry"), limits.max_vertices_per_feature)
        total += n
        _refuse_vertices(row, n, total, limits)


def _features_from_geojson(content: bytes) -> list[dict[str, Any]]:
    try:
        data = json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise Invalid("文件不是有效的 GeoJSON（JSON 解析失败）", field="file") from exc
    if isinstance(data, dict) and data.get("type") == "FeatureCollection":
        feats = data.get("features")
        if isinstance(feats, list):
            return [f for f in feats if isinstance(f, dict)]
    if isinstance(data, dict) and data.get("type") == "Feature":
        return [data]
    raise Invalid("GeoJSON 必须是 FeatureCollection 或 Feature", field="file")


def _features_from_shapefile_zip(content: bytes, limits: GeoLimits) -> list[dict[str, Any]]:
    archive = uploads.open_zip(content, limits.zip)
    names = {n.lower(): n for n in archive.namelist()}
    shp = next((n for low, n in names.items() if low.endswith(".shp")), None)
    if shp is None:
        raise Invalid("压缩包中没有 .shp 文件", field="file")
    stem = shp[:-4]
    parts = {}
    for ext in ("shp", "shx", "dbf"):
        real = names.get(f"{stem}.{ext}".lower())
        if real is None:
            raise Invalid(f"压缩包缺少 {stem}.{ext}", field="file")
        parts[ext] = io.BytesIO(uploads.read_member(archive, real, limits.zip))
    cpg = names.get(f"{stem}.cpg".lower())
    encoding = "utf-8"
    if cpg:
        encoding = uploads.read_member(archive, cpg, limits.zip, limit=64).decode("ascii", "ignore").strip()
    if encoding.upper() in ("", "ANSI", "936", "CP936"):
        encoding = "gbk"
    out: list[dict[str, Any]] = []
    for enc in dict.fromkeys([encoding, "gbk"]):
        try:
            reader = shapefile.Reader(shp=parts["shp"], shx=parts["shx"], dbf=parts["dbf"], encoding=enc)
            out = []
            total = 0
            for row, sr in enumerate(reader.iterShapeRecords(), start=1):
                n = len(sr.shape.points)
                total += n
                _refuse_vertices(row, n, total, limits)
                geometry = sr.shape.__geo_interface__
                out.append({"type": "Feature", "properties": dict(sr.record.as_dict()), "geometry": geometry})
            break
        except UnicodeDecodeError:
            for p in parts.values():
                p.seek(0)
            continue
        except shapefile.ShapefileException as exc:
            raise Invalid(f"Shapefile 无法读取：{exc}", field="file") from exc
    return out


def read_features(content: bytes, filename: str, limits: GeoLimits | None = None) -> ImportResult:
    """Polygons by feature; invalid ones repaired with make_valid where possible, else reported.

    Vertex limits are checked on the raw coordinates, before Shapely builds or repairs anything.
    """
    limits = limits or GeoLimits()
    if len(content) > limits.max_file_bytes:
        raise Invalid("导入文件过大", [FieldError(f"文件不能超过 {limits.max_file_bytes // 1048576} MB", field="file")])
    low = filename.lower()
    raw = _features_from_shapefile_zip(content, limits) if low.endswith(".zip") else _features_from_geojson(content)
    _check_vertices(raw, limits)
    features: list[ImportedFeature] = []
    errors: list[FieldError] = []
    repaired: list[int] = []
    for row, feat in enumerate(raw, start=1):
        props = feat.get("properties") or {}
        try:
            geom = shape(feat.get("geometry") or {})
        except (ValueError, TypeError, AttributeError, shapely.errors.GEOSException):
            errors.append(FieldError("几何对象无法解析", field="geometry", row=row))
            continue
        if geom.is_empty:
            errors.append(FieldError("几何对象为空", field="geometry", row=row))
            continue
        if not geom.is_valid:
            reason = shapely.is_valid_reason(geom)
            fixed = polygonal(shapely.make_valid(geom))
            if fixed is None or fixed.is_empty or not fixed.is_valid:
                errors.append(FieldError(f"多边形无效且无法修复（{reason}）", field="geometry", row=row))
                continue
            geom = fixed
            repaired.append(row)
        geom = polygonal(geom)
        if geom is None:
            errors.append(FieldError("要素不是面（Polygon/MultiPolygon）", field="geometry", row=row))
            continue
        features.append(ImportedFeature(row, dict(props), geom))
    return ImportResult(features, errors, repaired)


_NAME_KEYS = ("name", "NAME", "名称", "社区名称", "村名", "街道名称", "XZQMC", "xzqmc")


def area_divisions(
    features: list[ImportedFeature], divisions: dict[str, Any], chosen: str | None
) -> Iterable[tuple[ImportedFeature, Any, str]]:
    """Each boundary's division: its code property, else the division picked on the page (for a file
    holding one outline), else a unique name match, so nobody has to type a 12-digit code into a file."""
    local = {c: d for c, d in divisions.items() if d.level in ("town", "village")}
    by_name: dict[str, list[Any]] = {}
    for d in local.values():
        by_name.setdefault(d.name, []).append(d)
    picked = local.get(chosen or "")
    if chosen and picked is None:
        yield from ((f, None, f"所选区划 {chosen} 不是本县的街道或社区") for f in features)
        return
    if picked is not None and len(features) == 1:
        yield features[0], picked, ""
        return
    for feat in features:
        code = str(feat.properties.get("code") or feat.properties.get("CODE") or "").strip()
        if code:
            found = local.get(code)
            yield feat, found, "" if found else f"区划代码 {code} 不是本县的街道或社区"
            continue
        name = next((str(feat.properties[k]).strip() for k in _NAME_KEYS if feat.properties.get(k)), "")
        matches = [d for d in by_name.get(name, []) if picked is None or d.parent_code == picked.code]
        if len(matches) == 1:
            yield feat, matches[0], ""
        elif matches:
            listed = "、".join(f"{d.name}（{d.code}）" for d in matches)
            yield feat, None, f"名称“{name}”对应多个区划：{listed}，请在页面上选择所属街道后再导入"
        else:
            yield feat, None, f"要素没有区划代码（code），名称“{name or '（空）'}”也不是本县的街道或社区"
