"""Grids for a real county: covers checked for overlaps (refused with the area, or clipped), the 999-cell
limit with a size that fits, an outline split by the communities' boundaries, boundaries matched by name
or picked on the page, and grids exported by community."""

from __future__ import annotations

import io
import json
import re
import zipfile

import shapefile
import shapely
from openpyxl import load_workbook
from shapely.geometry import mapping
from sqlalchemy import select

from zhixian.citymgmt.geo.index import area_m2
from zhixian.citymgmt.models import Area, Grid
from zhixian.platform.models import AuditRecord

HTML = {"Accept": "text/html"}


def communities(db, street: str | None = None) -> list[Area]:
    query = select(Area).where(Area.level == "village").order_by(Area.division_code)
    if street:
        query = query.where(Area.parent_code == street)
    return list(db.execute(query).scalars())


def neighbours(db) -> tuple[Area, Area]:
    """Two communities whose boundaries share an edge."""
    rows = communities(db)
    geoms = {a.division_code: shapely.from_wkt(a.wkt) for a in rows}
    for a in rows:
        for b in rows:
            if a.division_code < b.division_code and geoms[a.division_code].touches(geoms[b.division_code]):
                return a, b
    raise AssertionError("演示县没有相邻社区")


def outline_file(geom) -> tuple[str, bytes, str]:
    fc = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, "geometry": mapping(geom)}]}
    return ("outline.geojson", json.dumps(fc).encode(), "application/geo+json")


def post(client, path: str, data: dict, outline=None):
    files = {"file": outline} if outline is not None else None
    return client.post(
        path, data={k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in data.items()}, files=files
    )


def grids_of(db, community: str) -> list[Grid]:
    return list(db.execute(select(Grid).where(Grid.community_code == community).order_by(Grid.code)).scalars())


def test_cover_over_a_neighbours_grids_is_refused_with_the_area_or_clipped(as_user, db) -> None:
    lead = as_user("shiftlead")
    a, b = neighbours(db)
    # community A's boundary is redrawn 150 m into B, whose grids are already there
    grown = shapely.from_wkt(a.wkt).buffer(0.0015)
    db.get(Area, a.division_code).wkt = grown.wkt
    db.flush()
    body = {"scope": a.division_code, "size_m": 200, "replace": True, "overlap": "refuse"}
    preview = post(lead, "/api/v1/citymgmt/geo/cover/preview", body)
    assert preview.status_code == 200, preview.text
    plan = preview.json()
    assert plan["ok"] is False
    row = plan["communities"][0]
    assert row["overlap_m2"] > 10_000
    assert b.name in row["overlap_with"]
    assert re.search(r"与已有网格重叠约 [\d,]+ 平方米（占本社区范围的 [\d.]+%）", row["problem"])
    refused = post(lead, "/api/v1/citymgmt/geo/cover/generate", body)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "overlap"
    assert a.name in refused.json()["errors"][0]["message"]

    clipped = post(lead, "/api/v1/citymgmt/geo/cover/generate", body | {"overlap": "clip"})
    assert clipped.status_code == 200, clipped.text
    assert clipped.json()["communities"][0]["clipped_m2"] > 10_000
    new = grids_of(db, a.division_code)
    assert len(new) == clipped.json()["generated"] > 0
    others = [
        shapely.from_wkt(g.wkt)
        for g in db.execute(select(Grid).where(Grid.community_code != a.division_code)).scalars()
    ]
    tree = shapely.STRtree(others)
    for g in new:
        geom = shapely.from_wkt(g.wkt)
        assert sum(area_m2(geom.intersection(others[i])) for i in tree.query(geom)) < 1.0, g.code


def test_appending_over_the_communitys_own_grids_is_an_overlap_too(as_user, db) -> None:
    lead = as_user("shiftlead")
    a = communities(db)[0]
    before = len(grids_of(db, a.division_code))
    body = {"scope": a.division_code, "size_m": 300, "replace": False, "overlap": "refuse"}
    plan = post(lead, "/api/v1/citymgmt/geo/cover/preview", body).json()
    assert plan["communities"][0]["kept"] == before
    assert "重叠" in plan["communities"][0]["problem"]
    # the legacy JSON route takes the same checks
    legacy = lead.post(
        "/api/v1/citymgmt/geo/cover", json={"community_code": a.division_code, "size_m": 300, "replace": False}
    )
    assert legacy.status_code == 422
    assert "重叠" in legacy.text
    assert len(grids_of(db, a.division_code)) == before


