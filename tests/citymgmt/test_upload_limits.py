"""Upload bombs and pathological grids over HTTP: refused early with a Chinese 4xx, and stored
geometry that slipped past the import never breaks intake, /locate or the grid layer."""

from __future__ import annotations

import io
import json
import uuid
import zipfile

import numpy as np
import pytest
import shapely
import shapely.geometry
from openpyxl import Workbook
from PIL import Image
from sqlalchemy import delete, select

from tests.citymgmt.conftest import jpeg
from tests.conftest import run_async
from zhixian.citymgmt.cases import photos
from zhixian.citymgmt.geo import service as geo
from zhixian.citymgmt.models import Area, CasePhoto, Grid
from zhixian.errors import Invalid
from zhixian.platform import uploads

IMPORT = "/api/v1/citymgmt/geo/import"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def community(db) -> str:
    return (
        db.execute(select(Area.division_code).where(Area.level == "village").order_by(Area.division_code))
        .scalars()
        .first()
    )


def wiggly_ring(lon: float, lat: float, n: int, radius: float = 0.004) -> np.ndarray:
    """A valid star-shaped ring of n vertices around (lon, lat)."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    r = radius * (1 + 0.05 * np.sin(t * 500))
    ring = np.c_[lon + r * np.cos(t), lat + r * np.sin(t)]
    return np.vstack([ring, ring[:1]])


def test_grid_with_too_many_vertices_is_refused_with_its_row_and_the_limit(as_user, db, spot) -> None:
    lead = as_user("shiftlead")
    lon, lat, _ = spot
    comm = community(db)
    ring = wiggly_ring(lon, lat, 60_000).round(7).tolist()
    fc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"code": f"{comm}951"},
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            }
        ],
    }
    resp = lead.post(
        IMPORT, data={"kind": "grid"}, files={"file": ("big.geojson", json.dumps(fc).encode(), "application/geo+json")}
    )
    assert resp.status_code == 422, resp.text
    body = resp.json()
    assert body["errors"][0]["row"] == 1
    assert "50000" in body["errors"][0]["message"].replace(",", "")
    assert db.execute(select(Grid).where(Grid.code == f"{comm}951")).first() is None


def test_a_pathological_grid_in_the_database_does_not_break_intake_locate_or_the_layer(as_user, db, spot) -> None:
    """As if a bug let it in: 1.5 million vertices right over the inspector's grid, and one that is not WKT."""
    lon, lat, grid_code = spot
    comm = grid_code[:12]
    huge = shapely.Polygon(wiggly_ring(lon, lat, 1_500_000, radius=0.05))
    db.add(
        Grid(
            code=f"{comm}998",
            name="巨型",
            community_code=comm,
            street_code=comm[:9] + "000",
            wkt=huge.wkt,
            min_lon=huge.bounds[0],
            min_lat=huge.bounds[1],
            max_lon=huge.bounds[2],
            max_lat=huge.bounds[3],
            area_m2=1.0,
        )
    )
    db.add(
        Grid(
            code=f"{comm}999",
            name="坏",
            community_code=comm,
            street_code=comm[:9] + "000",
            wkt="POLYGON((1 2, 3",
            min_lon=0,
            min_lat=0,
            max_lon=0,
            max_lat=0,
            area_m2=1.0,
        )
    )
    db.flush()
    geo.bump_version(db)
    db.flush()
    inspector = as_user("inspector01")
    data = {"class_code": "S0102", "lon": str(lon), "lat": str(lat), "description": "路口有成堆垃圾"}
    created = inspector.post(
        "/api/v1/citymgmt/reports",
        data=data,
        files={"photo": ("a.jpg", jpeg(), "image/jpeg")},
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    assert created.status_code == 201, created.text
    assert created.json()["grid_code"] == grid_code  # the sound grid still answers
    public = {
        "jurisdiction_id": "330421",
        "service_code": "S0102",
        "lat": str(lat),
        "long": str(lon),
        "description": "垃圾",
    }
    assert as_user("inspector01").post("/open311/v2/requests.json", data=public).status_code == 201
    where = inspector.get("/api/v1/citymgmt/locate", params={"lon": lon, "lat": lat})
    assert where.status_code == 200, where.text
    assert where.json()["grid_code"] == grid_code
    layer = as_user("shiftlead").get("/api/v1/citymgmt/grids.geojson")
    assert layer.status_code == 200, layer.text
    codes = {f["properties"]["code"] for f in layer.json()["features"]}
    assert grid_code in codes
    assert not {f"{comm}998", f"{comm}999"} & codes
    assert set(layer.json()["quarantined"]) >= {f"{comm}998", f"{comm}999"}
    db.execute(delete(Grid).where(Grid.code.in_([f"{comm}998", f"{comm}999"])))
    geo.bump_version(db)


# --- upload bombs


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def test_zipped_shapefile_bomb_is_refused_from_its_directory(as_user) -> None:
    bomb = _zip({"g.shp": b"\0" * (300 * 1024 * 1024), "g.shx": b"", "g.dbf": b""})
    assert len(bomb) < 1024 * 1024
    resp = as_user("shiftlead").post(IMPORT, data={"kind": "grid"}, files={"file": ("g.zip", bomb, "application/zip")})
    assert resp.status_code == 422, resp.text
    message = resp.json()["errors"][0]["message"]
    assert "g.shp" in message
    assert "压缩比" in message or "解压后" in message


def test_zip_member_that_lies_about_its_size_is_refused_not_inflated() -> None:
    """The directory says 10 bytes; the data inflates to 20 MB: reading stops at the declared size."""
    real = _zip({"g.shp": b"\0" * (20 * 1024 * 1024)})
    archive = zipfile.ZipFile(io.BytesIO(real))
    info = archive.infolist()[0]
    lying = bytearray(real)
    # local header and central directory both carry the uncompressed size
    for offset in (info.header_offset + 22, real.rfind(b"PK\x01\x02") + 24):
        lying[offset : offset + 4] = (10).to_bytes(4, "little")
    archive = uploads.open_zip(bytes(lying), uploads.UploadLimits())
    with pytest.raises(Invalid, match="损坏"):
        uploads.read_member(archive, "g.shp", uploads.UploadLimits())


def test_excel_whose_sheet_xml_is_huge_is_refused_before_it_is_parsed(as_user) -> None:
    book = io.BytesIO()
    Workbook().save(book)
    with zipfile.ZipFile(io.BytesIO(book.getvalue())) as src:
        members = {n: src.read(n) for n in src.namelist()}
    cell = b'<c t="inlineStr"><is><t>x</t></is></c>'
    members["xl/worksheets/sheet1.xml"] = (
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1">'
        + cell * (150 * 1024 * 1024 // len(cell))
        + b"</row></sheetData></worksheet>"
    )
    bomb = _zip(members)
    assert len(bomb) < 2 * 1024 * 1024
    resp = as_user("shiftlead").post("/api/v1/citymgmt/classes/import", files={"file": ("classes.xlsx", bomb, XLSX)})
    assert resp.status_code == 422, resp.text
    message = resp.json()["errors"][0]["message"]
    assert "sheet1.xml" in message
    assert "128 MB" in message or "压缩比" in message


def test_stacked_squares_are_refused_after_a_bounded_number_of_pair_checks(as_user, db) -> None:
    lon, lat = 121.8, 31.9
    squares = [shapely.box(lon, lat, lon + 0.002, lat + 0.002) for _ in range(1500)]
    found = geo.overlaps(squares)
    assert not found.complete
    assert found.checks <= 50  # stops at the first 50 overlaps; the full check would be 1,124,250 pairs
    comm = community(db)
    fc = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {"code": f"{comm}{n:03d}"}, "geometry": shapely.geometry.mapping(s)}
            for n, s in enumerate(squares[:999], start=1)
        ],
    }
    resp = as_user("shiftlead").post(
        IMPORT, data={"kind": "grid"}, files={"file": ("g.geojson", json.dumps(fc).encode(), "application/geo+json")}
    )
    assert resp.status_code == 422, resp.text
    assert "重叠" in resp.json()["detail"]


