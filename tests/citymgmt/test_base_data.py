"""基础数据 and 应用维护 over the API: grid import (GeoJSON, zipped Shapefile), cover generation,
the gazetteer's fuzzy search, the point → grid index after grids change, class Excel round-trip,
and the incremental exchange export."""

from __future__ import annotations

import io
import itertools
import json
import re
import zipfile
from datetime import timedelta

import shapefile
from openpyxl import load_workbook
from sqlalchemy import select

from zhixian.citymgmt.models import Address, Area, Grid
from zhixian.clock import utcnow

FAR = (121.80, 31.90)  # well outside 嘉善县: no grid, no community


def square(lon: float, lat: float, d: float = 0.002) -> list[list[float]]:
    return [[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]]


def feature(code: str, ring: list[list[float]], name: str = "") -> dict:
    return {
        "type": "Feature",
        "properties": {"code": code, "name": name},
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }


def upload(client, kind: str, name: str, content: bytes, ctype: str):
    return client.post("/api/v1/citymgmt/geo/import", data={"kind": kind}, files={"file": (name, content, ctype)})


def community(db) -> str:
    return (
        db.execute(select(Area.division_code).where(Area.level == "village").order_by(Area.division_code))
        .scalars()
        .first()
    )


def test_geojson_grid_import_repairs_reports_and_refuses_overlaps(as_user, db) -> None:
    lead = as_user("shiftlead")
    comm = community(db)
    lon, lat = FAR
    bowtie = [
        [lon + 0.01, lat],
        [lon + 0.012, lat + 0.002],
        [lon + 0.012, lat],
        [lon + 0.01, lat + 0.002],
        [lon + 0.01, lat],
    ]
    flat = [[lon + 0.02, lat], [lon + 0.021, lat], [lon + 0.022, lat], [lon + 0.02, lat]]
    fc = {
        "type": "FeatureCollection",
        "features": [
            feature(f"{comm}901", square(lon, lat), "导入一号"),  # row 1: fine
            feature(f"{comm}902", bowtie),  # row 2: self-intersecting, repaired
            feature(f"{comm}903", flat),  # row 3: collinear, cannot be repaired
            feature(f"{comm}904", square(lon + 0.03, lat)),  # rows 4 and 5 overlap
            feature(f"{comm}905", square(lon + 0.031, lat + 0.001)),
            feature("12345", square(lon + 0.05, lat)),  # row 6: bad code
        ],
    }
    resp = upload(lead, "grid", "grids.geojson", json.dumps(fc).encode(), "application/geo+json")
    assert resp.status_code == 200, resp.text
    report = resp.json()
    assert report["imported"] == 2
    assert report["repaired_rows"] == [2]
    by_row = {e["row"]: e["message"] for e in report["errors"]}
    assert "无法修复" in by_row[3]
    assert "重叠" in by_row[4]
    assert "重叠" in by_row[5]
    assert "15 位数字" in by_row[6]
    assert report["overlaps"][0]["row"] == 4
    assert report["overlaps"][0]["other_row"] == 5
    assert report["overlaps"][0]["area_m2"] > 10_000
    saved = set(db.execute(select(Grid.code).where(Grid.code.like(f"{comm}90%"))).scalars())
    assert saved == {f"{comm}901", f"{comm}902"}


def test_point_lookup_follows_grid_changes(as_user, db) -> None:
    lead, acceptor = as_user("shiftlead"), as_user("acceptor")
    lon, lat = FAR
    before = acceptor.get("/api/v1/citymgmt/locate", params={"lon": lon + 0.001, "lat": lat + 0.001})
    assert before.status_code == 422
    assert before.json()["detail"] == "位置不在本县管理范围内"
    code = f"{community(db)}907"
    fc = {"type": "FeatureCollection", "features": [feature(code, square(lon, lat))]}
    assert upload(lead, "grid", "g.geojson", json.dumps(fc).encode(), "application/json").json()["imported"] == 1
    after = acceptor.get("/api/v1/citymgmt/locate", params={"lon": lon + 0.001, "lat": lat + 0.001})
    assert after.status_code == 200, after.text
    assert after.json()["grid_code"] == code
    assert after.json()["community_code"] == code[:12]