def test_more_than_999_cells_is_refused_with_a_size_that_fits(as_user, db) -> None:
    lead = as_user("shiftlead")
    a = max(communities(db), key=lambda r: shapely.from_wkt(r.wkt).area)
    body = {"scope": a.division_code, "size_m": 25, "replace": True, "overlap": "refuse"}
    plan = post(lead, "/api/v1/citymgmt/geo/cover/preview", body).json()
    row = plan["communities"][0]
    assert row["needed"] > 999
    assert "999" in row["problem"]
    suggested = row["suggested_size_m"]
    assert suggested is not None
    assert f"建议边长不小于 {suggested} 米" in row["problem"]
    refused = post(lead, "/api/v1/citymgmt/geo/cover/generate", body)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "size_m"
    fits = post(lead, "/api/v1/citymgmt/geo/cover/generate", body | {"size_m": suggested})
    assert fits.status_code == 200, fits.text
    codes = [g.code for g in grids_of(db, a.division_code)]
    assert 900 < len(codes) <= 999
    assert codes[-1].endswith(f"{len(codes):03d}")


def test_street_outline_is_split_by_community_boundaries(as_user, db) -> None:
    lead = as_user("shiftlead")
    street = db.execute(select(Area).where(Area.level == "town").order_by(Area.division_code)).scalars().first()
    members = communities(db, street.division_code)
    # the outline: the street's boundary pushed 300 m outwards, so part of it lies in no community
    outline = shapely.from_wkt(street.wkt).buffer(0.003)
    body = {"scope": street.division_code, "size_m": 400, "replace": True, "overlap": "clip"}
    plan = post(lead, "/api/v1/citymgmt/geo/cover/preview", body, outline_file(outline)).json()
    assert {c["code"] for c in plan["communities"]} == {m.division_code for m in members}
    assert plan["outside_m2"] > 100_000
    assert {f["properties"]["role"] for f in plan["geojson"]["features"]} >= {"community", "cell", "outside"}
    done = post(lead, "/api/v1/citymgmt/geo/cover/generate", body, outline_file(outline))
    assert done.status_code == 200, done.text
    for m in members:
        boundary = shapely.from_wkt(m.wkt)
        cells = grids_of(db, m.division_code)
        assert cells, m.name
        assert [g.code[-3:] for g in cells] == [f"{i:03d}" for i in range(1, len(cells) + 1)]
        for g in cells:
            assert area_m2(shapely.from_wkt(g.wkt).difference(boundary)) < 1.0


def test_community_without_boundary_takes_the_outline_and_can_keep_it(as_user, db) -> None:
    lead = as_user("shiftlead")
    a = communities(db)[-1]
    shape = shapely.from_wkt(a.wkt)
    db.execute(Grid.__table__.delete().where(Grid.community_code == a.division_code))
    db.delete(db.get(Area, a.division_code))
    db.flush()
    body = {"scope": a.division_code, "size_m": 500, "replace": True, "overlap": "clip", "save_boundary": True}
    plan = post(lead, "/api/v1/citymgmt/geo/cover/preview", body, outline_file(shape)).json()
    assert "以上传的轮廓作为社区范围" in plan["communities"][0]["notice"]
    done = post(lead, "/api/v1/citymgmt/geo/cover/generate", body, outline_file(shape))
    assert done.status_code == 200, done.text
    saved = db.get(Area, a.division_code)
    assert saved is not None
    assert shapely.from_wkt(saved.wkt).equals_exact(shape, 1e-6)
    assert len(grids_of(db, a.division_code)) == done.json()["generated"]