def test_overlap_check_of_a_sound_layer_is_linear() -> None:
    """A 40 × 40 cover: neighbours touch but never overlap; each grid is checked against a few neighbours."""
    cells = [
        shapely.box(121 + 0.002 * c, 31 + 0.002 * r, 121.002 + 0.002 * c, 31.002 + 0.002 * r)
        for r in range(40)
        for c in range(40)
    ]
    found = geo.overlaps(cells)
    assert found.complete
    assert found.pairs == []
    assert found.checks <= 4 * len(cells)


class CountingUpload:
    """An upload that counts how much of itself was read."""

    def __init__(self, size: int) -> None:
        self.filename, self.size, self.consumed = "big.jpg", size, 0

    async def read(self, size: int = -1) -> bytes:
        n = self.size - self.consumed if size < 0 else min(size, self.size - self.consumed)
        self.consumed += n
        return b"\xff" * n


def test_a_large_photo_is_read_no_further_than_its_limit_plus_one_byte() -> None:
    upload = CountingUpload(150 * 1024 * 1024)
    photo = run_async(photos.read_upload(upload, max_bytes=5 * 1024 * 1024, stage="before"))
    assert upload.consumed == 5 * 1024 * 1024 + 1
    with pytest.raises(Invalid) as caught:
        photos.check_photo(photo.content, max_bytes=5 * 1024 * 1024)
    assert "5 MB" in caught.value.errors[0].message


