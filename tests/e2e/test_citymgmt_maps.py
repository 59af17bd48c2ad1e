"""Maps in a browser: the shift leader picks a local MBTiles basemap, the leader's operations view shows it
under the grids with the case heat, its legend and case points, and the cover preview draws planned grids.
Screenshots in test-artifacts/; what the operations view downloads is printed (run with -s to see it)."""

from __future__ import annotations

import json
import re

import shapely
from shapely.geometry import mapping
from sqlalchemy import select

from tests.citymgmt.tilefiles import make_mbtiles
from tests.e2e.conftest import shot, sign_in

FILE = "e2e-county.mbtiles"


def _tiles_dir(demo_server):
    settings = demo_server.app.state.settings
    path = settings.map_tiles_dir or settings.data_dir / "tiles"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _choose_basemap(page, kind: str, file: str = "") -> None:
    page.goto("/citymgmt/config/basemap")
    page.locator(f"input[name=kind][value={kind}]").check()
    if file:
        page.get_by_label("底图文件").select_option(file)
    page.get_by_role("button", name="保存").click()
    page.wait_for_url("**/citymgmt/config/basemap?saved=1")


def test_ops_view_shows_basemap_heat_and_points(new_page, demo_server) -> None:
    target = _tiles_dir(demo_server) / FILE
    if target.exists():
        target.unlink()
    make_mbtiles(target, (120.70, 30.68, 121.14, 31.00), range(8, 15), name="演示县底图")
    lead = new_page()
    sign_in(lead, "shiftlead")
    answers: list[str] = []  # said when no tile shows (once seen in a full run, never alone)
    lead.on("response", lambda r: answers.append(f"{r.status} {r.url}") if "/basemap" in r.url else None)
    _choose_basemap(lead, "file", FILE)
    try:
        lead.locator("#cm-basemap-preview .cm-tiles-base img.leaflet-tile-loaded").first.wait_for(timeout=15000)
    except Exception as exc:
        shot(lead, "citymgmt-maps-1-no-tile")
        raise AssertionError(f"底图预览没有瓦片；底图相关应答：{answers[-12:]}") from exc
    lead.wait_for_load_state("networkidle")
    assert not [a for a in answers if re.search(r"/tiles/\w+/\d+\.\d+/", a)], answers  # whole zooms only
    shot(lead, "citymgmt-maps-1-basemap-setting")
    try:
        page = new_page()
        sign_in(page, "leader")
        page.goto("/citymgmt/ops")
        page.locator("#cm-map .cm-tiles-base img.leaflet-tile-loaded").first.wait_for(timeout=15000)
        page.locator("#cm-map canvas.leaflet-heatmap-layer").wait_for(timeout=15000)
        total_link = page.locator("#cm-map-legend a[data-map-total]")
        total_link.wait_for(timeout=15000)
        page.wait_for_load_state("networkidle")
        assert page.locator("#cm-map .leaflet-control-zoom-in").get_attribute("title") == "放大"
        shown = int(total_link.get_attribute("data-map-total"))
        assert shown > 0
        shot(page, "citymgmt-maps-2-ops-basemap-heat")
        _report_downloads(page)

        # the period buttons redraw the heat; the legend's total opens exactly that list
        page.get_by_role("button", name="近7天").click()
        page.wait_for_function("() => document.querySelector('#cm-map-legend').textContent.includes('至')")
        page.wait_for_load_state("networkidle")
        week = int(page.locator("#cm-map-legend a[data-map-total]").get_attribute("data-map-total"))
        assert week <= shown
        page.get_by_role("button", name="近30天").click()
        page.wait_for_load_state("networkidle")

        # a year of cases, then closer in where they are densest: points appear, coloured by their light
        page.locator("#map-from").fill("2025-11-19")
        page.locator("#map-from").dispatch_event("change")
        page.wait_for_function("() => document.querySelector('#cm-map-legend').textContent.includes('2025-11-19')")
        heat = page.evaluate("fetch('/api/v1/citymgmt/map/heat?from=2025-11-19&to=2026-11-18').then(r => r.json())")
        lat, lon, _ = heat["cells"][0]
        page.evaluate(f"document.getElementById('cm-map').zhixianMap.setView([{lat}, {lon}], 14) && null")
        page.wait_for_function("() => /本视野 \\d+ 件/.test(document.querySelector('#cm-map-points-hint').textContent)")
        page.wait_for_load_state("networkidle")
        hint = page.locator("#cm-map-points-hint").inner_text()
        assert int(re.search(r"本视野 (\d+) 件", hint).group(1)) > 0, hint
        shot(page, "citymgmt-maps-3-ops-points")
        shown = heat["total"]

        page.locator("#cm-map-legend a[data-map-total]").click()
        page.wait_for_url("**/citymgmt/cases?**")
        listed = int(re.search(r"（(\d+) 件）", page.locator("h1").inner_text()).group(1))
        assert "reported_from=" in page.url
        assert listed == shown
    finally:
        _choose_basemap(lead, "none")  # the demo server is shared by the other browser tests


