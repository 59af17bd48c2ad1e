"""Maps over HTTP: the basemap setting (local MBTiles/PMTiles, an online service proxied with a write-only
key), the tile route's ticket and caching, and the scoped, bounded case heat, case points and gazetteer."""

from __future__ import annotations

import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from sqlalchemy import func, select

from tests.citymgmt.tilefiles import draw_tile, make_mbtiles, make_pmtiles, tile_of
from zhixian.citymgmt.models import Area, Basemap
from zhixian.platform.models import AuditRecord

COUNTY = (120.76, 30.72, 121.08, 30.96)  # the demo county's extent, with a margin
SERVICE_KEY = "0123456789abcdef-tianditu-KEY"
HTML = {"Accept": "text/html"}


def tiles_dir(server) -> Path:
    settings = server.app.state.settings
    path = settings.map_tiles_dir or settings.data_dir / "tiles"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def county_file(server) -> tuple[str, dict]:
    name = "county-test.mbtiles"
    path = tiles_dir(server) / name
    if path.exists():
        path.unlink()
    return name, make_mbtiles(path, COUNTY, range(9, 12))


def use_file(client, name: str, **extra):
    return client.put(
        "/api/v1/citymgmt/basemap", json={"kind": "file", "file": name, "min_zoom": 1, "max_zoom": 18} | extra
    )


def tile_url(view: dict, z: int, x: int, y: int, layer: int = 0) -> str:
    return view["layers"][layer]["url"].replace("{z}", str(z)).replace("{x}", str(x)).replace("{y}", str(y))


def test_local_mbtiles_basemap_is_served_by_the_platform_with_caching(as_user, county_file) -> None:
    name, made = county_file
    lead, acceptor = as_user("shiftlead"), as_user("acceptor")
    assert acceptor.get("/api/v1/citymgmt/map/basemap").json()["layers"] == []  # default: no basemap
    saved = use_file(lead, name)
    assert saved.status_code == 200, saved.text
    assert saved.json()["kind"] == "file"

    resp = acceptor.get("/api/v1/citymgmt/map/basemap")
    view = resp.json()
    assert [layer["name"] for layer in view["layers"]] == ["base"]
    assert view["layers"][0]["url"].startswith("/citymgmt/basemap/tiles/base/{z}/{x}/{y}?v=")
    assert view["gazetteer"] is True
    cookie = resp.headers["set-cookie"]
    assert "zx_tiles=" in cookie
    assert "Path=/citymgmt/basemap/" in cookie
    assert "HttpOnly" in cookie

    z, x, y = 10, *tile_of(120.92, 30.84, 10)
    got = acceptor.get(tile_url(view, z, x, y))
    assert got.status_code == 200
    assert got.headers["content-type"] == "image/png"
    assert got.content == made[(z, x, y)]  # the file's rows are TMS; the route answers XYZ
    assert got.headers["cache-control"] == "private, max-age=86400"
    again = acceptor.get(tile_url(view, z, x, y), headers={"If-None-Match": got.headers["etag"]})
    assert again.status_code == 304

    assert acceptor.get(tile_url(view, 15, 0, 0)).status_code == 404  # not in the file
    assert acceptor.get(tile_url(view, 3, 9, 0)).status_code == 404  # no such tile at zoom 3
    stale = acceptor.get(tile_url(view, z, x, y).split("?")[0] + "?v=1")
    assert stale.status_code == 200
    assert stale.headers["cache-control"] == "no-store"


def test_tiles_need_a_valid_ticket(as_user, http, county_file) -> None:
    name, _ = county_file
    lead = as_user("shiftlead")
    use_file(lead, name)
    view = lead.get("/api/v1/citymgmt/map/basemap").json()
    z, x, y = 10, *tile_of(120.92, 30.84, 10)
    assert http.get(tile_url(view, z, x, y)).status_code == 401  # never signed in
    http.cookies.set("zx_tiles", "1.9999999999.00000000000000000000000000000000", path="/citymgmt/basemap/")
    assert http.get(tile_url(view, z, x, y)).status_code == 401  # forged
    assert http.get("/api/v1/citymgmt/map/basemap").status_code == 401


