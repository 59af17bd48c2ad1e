"""基础数据 and 应用维护: grids and boundaries (import, cover), classes (seed, edit, Excel), gazetteer."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import jieba
import shapely
from pydantic import ValidationError
from python_calamine import CalamineWorkbook
from shapely.geometry import mapping
from sqlalchemy import and_, case, or_, select
from sqlalchemy.orm import Session

from zhixian.citymgmt.cases import figures
from zhixian.citymgmt.config.standards import COMPONENT_CLASSES, COMPONENT_MAJORS, EVENT_CLASSES, EVENT_MAJORS, ClassRow
from zhixian.citymgmt.geo import grids as cover_grids
from zhixian.citymgmt.geo import imports as geo_imports
from zhixian.citymgmt.geo import plan as cover_plan
from zhixian.citymgmt.geo import service as geo
from zhixian.citymgmt.models import Address, Area, CaseClass, Component, Grid
from zhixian.citymgmt.schemas import ClassIn, CoverIn, GeoImportReport
from zhixian.errors import FieldError, Invalid, pydantic_errors_to_chinese
from zhixian.exports import Sheet, plain_cell, xlsx_bytes
from zhixian.platform import audit, uploads
from zhixian.platform import service as platform
from zhixian.platform.actor import Actor
from zhixian.subsystems import CaseCategory

jieba.setLogLevel(60)


def division_names(session: Session) -> dict[str, str]:
    return {d.code: d.name for d in platform.list_divisions(session)}


# --- classes


def seed_classes(session: Session, extra: Iterable[CaseCategory] = ()) -> int:
    """Shipped code tables plus classes contributed by extensions; existing rows are left as edited."""
    existing = set(session.execute(select(CaseClass.code)).scalars())
    added = 0
    for majors, rows, kind in (
        (COMPONENT_MAJORS, COMPONENT_CLASSES, "component"),
        (EVENT_MAJORS, EVENT_CLASSES, "event"),
    ):
        for code, name in majors.items():
            if code not in existing:
                session.add(CaseClass(code=code, kind=kind, name=name, parent_code=None))
                added += 1
        for row in rows:
            if row[0] not in existing:
                session.add(_class_from_row(row, kind, "citymgmt"))
                added += 1
    for spec in extra:
        code = spec.code
        if spec.major and spec.major not in existing and session.get(CaseClass, spec.major) is None:
            session.add(
                CaseClass(code=spec.major, kind=spec.kind, name=spec.major_name, parent_code=None, source=spec.source)
            )
            session.flush()
        if code not in existing:
            session.add(
                CaseClass(
                    code=code,
                    kind=spec.kind,
                    name=spec.name,
                    parent_code=spec.major or code[:3],
                    filing_standard=spec.filing_standard,
                    closing_standard=spec.closing_standard,
                    limit_value=spec.limit_value,
                    limit_unit=spec.limit_unit,
                    urgent_value=spec.urgent_value,
                    urgent_unit=spec.urgent_unit,
                    department_code=spec.department_code,
                    source=spec.source,
                )
            )
            added += 1
    session.flush()
    if added:
        geo.bump_version(session, geo.CLASSES)
    return added


def _class_from_row(row: ClassRow, kind: str, source: str) -> CaseClass:
    code, name, limit, unit, urgent, urgent_unit, dept, filing, closing = row
    return CaseClass(
        code=code,
        kind=kind,
        name=name,
        parent_code=code[:3],
        filing_standard=filing,
        closing_standard=closing,
        limit_value=limit,
        limit_unit=unit,
        urgent_value=urgent,
        urgent_unit=urgent_unit,
        department_code=dept,
        source=source,
    )


def save_class(session: Session, *, actor: Actor, data: ClassIn) -> CaseClass:
    actor.require("citymgmt.config")
    major = session.get(CaseClass, data.code[:3])
    if major is None:
        raise Invalid(f"大类 {data.code[:3]} 不存在", field="code")
    if (
        data.department_code
        and data.department_code != "@属地"
        and platform.department_by_code(session, data.department_code) is None
    ):
        raise Invalid(f"部门代码 {data.department_code} 不存在", field="department_code")
    row = session.get(CaseClass, data.code) or CaseClass(code=data.code, kind=major.kind, parent_code=major.code)
    for key, value in data.model_dump().items():
        setattr(row, key, value)
    session.add(row)
    geo.bump_version(session, geo.CLASSES)
    audit.record(
        session,
        actor.audit,
        action="citymgmt.class_save",
        object_type="cm_class",
        object_id=data.code,
        detail=data.model_dump(),
    )
    session.flush()
    return row


_CLASS_COLUMNS = [
    ("code", "代码"),
    ("name", "名称"),
    ("filing_standard", "立案标准"),
    ("closing_standard", "结案标准"),
    ("limit_value", "时限"),
    ("limit_unit", "时限单位(hours/days)"),
    ("urgent_value", "紧急时限"),
    ("urgent_unit", "紧急时限单位(hours/days)"),
    ("department_code", "责任部门代码"),
    ("active", "启用"),
]


def classes_excel(session: Session) -> bytes:
    rows = session.execute(
        select(CaseClass).where(CaseClass.parent_code.is_not(None)).order_by(CaseClass.code)
    ).scalars()
    return xlsx_bytes(
        [
            Sheet(
                "分类",
                [label for _, label in _CLASS_COLUMNS],
                (
                    [
                        ("是" if getattr(row, key) else "否") if key == "active" else getattr(row, key)
                        for key, _ in _CLASS_COLUMNS
                    ]
                    for row in rows
                ),
            )
        ]
    )


def _read_cell(row: list[Any], index: int) -> Any:
    value = row[index] if index < len(row) else ""
    return plain_cell(value) if isinstance(value, str) else value


def import_classes_excel(
    session: Session, *, actor: Actor, content: bytes, limits: uploads.UploadLimits | None = None
) -> int:
    actor.require("citymgmt.config")
    uploads.check_xlsx(content, limits or uploads.UploadLimits())
    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(content))
        rows = book.get_sheet_by_index(0).to_python()
    except Exception as exc:
        raise Invalid("文件不是有效的 Excel 工作簿", field="file") from exc
    if not rows:
        raise Invalid("工作表为空", field="file")
    header = [str(h).strip() for h in rows[0]]
    missing = [label for _, label in _CLASS_COLUMNS if label not in header]
    if missing:
        raise Invalid(f"缺少列：{'、'.join(missing)}", field="file")
    pos = {key: header.index(label) for key, label in _CLASS_COLUMNS}
    errors: list[FieldError] = []
    parsed: list[ClassIn] = []
    for n, raw in enumerate(rows[1:], start=2):
        if not any(str(c).strip() for c in raw):
            continue
        # our own export guards text such as "@属地" with a leading "'": read it back without it
        values: dict[str, Any] = {k: _read_cell(raw, i) for k, i in pos.items()}
        values["active"] = str(values["active"]).strip() not in ("否", "0", "false", "False")
        values["department_code"] = str(values["department_code"]).strip() or None
        for k in ("code", "name", "filing_standard", "closing_standard", "limit_unit", "urgent_unit"):
            values[k] = str(values[k]).strip()
        try:
            parsed.append(ClassIn.model_validate(values))
        except ValidationError as exc:  # each problem of the row by its column's name
            for e in pydantic_errors_to_chinese(list(exc.errors()), dict(_CLASS_COLUMNS), located=False):
                where = f"“{e.label or e.field}”" if e.field else ""
                errors.append(FieldError(f"第 {n} 行{where}：{e.message}", field=e.field, row=n))
    if errors:
        raise Invalid("分类表有错误，未导入任何行", errors)
    for data in parsed:
        save_class(session, actor=actor, data=data)
    return len(parsed)


# --- geography


_SHAPES_LOCK = threading.Lock()
_Shapes = tuple[list[tuple[str, str, str, str, dict[str, Any]]], list[str]]
_SHAPES: dict[str, tuple[int, _Shapes]] = {}


def _grid_shapes(session: Session) -> _Shapes:
    """(code, name, community, street, simplified GeoJSON geometry) per grid, parsed once per geo version,
    and the codes of stored grids left out because they can't be drawn (see geo.load_geometries)."""
    version = geo.versions(session).get(geo.GEO, 0)
    bind = session.get_bind()
    key = str(bind.engine.url) if hasattr(bind, "engine") else str(id(bind))
    cached = _SHAPES.get(key)
    if cached is not None and cached[0] == version:
        return cached[1]
    with _SHAPES_LOCK:
        rows = session.execute(
            select(Grid.code, Grid.name, Grid.community_code, Grid.street_code, Grid.wkt).order_by(Grid.code)
        ).all()
        geoms, quarantined = geo.load_geometries([r[0] for r in rows], [r[4] for r in rows])
        shapes = [
            (r[0], r[1], r[2], r[3], mapping(shapely.simplify(g, 0.00002)))
            for r, g in zip(rows, geoms, strict=True)
            if g is not None
        ]
        _SHAPES[key] = (version, (shapes, quarantined))
        return shapes, quarantined


