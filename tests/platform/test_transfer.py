"""What a page costs to load: answers are compressed, static assets are cached for a year under
content-hashed URLs, and the map layers are revalidated by a content ETag instead of sent again.

The operations view used to download 2.4 MB (1.1 MB chart library and 1.1 MB grid layer, raw and
no-store) on every visit; these tests hold each part of the fix.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi.responses import StreamingResponse
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from zhixian.app import create_app
from zhixian.citymgmt.geo import service as geo
from zhixian.web.assets import IMMUTABLE
from zhixian.web.auth import Public

ASSET = re.compile(r'src="(/static/vendor/echarts/echarts\.min\.js\?v=[0-9a-f]+)"')


def test_pages_and_api_answers_are_gzipped_and_stay_private(as_user: Any) -> None:
    leader = as_user("leader")
    page = leader.get("/citymgmt/ops", headers={"Accept-Encoding": "gzip"})
    assert page.status_code == 200
    assert page.headers["content-encoding"] == "gzip"
    assert page.headers["cache-control"] == "no-store"  # a signed-in page never stays in a shared cache
    assert "Accept-Encoding" in page.headers["vary"]
    assert int(page.headers["content-length"]) < len(page.content) / 2  # httpx decoded it; it came compressed
    tiny = leader.get("/healthz", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in tiny.headers  # below one packet: not worth compressing


def test_static_assets_have_content_hashed_urls_cached_for_a_year(as_user: Any) -> None:
    leader = as_user("leader")
    url = ASSET.search(leader.get("/citymgmt/ops").text).group(1)
    asset = leader.get(url, headers={"Accept-Encoding": "gzip"})
    assert asset.status_code == 200
    assert asset.headers["cache-control"] == IMMUTABLE
    assert asset.headers["content-encoding"] == "gzip"
    assert int(asset.headers["content-length"]) < 400_000 < len(asset.content)  # 1.1 MB sent as ~360 KB
    etag = asset.headers["etag"]
    assert leader.get(url, headers={"If-None-Match": etag}).status_code == 304
    # the same file under an old or missing hash is revalidated, never kept for a year
    for stale in (url.split("?")[0], url.split("?")[0] + "?v=000000000000"):
        again = leader.get(stale)
        assert again.status_code == 200
        assert again.headers["cache-control"] == "public, no-cache"
        assert again.headers["etag"] == etag


def test_grid_layer_is_revalidated_by_a_content_etag(as_user: Any, db: Session) -> None:
    leader = as_user("leader")
    first = leader.get("/api/v1/citymgmt/grids.geojson", headers={"Accept-Encoding": "gzip"})
    assert first.status_code == 200
    assert first.headers["cache-control"] == "private, no-cache"
    assert first.headers["content-encoding"] == "gzip"
    etag = first.headers["etag"]
    same = leader.get("/api/v1/citymgmt/grids.geojson", headers={"If-None-Match": etag})
    assert same.status_code == 304
    assert same.content == b""
    # the grids are reconfigured (a grid renamed, the geo version bumped as every import does): the layer
    # changes, so must the ETag, which is taken from the content
    db.execute(text("UPDATE cm_grid SET name = name || '（调整）' WHERE code = (SELECT min(code) FROM cm_grid)"))
    geo.bump_version(db)
    changed = leader.get("/api/v1/citymgmt/grids.geojson", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    assert changed.json() != first.json()


def test_event_streams_and_small_answers_are_not_compressed(node) -> None:
    app = create_app(node=node)

    def events() -> StreamingResponse:
        lines = (f"data: {n}\n\n".encode() for n in range(500))
        return StreamingResponse(lines, media_type="text/event-stream")

    app.add_api_route("/test-events", events, dependencies=[Public])
    with TestClient(app) as client:
        stream = client.get("/test-events", headers={"Accept-Encoding": "gzip"})
        assert stream.status_code == 200
        assert "content-encoding" not in stream.headers  # each event must reach the browser at once
        assert stream.text.count("data:") == 500
        big = client.get("/api/openapi.json", headers={"Accept-Encoding": "gzip"})
        assert big.headers["content-encoding"] == "gzip"
        assert big.json()["openapi"]