def shapefile_zip(records: list[tuple[str, str, list[list[float]]]]) -> bytes:
    shp, shx, dbf = io.BytesIO(), io.BytesIO(), io.BytesIO()
    with shapefile.Writer(shp=shp, shx=shx, dbf=dbf, shapeType=shapefile.POLYGON, encoding="utf-8") as w:
        w.field("code", "C", size=15)
        w.field("name", "C", size=50)
        for code, name, ring in records:
            w.poly([[tuple(p) for p in ring]])
            w.record(code, name)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("grids.shp", shp.getvalue())
        z.writestr("grids.shx", shx.getvalue())
        z.writestr("grids.dbf", dbf.getvalue())
        z.writestr("grids.cpg", "UTF-8")
    return out.getvalue()


def test_zipped_shapefile_grid_import_with_chinese_names(as_user, db) -> None:
    lead = as_user("shiftlead")
    comm = community(db)
    lon, lat = FAR
    bowtie = [[lon, lat], [lon + 0.002, lat + 0.002], [lon + 0.002, lat], [lon, lat + 0.002], [lon, lat]]
    content = shapefile_zip(
        [
            (f"{comm}911", "东门网格", square(lon + 0.01, lat)),
            (f"{comm}912", "西门网格", bowtie),
            ("33042100100199", "短码", square(lon + 0.05, lat)),
        ]
    )
    resp = upload(lead, "grid", "grids.zip", content, "application/zip")
    assert resp.status_code == 200, resp.text
    report = resp.json()
    assert report["imported"] == 2
    assert report["repaired_rows"] == [2]
    assert [e["row"] for e in report["errors"]] == [3]
    name = db.execute(select(Grid.name).where(Grid.code == f"{comm}911")).scalar_one()
    assert name == "东门网格"
    missing = io.BytesIO()
    with zipfile.ZipFile(missing, "w") as z:
        z.writestr("grids.shp", b"\0" * 100)
    bad = upload(lead, "grid", "broken.zip", missing.getvalue(), "application/zip")
    assert bad.status_code == 422
    assert "缺少" in bad.json()["detail"]


def test_grid_import_needs_config_permission(as_user) -> None:
    fc = {"type": "FeatureCollection", "features": []}
    assert (
        upload(as_user("acceptor"), "grid", "g.geojson", json.dumps(fc).encode(), "application/json").status_code == 403
    )


def test_cover_numbers_grids_west_to_east_north_to_south(as_user, db) -> None:
    lead = as_user("shiftlead")
    comm = community(db)
    resp = lead.post("/api/v1/citymgmt/geo/cover", json={"community_code": comm, "size_m": 250, "replace": True})
    assert resp.status_code == 200, resp.text
    cells = resp.json()
    codes = [c["code"] for c in cells]
    assert all(re.fullmatch(rf"{comm}\d{{3}}", c) for c in codes)
    assert [int(c[-3:]) for c in codes] == list(range(1, len(codes) + 1))
    grids = {g.code: g for g in db.execute(select(Grid).where(Grid.community_code == comm)).scalars()}
    assert set(grids) == set(codes)
    # whole squares sit on the cover's lattice: compare their top edges and west edges in code order
    whole = [grids[c] for c in codes if abs(grids[c].area_m2 - 250 * 250) < 0.03 * 250 * 250]
    assert len(whole) >= 2
    for a, b in itertools.pairwise(whole):
        same_row = abs(a.max_lat - b.max_lat) < 1e-7
        assert (same_row and a.min_lon < b.min_lon) or (not same_row and a.max_lat > b.max_lat)
    bad = lead.post("/api/v1/citymgmt/geo/cover", json={"community_code": "330421999999", "size_m": 250})
    assert bad.status_code == 422
    assert "边界" in bad.json()["detail"]


def test_gazetteer_fuzzy_chinese_search(as_user, db) -> None:
    acceptor = as_user("acceptor")
    text = db.execute(select(Address.text).order_by(Address.id)).scalars().first()
    m = re.fullmatch(r"(.+?(?:街道|镇))(.+?)(?:社区|村)(.+?路)(\d+)号", text)
    assert m, text
    query = f"{m.group(2)}{m.group(3)}{m.group(4)}"  # street and "社区/号" left out
    found = acceptor.get("/api/v1/citymgmt/addresses", params={"q": query}).json()
    assert found[0]["text"] == text
    assert found[0]["lon"]
    assert found[0]["lat"]
    exact = acceptor.get("/api/v1/citymgmt/addresses", params={"q": text[-8:]}).json()
    assert exact[0]["text"].endswith(text[-8:])
    assert acceptor.get("/api/v1/citymgmt/addresses", params={"q": "不存在的地址火星路"}).json() == []