def grid_layer(
    session: Session, *, actor: Actor, street_code: str | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """Grids with open and overdue counts: the operations map, every shape linking to its cases.

    The counts are the 在办 and 红灯 figures per grid (``cases.figures``), so a grid's number is the
    total of the list its click opens."""
    stats = figures.grid_counts(session, actor=actor, now=now)
    features = []
    shapes, quarantined = _grid_shapes(session)
    links = figures.grid_hrefs(code for code, *_ in shapes)
    for code, name, community, street, geometry in shapes:
        if street_code and street != street_code:
            continue
        open_n, overdue = stats.get(code, (0, 0))
        features.append(
            {
                "type": "Feature",
                "geometry": geometry,
                "properties": {
                    "code": code,
                    "name": name,
                    "community": community,
                    "open": open_n,
                    "overdue": overdue,
                    "href": links[code],
                },
            }
        )
    return {"type": "FeatureCollection", "features": features, "quarantined": quarantined}


def area_layer(session: Session, *, level: str = "village") -> dict[str, Any]:
    rows = session.execute(select(Area).where(Area.level == level)).scalars().all()
    key = "community_code" if level == "village" else "street_code"
    geoms, quarantined = geo.load_geometries([a.division_code for a in rows], [a.wkt for a in rows])
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {
                    "code": a.division_code,
                    "name": a.name,
                    "href": f"/citymgmt/cases?{key}={a.division_code}&status=open",
                },
                "geometry": mapping(shapely.simplify(g, 0.0001)),
            }
            for a, g in zip(rows, geoms, strict=True)
            if g is not None
        ],
        "quarantined": quarantined,
    }