def test_pmtiles_file_serves_the_same_tiles(as_user, server, county_file) -> None:
    name, made = county_file
    pm_name = "county-test.pmtiles"
    target = tiles_dir(server) / pm_name
    if target.exists():
        target.unlink()
    make_pmtiles(tiles_dir(server) / name, target)
    lead = as_user("shiftlead")
    assert use_file(lead, pm_name).status_code == 200
    view = lead.get("/api/v1/citymgmt/map/basemap").json()
    z, x, y = 11, *tile_of(120.95, 30.80, 11)
    got = lead.get(tile_url(view, z, x, y))
    assert got.status_code == 200
    assert got.content == made[(z, x, y)]


def test_unusable_files_are_refused_beside_the_field(as_user, server) -> None:
    lead = as_user("shiftlead")
    vector = tiles_dir(server) / "vector-test.mbtiles"
    if vector.exists():
        vector.unlink()
    make_mbtiles(vector, COUNTY, [9], fmt="pbf")
    (tiles_dir(server) / "broken-test.mbtiles").write_bytes(b"not a database at all" * 10)
    cases = {
        "vector-test.mbtiles": "矢量瓦片",
        "broken-test.mbtiles": "不是有效的 MBTiles",
        "../zhixian.db": "文件名无效",
        "missing.mbtiles": "没有文件",
    }
    for name, message in cases.items():
        resp = use_file(lead, name)
        assert resp.status_code == 422, name
        errors = resp.json()["errors"]
        assert errors[0]["field"] == "file", (name, errors)
        assert message in errors[0]["message"], (name, errors)
    listing = lead.get("/api/v1/citymgmt/basemap").json()["files"]
    entry = next(f for f in listing if f["name"] == "vector-test.mbtiles")
    assert entry["usable"] is False
    assert "矢量" in entry["problem"]
    assert as_user("acceptor").put("/api/v1/citymgmt/basemap", json={"kind": "none"}).status_code == 403


class _Upstream(BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        _Upstream.hits.append(self.path)
        match = re.fullmatch(r"/t(\d)/(vec|cva)/(\d+)/(\d+)/(\d+)\.png\?tk=(.+)", self.path)
        if match is None or match.group(6) != SERVICE_KEY:
            body = "<html>权限类型错误 invalid key</html>".encode()
            self.send_response(200)  # as 天地图 does: an error page with status 200
            self.send_header("Content-Type", "text/html")
        else:
            z, x, y = (int(match.group(i)) for i in (3, 4, 5))
            body = draw_tile(z, x, y)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def upstream():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Upstream)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    _Upstream.hits.clear()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_online_service_is_proxied_and_its_key_never_reaches_a_browser(as_user, db, upstream) -> None:
    lead, leader = as_user("shiftlead"), as_user("leader")
    template = upstream + "/t{s}/vec/{z}/{x}/{y}.png?tk={key}"
    saved = lead.put(
        "/api/v1/citymgmt/basemap",
        json={"kind": "url", "url": template, "labels_url": template.replace("/vec/", "/cva/"), "subdomains": "01",
              "key": SERVICE_KEY, "attribution": "测试瓦片服务"},
    )  # fmt: skip
    assert saved.status_code == 200, saved.text
    assert SERVICE_KEY not in saved.text
    assert saved.json()["key_set"] is True

    resp = leader.get("/api/v1/citymgmt/map/basemap")
    view = resp.json()
    assert [layer["name"] for layer in view["layers"]] == ["base", "labels"]
    z, x, y = 12, *tile_of(120.92, 30.84, 12)
    got = leader.get(tile_url(view, z, x, y))
    assert got.status_code == 200
    assert got.content == draw_tile(z, x, y)
    labels = leader.get(tile_url(view, z, x, y, layer=1))
    assert labels.status_code == 200
    assert len(_Upstream.hits) == 2
    assert leader.get(tile_url(view, z, x, y)).status_code == 200
    assert len(_Upstream.hits) == 2  # the second time from the platform's tile cache

    settings_views = [
        lead.get("/api/v1/citymgmt/basemap").text,
        lead.get("/citymgmt/config/basemap", headers=HTML).text,
    ]
    map_views = [resp.text, leader.get("/citymgmt/ops", headers=HTML).text]
    for body in settings_views + map_views:
        assert SERVICE_KEY not in body
    for body in map_views:  # a map is told platform URLs only: not even where the tiles come from
        assert upstream not in body
    row = db.execute(select(Basemap)).scalar_one()
    assert row.key_enc
    assert SERVICE_KEY not in row.key_enc
    audits = db.execute(select(AuditRecord).where(AuditRecord.action == "citymgmt.basemap")).scalars().all()
    assert audits
    assert all(SERVICE_KEY not in str(a.detail) for a in audits)

    # a wrong key: the service answers an error page with status 200; the map gets no image, the page says why
    lead.put(
        "/api/v1/citymgmt/basemap", json={"kind": "url", "url": template, "subdomains": "01", "key": "wrong-key-123"}
    )
    view = leader.get("/api/v1/citymgmt/map/basemap").json()
    assert leader.get(tile_url(view, z, x + 1, y)).status_code == 502
    assert "内容不是图片" in lead.get("/api/v1/citymgmt/basemap").json()["last_error"]
    # keeping the key: an empty key field leaves it as it was
    kept = lead.put("/api/v1/citymgmt/basemap", json={"kind": "url", "url": template, "subdomains": "01", "key": ""})
    assert kept.json()["key_fingerprint"] == saved.json()["key_fingerprint"] or kept.json()["key_set"]


