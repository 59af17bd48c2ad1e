"""随手拍 on a phone (390×844) in a real browser: a signed-in citizen is placed by GPS, sees the open report next
to them and says "me too", taps the map to move the pin, picks a category, adds a photo, submits, and finds the
report in 我的反映. Screenshots in test-artifacts/portal-report-*."""

from __future__ import annotations

import shapely
from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import func, select

from tests.citymgmt.tilefiles import make_mbtiles
from tests.e2e.conftest import shot, sign_in
from tests.e2e.test_citymgmt_maps import _choose_basemap, _tiles_dir
from tests.services.portal_report_helpers import make_citizen
from zhixian.services.portal import reports


def _spot(node) -> tuple[float, float]:
    from zhixian.citymgmt.models import Grid
    from zhixian.platform.models import User

    with node.db.transaction() as s:
        uid = s.execute(select(User.id).where(User.username == "inspector01")).scalar_one()
        wkt = s.execute(select(Grid.wkt).where(Grid.inspector_id == uid).order_by(Grid.code)).scalars().first()
    p = shapely.from_wkt(wkt).representative_point()
    return p.x, p.y


def test_citizen_reports_from_a_phone_and_follows_it_in_my_reports(browser, new_page, demo_server, tmp_path) -> None:
    from zhixian.services.portal.report_models import PortalReport, PortalSupport

    node = demo_server.app.state.node
    lon, lat = _spot(node)
    with node.db.transaction() as s:
        me = make_citizen(s, node.cipher, name="赵市民")
        neighbour = make_citizen(s, node.cipher, name="钱邻居")
        earlier, _ = reports.submit(
            s,
            settings=node.settings,
            cipher=node.cipher,
            registry=node.registry,
            reporter=reports.Reporter(ip="10.9.8.7", citizen_id=neighbour.citizen_id, id_index=neighbour.id_index),
            data=reports.ReportIn(category="lamp", description="这盏路灯晚上不亮", lat=lat, lon=lon),
            photos=[],
        )
        earlier_token, earlier_case = earlier.token, earlier.case_id
    photo = tmp_path / "scene.jpg"
    Image.new("RGB", (640, 480), "orange").save(photo, "JPEG")

    # the county's own basemap file, served by the platform: the public map gets a tile ticket like staff maps
    tiles = _tiles_dir(demo_server) / "portal-county.mbtiles"
    if not tiles.exists():
        make_mbtiles(tiles, (120.70, 30.68, 121.14, 31.00), range(8, 15), name="演示县底图")
    lead = new_page()
    sign_in(lead, "shiftlead")
    _choose_basemap(lead, "file", "portal-county.mbtiles")
    context = browser.new_context(
        base_url=demo_server.url,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        geolocation={"longitude": lon, "latitude": lat, "accuracy": 10},
        permissions=["geolocation"],
    )
    context.add_cookies([{"name": "zx_citizen", "value": me.cookie, "url": demo_server.url}])
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto("/portal/report")
        expect(page.get_by_role("heading", name="我要反映")).to_be_visible()
        expect(page.locator("#pr-map.leaflet-container")).to_be_visible()
        page.locator("#pr-map img.leaflet-tile-loaded").first.wait_for(timeout=15000)
        shot(page, "portal-report-1-form")

        # GPS first: the pin sits where the phone is, and the open report next to it is offered first
        page.get_by_role("button", name="定位到我").click()
        expect(page.locator("#pr-where")).to_contain_text("当前位置")
        expect(page.locator("#pr-nearby")).to_be_visible()
        item = page.locator("#pr-nearby-list li", has_text="路灯")
        expect(item).to_contain_text("这盏路灯晚上不亮")
        shot(page, "portal-report-2-nearby")
        item.get_by_role("button", name="我也遇到了").click()
        expect(item).to_contain_text("1 人也遇到了")
        expect(item.get_by_role("button")).to_have_text("已记录")

        # a tap on the map moves the pin
        gps_pin = page.locator("#pr-map").get_attribute("data-pinned")
        box = page.locator("#pr-map").bounding_box()
        assert box is not None
        page.touchscreen.tap(box["x"] + box["width"] / 2 + 40, box["y"] + box["height"] / 2 + 30)
        expect(page.locator("#pr-where")).to_contain_text("已选择位置")
        expect(item.get_by_role("button")).to_be_disabled()  # the list, reloaded for the new pin, remembers
        tapped = page.locator("#pr-map").get_attribute("data-pinned")
        assert tapped
        assert tapped != gps_pin
        assert page.locator("#pr-lat").input_value() == tapped.split(",")[0]

        page.get_by_label("问题类型").select_option("garbage")
        page.get_by_label("问题描述").fill("小区门口垃圾堆了三天没人清理")
        page.locator("#f-photo").set_input_files(str(photo))
        shot(page, "portal-report-3-filled")
        page.get_by_role("button", name="提交反映").click()
        page.wait_for_url("**/portal/reports/*?sent=1")
        expect(page.locator(".notice.ok")).to_contain_text("已收到您的反映")
        expect(page.locator("h1")).to_have_text("暴露垃圾")
        expect(page.locator(".pr-facts")).to_contain_text("1 张")
        assert "赵市民" not in page.locator("main").inner_text()
        shot(page, "portal-report-4-sent")

        page.goto("/portal/reports/mine")
        mine = page.locator(".pr-list li")
        expect(mine).to_have_count(1)
        expect(mine.first).to_contain_text("暴露垃圾")
        expect(mine.first).to_contain_text("已受理，等待核实")
        shot(page, "portal-report-5-mine")

        # the centre closes it; the reporter rates it once, on their phone
        _close_by_staff(demo_server, node, me.citizen_id)
        assert reports_closed(node) == 1
        mine.first.get_by_role("link").click()
        expect(page.locator("h1")).to_have_text("暴露垃圾")
        expect(page.locator("main")).to_contain_text("已办结")
        page.get_by_label("满意", exact=True).check()
        page.get_by_label("处理及时").check()
        shot(page, "portal-report-6-rating")
        page.get_by_role("button", name="提交评价").click()
        expect(page.locator(".notice.ok")).to_contain_text("感谢您的评价")
        expect(page.locator(".panel")).to_contain_text("您的评价：满意")
        expect(page.get_by_role("button", name="提交评价")).to_have_count(0)
        shot(page, "portal-report-7-rated")
        assert errors == []
    finally:
        context.close()
        _choose_basemap(lead, "none")  # the demo server is shared by the other browser tests

    with node.db.transaction() as s:
        mine_rows = s.execute(select(PortalReport).where(PortalReport.citizen_id == me.citizen_id)).scalars().all()
        assert len(mine_rows) == 1
        assert mine_rows[0].photos == 1
        supports = s.execute(
            select(func.count()).select_from(PortalSupport).where(PortalSupport.case_id == earlier_case)
        ).scalar_one()
        assert supports == 1
    assert earlier_token