def import_geodata(  # noqa: PLR0912 - one branch per kind of per-feature problem, reported together
    session: Session,
    *,
    actor: Actor,
    kind: str,
    content: bytes,
    filename: str,
    limits: geo.GeoLimits | None = None,
    division_code: str | None = None,
) -> GeoImportReport:
    """Valid features are saved; invalid ones are reported by row; overlapping grids are refused."""
    actor.require("citymgmt.config")
    result = geo.read_features(content, filename, limits)
    errors = list(result.errors)
    divisions = {d.code: d for d in platform.list_divisions(session)}
    county_row = platform.county(session)
    county = county_row.code[:6] if county_row is not None else ""
    overlaps_out: list[dict[str, Any]] = []
    imported = 0
    if kind == "grid":
        good = []
        for feat in result.features:
            code = str(
                feat.properties.get("code") or feat.properties.get("CODE") or feat.properties.get("wgbm") or ""
            ).strip()
            if len(code) != 15 or not code.isdigit():
                errors.append(
                    FieldError(
                        "网格编码必须是 15 位数字（县 6 + 街道 3 + 社区 3 + 序号 3）", field="code", row=feat.row
                    )
                )
                continue
            if county and not code.startswith(county):
                errors.append(FieldError(f"网格编码 {code} 不属于本县（{county}）", field="code", row=feat.row))
                continue
            if code[:12] not in divisions:
                errors.append(FieldError(f"网格编码中的社区 {code[:12]} 不存在", field="code", row=feat.row))
                continue
            good.append((feat, code))
        found = geo.overlaps([f.geometry for f, _ in good])
        bad_rows = set()
        for i, j, shared in found.pairs:
            overlaps_out.append({"row": good[i][0].row, "other_row": good[j][0].row, "area_m2": round(shared, 1)})
            bad_rows |= {i, j}
        if not found.complete:
            listed = [
                FieldError(f"与第 {o['other_row']} 个要素重叠 {o['area_m2']} 平方米", field="geometry", row=o["row"])
                for o in overlaps_out
            ]
            raise Invalid("网格之间重叠过多，未导入任何网格；请先修正重叠（仅列出前几处）", listed)
        for n, (feat, code) in enumerate(good):
            if n in bad_rows:
                errors.append(FieldError(f"网格 {code} 与其他网格重叠", field="geometry", row=feat.row))
                continue
            _save_grid(session, code=code, name=str(feat.properties.get("name") or ""), geom=feat.geometry)
            imported += 1
    elif kind == "area":
        for feat, division, problem in geo_imports.area_divisions(result.features, divisions, division_code):
            if division is None:
                errors.append(FieldError(problem, field="code", row=feat.row))
                continue
            row = session.get(Area, division.code) or Area(division_code=division.code)
            row.name, row.level, row.parent_code, row.wkt = (
                division.name,
                division.level,
                division.parent_code,
                feat.geometry.wkt,
            )
            session.add(row)
            imported += 1
    else:
        raise Invalid("部件请使用部件导入（GeoJSON 点要素）", field="kind")
    if imported:
        geo.bump_version(session)
    audit.record(
        session,
        actor.audit,
        action="citymgmt.geo_import",
        object_type="cm_grid",
        detail={"kind": kind, "imported": imported, "errors": len(errors), "file": filename[:100]},
    )
    session.flush()
    return GeoImportReport(
        kind=kind,
        imported=imported,
        repaired_rows=result.repaired,
        errors=[e.as_dict() for e in errors],
        overlaps=overlaps_out,
    )