def _report_downloads(page) -> None:
    """Bytes over the wire (transferSize) and as stored (decodedBodySize) of every resource so far."""
    entries = page.evaluate(
        "performance.getEntriesByType('resource').concat(performance.getEntriesByType('navigation'))"
        ".map(e => [e.name, e.transferSize, e.decodedBodySize])"
    )
    wire, raw = sum(e[1] for e in entries), sum(e[2] for e in entries)
    tiles = [e for e in entries if "/citymgmt/basemap/tiles/" in e[0]]
    print(f"\n监督指挥下载：{len(entries)} 个请求，传输 {wire / 1024:.0f} KB（解压后 {raw / 1024:.0f} KB）")
    for name, sent, size in sorted(entries, key=lambda e: -e[2])[:10]:
        print(f"  {sent / 1024:8.1f} KB / {size / 1024:8.1f} KB  {name.split('?')[0].split('/', 3)[-1]}")
    print(f"  其中瓦片 {len(tiles)} 张：{sum(e[2] for e in tiles) / 1024:.1f} KB")


def test_cover_preview_draws_the_planned_grids(new_page, demo_server, tmp_path) -> None:
    from zhixian.citymgmt.models import Area

    node = demo_server.app.state.node
    with node.db.transaction() as s:
        street = s.execute(select(Area).where(Area.level == "town").order_by(Area.division_code)).scalars().first()
        code, name, outline = street.division_code, street.name, shapely.from_wkt(street.wkt).buffer(0.003)
    path = tmp_path / "street-outline.geojson"
    feature = {"type": "Feature", "properties": {}, "geometry": mapping(outline)}
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    page = new_page()
    sign_in(page, "shiftlead")
    page.goto("/citymgmt/config")
    page.get_by_role("link", name="网格与边界：导入、生成、导出").click()
    page.get_by_label("范围").select_option(code)
    page.get_by_label("网格边长（米）").fill("400")
    page.get_by_label("轮廓文件（可空）").set_input_files(str(path))
    page.get_by_label("替换（删除后重新编号；历史案件保留原网格编码）").check()
    page.get_by_role("button", name="预览").click()
    page.locator("#cover-plan").wait_for()
    page.locator("#cm-cover-map .leaflet-overlay-pane canvas").first.wait_for(timeout=15000)
    assert name in page.locator("#cover-preview h3").inner_text()
    assert "不在任何社区边界内" in page.content()
    shot(page, "citymgmt-maps-4-cover-preview")
    page.get_by_label("网格边长（米）").fill("30")
    page.get_by_role("button", name="预览").click()
    page.locator("#cover-plan").wait_for()
    assert "建议边长不小于" in page.locator("#cover-plan").inner_text()
    shot(page, "citymgmt-maps-5-cover-too-many")