def test_bad_templates_are_refused_with_the_reason(as_user) -> None:
    lead = as_user("shiftlead")
    cases = [
        ({"url": "https://t{s}.example.cn/{z}/{x}.png"}, "url", "缺少 {y}"),
        ({"url": "ftp://tiles.example.cn/{z}/{x}/{y}.png"}, "url", "http://"),
        ({"url": "https://t{s}.example.cn/{z}/{x}/{y}.png"}, "subdomains", "子域名"),
        ({"url": "https://tiles.example.cn/{z}/{x}/{y}.png?tk=abcdef0123"}, "url", "不要把密钥直接写在地址里"),
        ({"url": "https://tiles.example.cn/{z}/{x}/{y}.png?tk={key}"}, "key", "请填写服务密钥"),
        ({"url": "https://tiles.example.cn/{z}/{x}/{y}/{style}.png"}, "url", "{style}"),
        ({"url": "http://169.254.169.254/{z}/{x}/{y}.png"}, "url", "链路本地"),
    ]
    for body, field, message in cases:
        resp = lead.put("/api/v1/citymgmt/basemap", json={"kind": "url", **body})
        assert resp.status_code == 422, (body, resp.text)
        errors = resp.json()["errors"]
        assert any(e["field"] == field and message in e["message"] for e in errors), (body, errors)


def test_settings_page_saves_and_never_echoes_the_key(as_user, county_file) -> None:
    name, _ = county_file
    lead = as_user("shiftlead")
    html = {"Accept": "text/html"}
    page = lead.get("/citymgmt/config/basemap", headers=html)
    assert page.status_code == 200
    assert name in page.text
    form = {"kind": "url", "preset": "tianditu_vec", "url": "", "key": "short", "min_zoom": "1", "max_zoom": "18"}
    refused = lead.post("/citymgmt/config/basemap", data=form, headers=html)
    assert refused.status_code == 422
    assert 'id="f-key-error"' in refused.text
    assert 'value="short"' not in refused.text
    assert "tianditu.gov.cn/vec_w" in refused.text  # the preset filled the template in
    ok = lead.post(
        "/citymgmt/config/basemap",
        data={"kind": "file", "file": name, "min_zoom": "1", "max_zoom": "18"},
        headers=html,
        follow_redirects=False,
    )
    assert ok.status_code == 303
    assert lead.get("/api/v1/citymgmt/basemap").json()["file"] == name


# --- case heat, points and the gazetteer


def _list_total(client, query: str) -> int:
    page = client.get(f"/citymgmt/cases?{query}", headers={"Accept": "text/html"})
    assert page.status_code == 200
    found = re.search(r"（(\d+) 件）", page.text)
    assert found, "案件列表页没有显示总数"
    return int(found.group(1))