def test_class_excel_round_trip(as_user) -> None:
    lead = as_user("shiftlead")
    resp = lead.get("/api/v1/citymgmt/classes.xlsx")
    assert resp.status_code == 200
    wb = load_workbook(io.BytesIO(resp.content))
    ws = wb.active
    header = [c.value for c in ws[1]]
    code_col = header.index("小类代码") if "小类代码" in header else 0
    limit_col = next(i for i, h in enumerate(header) if h and "时限" in str(h) and "紧急" not in str(h))
    target = next(r for r in ws.iter_rows(min_row=2) if r[code_col].value == "S0102")
    target[limit_col].value = 7
    buf = io.BytesIO()
    wb.save(buf)
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    imported = lead.post("/api/v1/citymgmt/classes/import", files={"file": ("c.xlsx", buf.getvalue(), xlsx)})
    assert imported.status_code == 200, imported.text
    assert imported.json()["saved"] >= 1
    row = next(c for c in lead.get("/api/v1/citymgmt/classes").json() if c["code"] == "S0102")
    assert row["limit_value"] == 7
    target[limit_col].value = "很多"
    buf = io.BytesIO()
    wb.save(buf)
    bad = lead.post("/api/v1/citymgmt/classes/import", files={"file": ("c.xlsx", buf.getvalue(), xlsx)})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["row"] == target[0].row
    not_excel = lead.post("/api/v1/citymgmt/classes/import", files={"file": ("c.xlsx", b"hello", xlsx)})
    assert not_excel.status_code == 422


def test_class_change_reaches_intake_at_once(as_user, spot) -> None:
    lead, acceptor = as_user("shiftlead"), as_user("acceptor")
    cls = next(c for c in lead.get("/api/v1/citymgmt/classes").json() if c["code"] == "S0104")
    body = {
        k: cls[k]
        for k in (
            "code",
            "name",
            "filing_standard",
            "closing_standard",
            "limit_value",
            "limit_unit",
            "urgent_value",
            "urgent_unit",
            "department_code",
        )
    }
    assert lead.put("/api/v1/citymgmt/classes/S0104", json={**body, "active": False}).status_code == 200
    lon, lat, _ = spot
    refused = acceptor.post(
        "/api/v1/citymgmt/cases", json={"source": "hotline", "class_code": "S0104", "lon": lon, "lat": lat}
    )
    assert refused.status_code == 422
    assert refused.json()["detail"] == "案件类别 S0104 不存在或已停用"
    assert lead.put("/api/v1/citymgmt/classes/S0104", json={**body, "active": True}).status_code == 200
    ok = acceptor.post(
        "/api/v1/citymgmt/cases", json={"source": "hotline", "class_code": "S0104", "lon": lon, "lat": lat}
    )
    assert ok.status_code == 201, ok.text


def test_exchange_export_pulls_cases_changed_since(as_user, spot) -> None:
    acceptor = as_user("acceptor")
    lon, lat, _ = spot
    since = (utcnow() - timedelta(seconds=1)).isoformat()
    cid = acceptor.post(
        "/api/v1/citymgmt/cases",
        json={"source": "hotline", "class_code": "S0102", "lon": lon, "lat": lat, "external_ref": "12345-X"},
    ).json()["id"]
    page = acceptor.get("/api/v1/citymgmt/exchange/cases", params={"updated_since": since}).json()
    assert page["schema"] == "zhixian.citymgmt.case/v1"
    assert page["county"] == "330421"
    assert cid in [c["id"] for c in page["items"]]
    assert page["count"] == len(page["items"])
    assert page["next_since"]
    mark = page["next_since"]
    assert acceptor.post(f"/api/v1/citymgmt/cases/{cid}/actions/file", json={}).status_code == 200
    later = acceptor.get("/api/v1/citymgmt/exchange/cases", params={"updated_since": mark}).json()
    assert [(c["id"], c["status"]) for c in later["items"]] == [(cid, "dispatching")]
    naive = acceptor.get("/api/v1/citymgmt/exchange/cases", params={"updated_since": "2026-01-01T00:00:00"})
    assert naive.status_code == 422
    assert "时区" in naive.json()["detail"]
    assert as_user("inspector01").get("/api/v1/citymgmt/exchange/cases").status_code == 403