def test_grids_export_by_community_in_three_formats(as_user, db) -> None:
    dispatcher = as_user("dispatcher")
    a = communities(db)[1]
    expected = [g.code for g in grids_of(db, a.division_code)]
    geojson = dispatcher.get("/api/v1/citymgmt/grids/export", params={"community_code": a.division_code})
    assert geojson.status_code == 200
    assert f"grids-{a.division_code}.geojson" in geojson.headers["content-disposition"]
    features = geojson.json()["features"]
    assert [f["properties"]["code"] for f in features] == expected
    assert features[0]["properties"]["community"] == a.name
    shp = dispatcher.get("/api/v1/citymgmt/grids/export", params={"community_code": a.division_code, "format": "zip"})
    archive = zipfile.ZipFile(io.BytesIO(shp.content))
    stem = f"grids-{a.division_code}"
    assert {f"{stem}.{ext}" for ext in ("shp", "shx", "dbf", "cpg", "prj")} <= set(archive.namelist())
    reader = shapefile.Reader(
        shp=io.BytesIO(archive.read(f"{stem}.shp")), shx=io.BytesIO(archive.read(f"{stem}.shx")),
        dbf=io.BytesIO(archive.read(f"{stem}.dbf")), encoding="utf-8",
    )  # fmt: skip
    assert [r["code"] for r in reader.records()] == expected
    assert reader.records()[0]["community"] == a.name
    xlsx = dispatcher.get("/api/v1/citymgmt/grids/export", params={"community_code": a.division_code, "format": "xlsx"})
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert [r[0].value for r in sheet.iter_rows(min_row=2)] == expected
    street = dispatcher.get("/api/v1/citymgmt/grids/export", params={"street_code": a.parent_code}).json()
    assert len(street["features"]) > len(features)
    audits = db.execute(select(AuditRecord).where(AuditRecord.action == "citymgmt.grid_export")).scalars().all()
    assert len(audits) >= 4
    assert as_user("gaj_officer").get("/api/v1/citymgmt/grids/export").status_code == 403
    bad = dispatcher.get("/api/v1/citymgmt/grids/export", params={"community_code": "999999999999"})
    assert bad.status_code == 422


def test_boundaries_are_matched_by_name_or_picked_on_the_page(as_user, db) -> None:
    lead = as_user("shiftlead")
    a, b = communities(db)[2], communities(db)[3]
    square = shapely.box(121.5, 31.5, 121.51, 31.51)
    by_name = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {"name": a.name}, "geometry": mapping(square)},
            {"type": "Feature", "properties": {"名称": "火星社区"}, "geometry": mapping(square)},
        ],
    }
    resp = lead.post(
        "/api/v1/citymgmt/geo/import",
        data={"kind": "area"},
        files={"file": ("names.geojson", json.dumps(by_name).encode(), "application/json")},
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["imported"] == 1
    assert "火星社区" in resp.json()["errors"][0]["message"]
    db.expire_all()
    assert shapely.from_wkt(db.get(Area, a.division_code).wkt).equals(square)
    one = {"type": "Feature", "properties": {}, "geometry": mapping(square)}
    page = lead.post(
        "/citymgmt/config/geo",
        data={"kind": "area", "division_code": b.division_code},
        files={"file": ("one.geojson", json.dumps(one).encode(), "application/json")},
        headers=HTML,
    )
    assert page.status_code == 200, page.text
    db.expire_all()
    assert shapely.from_wkt(db.get(Area, b.division_code).wkt).equals(square)


def test_cover_page_previews_then_generates_with_the_carried_outline(as_user, db) -> None:
    lead = as_user("shiftlead")
    a = communities(db)[4]
    outline = shapely.from_wkt(a.wkt).buffer(-0.001)
    form = {"scope": a.division_code, "size_m": "300", "replace": "replace", "overlap": "refuse", "action": "preview"}
    preview = lead.post("/citymgmt/config/geo/cover", data=form, files={"file": outline_file(outline)}, headers=HTML)
    assert preview.status_code == 200, preview.text
    assert 'id="cover-plan"' in preview.text
    assert "可以生成" in preview.text
    carried = re.search(r'name="outline" value="([^"]+)"', preview.text)
    assert carried
    generate = {**form, "action": "generate", "outline": carried.group(1).replace("&#34;", '"').replace("&quot;", '"')}
    done = lead.post("/citymgmt/config/geo/cover", data=generate, headers=HTML)
    assert done.status_code == 200, done.text
    count = int(re.search(r"已生成 (\d+) 个网格", done.text).group(1))
    cells = grids_of(db, a.division_code)
    assert len(cells) == count
    assert all(area_m2(shapely.from_wkt(g.wkt).difference(outline)) < 1.0 for g in cells)
    empty = lead.post("/citymgmt/config/geo/cover", data={**form, "scope": "", "size_m": "abc"}, headers=HTML)
    assert empty.status_code == 422
    assert 'id="c-scope-error"' in empty.text
    assert 'id="c-size_m-error"' in empty.text