@pytest.mark.parametrize("user", ["leader", "handler_zfj"])
@pytest.mark.parametrize("status", ["all", "open", "closed"])
def test_heat_total_equals_the_list_it_opens(as_user, user: str, status: str) -> None:
    client = as_user(user)
    resp = client.get("/api/v1/citymgmt/map/heat", params={"status": status, "from": "2026-01-01", "to": "2026-11-18"})
    assert resp.status_code == 200, resp.text
    heat = resp.json()
    assert heat["total"] == sum(c[2] for c in heat["cells"])
    assert heat["total"] == _list_total(client, heat["list_url"].split("?", 1)[1])
    assert heat["total"] > 0 or (user, status) != ("leader", "all")


def test_heat_is_scoped_and_bounded(as_user) -> None:
    leader, handler = as_user("leader"), as_user("handler_zfj")
    span = {"from": "2025-12-01", "to": "2026-11-18"}
    everything = leader.get("/api/v1/citymgmt/map/heat", params=span).json()["total"]
    own = handler.get("/api/v1/citymgmt/map/heat", params=span).json()["total"]
    assert 0 < own < everything
    assert as_user("gaj_officer").get("/api/v1/citymgmt/map/heat").status_code == 403  # no case permission
    too_long = leader.get("/api/v1/citymgmt/map/heat", params={"from": "2024-01-01", "to": "2026-11-18"})
    assert too_long.status_code == 422
    assert "366" in too_long.text
    reversed_ = leader.get("/api/v1/citymgmt/map/heat", params={"from": "2026-11-18", "to": "2026-11-01"})
    assert reversed_.status_code == 422
    assert "晚于" in reversed_.text
    default = leader.get("/api/v1/citymgmt/map/heat").json()
    assert (default["from"], default["to"], default["days"]) == ("2026-10-20", "2026-11-18", 30)


def test_points_are_those_of_the_extent_scoped_and_capped(as_user, db) -> None:
    leader, handler = as_user("leader"), as_user("handler_zfj")
    span = {"from": "2025-12-01", "to": "2026-11-18", "bbox": ",".join(map(str, COUNTY))}
    everything = leader.get("/api/v1/citymgmt/map/points", params=span).json()
    heat_total = leader.get("/api/v1/citymgmt/map/heat", params={k: span[k] for k in ("from", "to")}).json()["total"]
    assert everything["total"] == heat_total
    assert len(everything["items"]) == min(500, heat_total)
    assert everything["truncated"] == (heat_total > 500)
    own = handler.get("/api/v1/citymgmt/map/points", params=span).json()
    assert own["total"] < everything["total"]
    mine = {c["id"] for c in own["items"]}
    for item in own["items"][:20]:
        assert handler.get(f"/api/v1/citymgmt/cases/{item['id']}").status_code == 200
    assert mine
    one = everything["items"][0]
    small = f"{one['lon'] - 0.0001},{one['lat'] - 0.0001},{one['lon'] + 0.0001},{one['lat'] + 0.0001}"
    near = leader.get("/api/v1/citymgmt/map/points", params={**span, "bbox": small}).json()
    assert one["id"] in {c["id"] for c in near["items"]}
    assert near["total"] < everything["total"]
    for bad in ("", "1,2,3", "121,31,120,30", "nan,1,2,3", "100,20,110,30"):
        resp = leader.get("/api/v1/citymgmt/map/points", params={**span, "bbox": bad})
        assert resp.status_code == 422, bad
    assert db.execute(select(func.count()).select_from(Area)).scalar_one() > 0


def test_gazetteer_layer_lists_addresses_of_the_extent(as_user) -> None:
    inspector = as_user("inspector01")
    found = inspector.get("/api/v1/citymgmt/map/addresses", params={"bbox": ",".join(map(str, COUNTY))}).json()
    assert found["total"] > 0
    assert 0 < len(found["items"]) <= 300
    a = found["items"][0]
    box = f"{a['lon'] - 0.00001},{a['lat'] - 0.00001},{a['lon'] + 0.00001},{a['lat'] + 0.00001}"
    near = inspector.get("/api/v1/citymgmt/map/addresses", params={"bbox": box}).json()
    assert a["text"] in [i["text"] for i in near["items"]]
