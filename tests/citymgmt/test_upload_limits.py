"""Upload bombs and pathological grids over HTTP: refused early with a Chinese 4xx, and stored
geometry that slipped past the import never breaks intake, /locate or the grid layer."""

from __future__ import annotations

import json
import uuid

import numpy as np
import shapely
from sqlalchemy import delete, select

from tests.citymgmt.conftest import jpeg
from zhixian.citymgmt import geo
from zhixian.citymgmt.models import Area, Grid

IMPORT = "/api/v1/citymgmt/geo/import"


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