def _report(client, spot, photo: bytes):
    lon, lat, _ = spot
    data = {"class_code": "S0102", "lon": str(lon), "lat": str(lat), "description": "路口有成堆垃圾"}
    return client.post(
        "/api/v1/citymgmt/reports",
        data=data,
        files={"photo": ("a.png", photo, "image/png")},
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )


def test_oversized_photo_and_decompression_bomb_are_422_not_500(as_user, spot) -> None:
    inspector = as_user("inspector01")
    big = _report(inspector, spot, jpeg() + b"\0" * (6 * 1024 * 1024))
    assert big.status_code == 422, big.text
    assert "MB" in big.json()["errors"][0]["message"]
    png = io.BytesIO()
    Image.new("1", (30000, 30000)).save(png, "PNG")
    assert len(png.getvalue()) < 1024 * 1024
    bomb = _report(inspector, spot, png.getvalue())
    assert bomb.status_code == 422, bomb.text
    assert "像素" in bomb.json()["detail"]


def test_missing_foreign_and_lost_photos_all_answer_the_same_404(as_user, db, spot, node) -> None:
    inspector = as_user("inspector01")
    created = _report(inspector, spot, jpeg())
    assert created.status_code == 201, created.text
    photo_id = (
        created.json()["photos"][0]["id"]
        if created.json().get("photos")
        else db.execute(select(CasePhoto.id).where(CasePhoto.case_id == created.json()["id"])).scalar_one()
    )
    outsider = as_user("handler_zfj")  # a handling department: sees only its dispatched cases
    foreign = outsider.get(f"/api/v1/citymgmt/photos/{photo_id}")
    missing = outsider.get("/api/v1/citymgmt/photos/987654321")
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json()["detail"] == missing.json()["detail"]
    row = db.get(CasePhoto, photo_id)
    path = photos.photo_file(node.settings, row)
    moved = path.with_suffix(".moved")
    path.rename(moved)
    try:
        lost = inspector.get(f"/api/v1/citymgmt/photos/{photo_id}")
    finally:
        moved.rename(path)
    assert lost.status_code == 404, lost.text
    assert "丢失" in lost.json()["detail"]
