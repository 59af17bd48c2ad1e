"""A case on phone and desktop: inspector reports with a photo, centre files and dispatches, the department
handles it, the inspector checks it, and the operations view shows it closed. Screenshots in test-artifacts/."""

from __future__ import annotations

import re

import shapely
from PIL import Image
from sqlalchemy import select

from tests.e2e.conftest import shot, sign_in


def _photo(tmp_path, name: str, color: str):
    path = tmp_path / name
    Image.new("RGB", (320, 240), color).save(path, "JPEG")
    return path


def _spot(demo_server):
    from zhixian.citymgmt.models import Grid
    from zhixian.platform.models import User

    node = demo_server.app.state.node
    with node.db.transaction() as s:
        uid = s.execute(select(User.id).where(User.username == "inspector01")).scalar_one()
        wkt = s.execute(select(Grid.wkt).where(Grid.inspector_id == uid).order_by(Grid.code)).scalars().first()
    p = shapely.from_wkt(wkt).representative_point()
    return p.x, p.y


def test_case_walks_from_phone_report_to_closed(new_page, demo_server, tmp_path) -> None:
    lon, lat = _spot(demo_server)
    phone = new_page(phone=True)
    sign_in(phone, "inspector01")
    phone.goto("/citymgmt/report")
    phone.get_by_label("问题类别").select_option("S0102")
    phone.get_by_label("现场照片").set_input_files(str(_photo(tmp_path, "before.jpg", "brown")))
    phone.get_by_label("经度").fill(f"{lon:.6f}")
    phone.get_by_label("纬度").fill(f"{lat:.6f}")
    phone.get_by_label("问题描述").fill("人行道上有成堆垃圾")
    shot(phone, "citymgmt-1-inspector-report")
    phone.get_by_role("button", name="提交上报").click()
    link = phone.locator("#cm-report-msg a")
    link.wait_for(timeout=15000)
    number = re.search(r"\d{12}", link.inner_text()).group(0)
    case_url = link.get_attribute("href")
    shot(phone, "citymgmt-2-reported")

    desk = new_page()
    sign_in(desk, "acceptor")
    desk.goto(case_url)
    desk.get_by_role("button", name="立案", exact=True).click()
    desk.get_by_text("已完成：立案").wait_for()
    shot(desk, "citymgmt-3-acceptor-filed")

    disp = new_page()
    sign_in(disp, "dispatcher")
    disp.goto(case_url)
    assert "综合行政执法局" in disp.locator("select[name=department_id] option:checked").inner_text()
    disp.get_by_role("button", name="派遣", exact=True).click()
    disp.get_by_text("已完成：派遣").wait_for()
    shot(disp, "citymgmt-4-dispatched")

    handler = new_page(phone=True)
    sign_in(handler, "handler_zfj")
    handler.goto("/citymgmt/my")
    assert number in handler.content()
    shot(handler, "citymgmt-5-handler-tasks")
    handler.goto(case_url)
    handler.get_by_label("处置后照片").set_input_files(str(_photo(tmp_path, "after.jpg", "gray")))
    handler.locator("form[action$='/act/complete'] textarea").fill("已清运完毕")
    handler.get_by_role("button", name="处置反馈", exact=True).click()
    handler.get_by_text("已完成：处置反馈").wait_for()

    phone.goto("/citymgmt/my")
    phone.get_by_text(number).click()
    phone.get_by_label("通过，结案").check()
    phone.get_by_label("核查照片").set_input_files(str(_photo(tmp_path, "check.jpg", "darkgreen")))
    phone.get_by_role("button", name="核查", exact=True).click()
    phone.get_by_text("已完成：核查").wait_for()
    shot(phone, "citymgmt-6-inspector-checked")

    ops = new_page()
    sign_in(ops, "leader")
    ops.goto("/citymgmt/ops")
    row = ops.locator("#recent-closed tr", has_text=number)
    assert "已结案" in row.inner_text()
    ops.wait_for_timeout(1500)  # map tiles are vector layers: give them a moment before the screenshot
    shot(ops, "citymgmt-7-ops-view")