def _save_grid(session: Session, *, code: str, name: str, geom: Any, inspector_id: int | None = None) -> Grid:
    row = session.execute(select(Grid).where(Grid.code == code)).scalar_one_or_none() or Grid(code=code)
    minx, miny, maxx, maxy = geom.bounds
    row.name = name or row.name or f"{code[-3:]}号网格"
    row.community_code, row.street_code = code[:12], code[:9] + "000"
    row.wkt, row.min_lon, row.min_lat, row.max_lon, row.max_lat = geom.wkt, minx, miny, maxx, maxy
    row.area_m2 = geo.area_m2(geom)
    if inspector_id is not None:
        row.inspector_id = inspector_id
    session.add(row)
    return row


def generate_cover(session: Session, *, actor: Actor, data: CoverIn, inspector_id: int | None = None) -> list[Grid]:
    """One community's cover through the same plan as the page: overlaps refused (or clipped), 999 checked."""
    actor.require("citymgmt.config")
    area = session.get(Area, data.community_code)
    if area is None:
        raise Invalid("该社区还没有边界，请先导入社区边界", field="community_code")
    planned = cover_plan.plan(
        session, scope_code=data.community_code, size_m=data.size_m, replace=data.replace, overlap=data.overlap
    )
    grids = cover_grids.apply(session, actor=actor, plan=planned, inspector_id=inspector_id)
    session.flush()
    return grids


# --- gazetteer


def address_tokens(text: str) -> str:
    words = {w.strip() for w in jieba.cut_for_search(text) if w.strip()}
    return " ".join(sorted(words))[:600]


def search_addresses(session: Session, q: str, limit: int = 20) -> list[Address]:
    """Chinese fuzzy search: every jieba word of the query must occur; the exact substring ranks first."""
    q = q.strip().replace("%", "").replace("_", "")
    if not q:
        return []
    words = [w for w in jieba.lcut(q) if w.strip()]
    cond = or_(Address.text.like(f"%{q}%"), and_(*[Address.tokens.like(f"%{w}%") for w in words]))
    rank = case((Address.text.like(f"%{q}%"), 0), else_=1)
    return list(session.execute(select(Address).where(cond).order_by(rank, Address.text).limit(limit)).scalars())


def component_by_code(session: Session, code: str) -> Component | None:
    return session.execute(select(Component).where(Component.code == code)).scalar_one_or_none()


def geojson_dump(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