def reports_closed(node) -> int:
    with node.db.transaction() as s:
        return reports.notify_closed(s)


def _close_by_staff(demo_server, node, citizen_id: int) -> None:
    """立案 → 派遣 → 处置 → 核查结案 over the staff API, as the demo county's centre and 执法局 do it."""
    from tests.citymgmt.test_workflow_api import act, check, complete
    from tests.conftest import Client
    from zhixian.citymgmt.models import Case, Grid
    from zhixian.platform.models import User
    from zhixian.services.portal.report_models import PortalReport

    with node.db.transaction() as s:
        case_id = s.execute(select(PortalReport.case_id).where(PortalReport.citizen_id == citizen_id)).scalar_one()
        # the tapped pin may sit in a neighbouring grid: its own inspector checks it
        inspector = s.execute(
            select(User.username)
            .join(Grid, Grid.inspector_id == User.id)
            .join(Case, Case.grid_code == Grid.code)
            .where(Case.id == case_id)
        ).scalar_one()
    for who, step in (
        ("acceptor", "file"),
        ("dispatcher", "dispatch"),
        ("handler_zfj", "complete"),
        (inspector, "check"),
    ):
        with Client(base_url=demo_server.url, timeout=30) as staff:
            assert staff.login(who).status_code == 200
            if step == "file":
                resp = act(staff, case_id, "file", note="符合立案标准")
            elif step == "dispatch":
                resp = act(staff, case_id, "dispatch")
            elif step == "complete":
                resp = complete(staff, case_id)
            else:
                resp = check(staff, case_id, passed=True, note="现场已清理")
            assert resp.status_code == 200, (who, step, resp.text)
