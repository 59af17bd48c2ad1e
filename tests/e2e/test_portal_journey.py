"""The citizen's whole journey on a phone (390×844) in a real browser, as issue 12 asks: a person signs in with
the code from the outbox, reports a problem on the map with a photo and finds it in 我的反映, applies online for
a matter whose shared data, household and ID-card licence are pre-filled after consent, uploads the rest and
submits; window01 accepts it and the 民政局 approver reviews, decides and finishes it on desktop pages; the person
then sees 已办结 and the notice, and rates it. Screenshots in test-artifacts/portal-journey-*."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import shapely
from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import select

from tests.e2e.conftest import shot, sign_in
from tests.services.helpers import licensed_person
from tests.services.portal_helpers import CODE
from zhixian.integration.models import Person
from zhixian.services.models import Matter, Rating, ServiceApplication

MATTER = "最低生活保障对象认定"  # 民政局: 申请表, shared 身份及户籍, shared household, 收入材料, the ID-card licence
PHONE = "13912340012"
APPLICATION = re.compile(r"/portal/me/applications/(\d+)$")
WIDE = "document.documentElement.scrollWidth > window.innerWidth + 1"


def _person_with_household(node) -> tuple[str, str]:
    """An adult demo person holding a valid 居民身份证, and a child registered at their address: the demo population has
    no two people at one address, so the household the matter asks for is added here."""
    child = "330421201403150027"
    with node.db.transaction() as session:
        skip = 0
        while True:  # an adult: the demo hands licences to children too
            key, name, row = licensed_person(session, node.cipher, skip=skip)
            if row.birth_date and row.birth_date.year <= 1990:
                break
            skip += 1
        if session.execute(select(Person.id).where(Person.id_index == node.cipher.blind_index(child))).first() is None:
            session.add(
                Person(
                    id_index=node.cipher.blind_index(child),
                    id_enc=node.cipher.encrypt(child),
                    id_masked="330421********0027",
                    name="同户小孩",
                    gender="女",
                    birth_date=date(2014, 3, 15),
                    address=row.address,
                    division_code=row.division_code,
                )
            )
    return key, name


def _sign_in_citizen(page, outbox: Path, name: str, key: str) -> None:
    page.goto("/portal/login")
    expect(page.get_by_role("heading", name="实名登录")).to_be_visible()
    sent = len(outbox.read_text().splitlines()) if outbox.exists() else 0
    page.get_by_label("姓名").fill(name)
    page.get_by_label("公民身份号码").fill(key)
    page.get_by_label("手机号码").fill(PHONE)
    shot(page, "portal-journey-1-login")
    page.get_by_role("button", name="获取验证码").click()
    expect(page.get_by_label("验证码")).to_be_visible()
    lines = outbox.read_text().splitlines()[sent:]
    found = [m.group(1) for m in map(CODE.search, lines) if m]
    assert found, lines
    page.get_by_label("验证码").fill(found[-1])
    shot(page, "portal-journey-2-code")
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/portal/me")
    expect(page.get_by_role("heading", name="我的", exact=True)).to_be_visible()


def _report_with_photo(page, photo: Path) -> None:
    page.goto("/portal/report")
    expect(page.get_by_role("heading", name="我要反映")).to_be_visible()
    map_ = page.get_by_role("application", name="地图：点击选择问题位置")
    expect(map_).to_be_visible()
    page.get_by_role("button", name="定位到我").click()
    expect(page.get_by_text("当前位置")).to_be_visible()
    page.get_by_label("问题类型").select_option(label="垃圾堆放")
    page.get_by_label("问题描述").fill("小区东门垃圾桶满了三天没人清运")
    page.get_by_label(re.compile("^现场照片")).set_input_files(str(photo))
    assert not page.evaluate(WIDE)
    shot(page, "portal-journey-3-report")
    page.get_by_role("button", name="提交反映").click()
    page.wait_for_url("**/portal/reports/*?sent=1")
    expect(page.get_by_role("heading", name="暴露垃圾")).to_be_visible()
    expect(page.get_by_text("已收到您的反映")).to_be_visible()
    expect(page.locator("main")).to_contain_text("1 张")
    shot(page, "portal-journey-4-report-sent")

    page.goto("/portal/me")
    page.get_by_role("link", name="我反映的问题").click()
    page.wait_for_url("**/portal/reports/mine")
    expect(page.get_by_role("heading", name="我的反映")).to_be_visible()
    mine = page.get_by_role("listitem").filter(has_text="暴露垃圾")
    expect(mine).to_have_count(1)
    expect(mine).to_contain_text("小区东门垃圾桶满了三天没人清运")
    shot(page, "portal-journey-5-my-reports")


def _apply_online(page, pdf: Path) -> int:
    page.goto("/portal/matters")
    page.get_by_label("搜索事项").fill(MATTER)
    page.get_by_role("button", name="搜索").click()
    page.wait_for_url("**/portal/matters?q=*")
    page.get_by_role("link", name=MATTER, exact=True).first.click()
    expect(page.get_by_role("heading", name=MATTER)).to_be_visible()
    materials = page.get_by_role("list").filter(has_text="申请表")
    expect(materials).to_contain_text("共享数据")
    expect(materials).to_contain_text("电子证照")
    page.get_by_role("checkbox", name=re.compile("同意本次办理使用我的共享数据和电子证照")).check()
    shot(page, "portal-journey-6-matter-consent")
    page.get_by_role("button", name="在线申请").click()
    page.wait_for_url(APPLICATION)
    app_id = int(APPLICATION.search(page.url).group(1))

    # pre-filled after consent: 身份及户籍 and the household from shared data, the ID card from its licence
    section = page.locator("#materials")
    for name, how in (
        ("申请人身份及户籍信息", "共享数据"),
        ("家庭成员及户籍信息", "共享数据"),
        ("申请人居民身份证", "电子证照"),
    ):
        expect(section.get_by_role("listitem").filter(has_text=name).first).to_contain_text(how)
    expect(section.get_by_role("heading", name="同户成员（由共享数据预填）")).to_be_visible()
    shot(page, "portal-journey-7-prefilled")

    for name in ("申请表", "家庭收入及财产申报材料"):
        page.get_by_label(f"上传{name}").set_input_files(str(pdf))
        page.get_by_label(f"上传{name}").locator("xpath=ancestor::form").get_by_role(
            "button", name="上传", exact=True
        ).click()
        expect(page.get_by_role("status")).to_have_text("材料已上传")
        expect(page.get_by_label(f"上传{name}")).to_have_count(0)
    assert not page.evaluate(WIDE)
    shot(page, "portal-journey-8-uploaded")
    page.get_by_label("说明（可选）").fill("家中两口人，收入材料已上传")
    page.get_by_role("button", name="提交申请").click()
    expect(page.get_by_role("status")).to_contain_text("已提交，等待窗口受理")
    expect(page.locator("main")).to_contain_text("待受理")
    shot(page, "portal-journey-9-submitted")
    return app_id


def _staff_finish(new_page, app_id: int, number: str) -> None:
    clerk = new_page()
    sign_in(clerk, "window01")
    clerk.goto("/services/window")
    expect(clerk.get_by_role("heading", name="窗口受理")).to_be_visible()
    row = clerk.get_by_role("row").filter(has_text=MATTER).first
    row.get_by_role("link").click()
    clerk.wait_for_url(f"**/services/applications/{app_id}")
    expect(clerk.get_by_role("heading", level=1)).to_contain_text(number)
    expect(clerk.locator("main")).to_contain_text("申请人已同意")
    expect(clerk.locator("main")).to_contain_text("网上申请（申请人本人提交）")
    shot(clerk, "portal-journey-10-window")
    clerk.get_by_role("button", name="受理", exact=True).click()
    expect(clerk.get_by_role("heading", level=1)).to_contain_text("审查中")
    shot(clerk, "portal-journey-11-accepted")

    approver = new_page()
    sign_in(approver, "mzj_approver")
    approver.goto(f"/services/applications/{app_id}")
    approver.get_by_label("审查意见").fill("材料齐全，家庭收入低于保障标准")
    approver.get_by_role("button", name="审查通过").click()
    expect(approver.get_by_role("heading", level=1)).to_contain_text("待决定")
    approver.get_by_label("决定", exact=True).select_option(label="准予")
    approver.get_by_label("决定意见").fill("经审查，符合最低生活保障条件，准予认定")
    approver.get_by_role("button", name="作出决定").click()
    expect(approver.get_by_role("heading", level=1)).to_contain_text("待办结")
    approver.get_by_role("button", name="办结", exact=True).click()
    expect(approver.get_by_role("heading", level=1)).to_contain_text("已办结")
    shot(approver, "portal-journey-12-finished")


def _own_spot(node) -> tuple[float, float]:
    """A point in the county's last grid: away from the spot the other phone tests report at, so their open
    reports are not "nearby" here (the form would offer them first) and ours not there."""
    from zhixian.citymgmt.models import Grid

    with node.db.transaction() as s:
        wkt = s.execute(select(Grid.wkt).order_by(Grid.code.desc())).scalars().first()
    p = shapely.from_wkt(wkt).representative_point()
    return p.x, p.y


def test_a_citizen_reports_applies_and_rates_on_a_phone_while_staff_finish_the_application(
    browser, new_page, demo_server, tmp_path
) -> None:
    node = demo_server.app.state.node
    key, name = _person_with_household(node)
    lon, lat = _own_spot(node)
    outbox = Path(node.settings.data_dir) / "outbox" / "sms.log"
    photo = tmp_path / "scene.jpg"
    Image.new("RGB", (800, 600), "seagreen").save(photo, "JPEG")
    pdf = tmp_path / "材料.pdf"
    pdf.write_bytes(b"%PDF-1.4\n% journey test\n")

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
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        _sign_in_citizen(page, outbox, name, key)
        _report_with_photo(page, photo)
        app_id = _apply_online(page, pdf)
        number = page.locator("main code").first.inner_text()

        _staff_finish(new_page, app_id, number)

        page.goto("/portal/me")
        notice = page.locator("#notices").get_by_role("listitem").filter(has_text=f"您申请的“{MATTER}”已办结")
        expect(notice).to_contain_text(number)
        mine = page.locator("#applications").get_by_role("listitem").filter(has_text=MATTER).first
        expect(mine).to_contain_text("已办结")
        shot(page, "portal-journey-13-notice")
        notice.get_by_role("link").click()
        page.wait_for_url(APPLICATION)
        assert page.url.endswith(f"/portal/me/applications/{app_id}")
        expect(page.locator("main")).to_contain_text("已办结")
        expect(page.locator("main")).to_contain_text("决定意见：经审查，符合最低生活保障条件，准予认定")
        grades = page.get_by_role("group", name="评价等级").get_by_role("radio")
        expect(grades).to_have_count(5)
        page.get_by_label("非常满意", exact=True).check()
        page.get_by_label("网上办方便").check()
        page.get_by_label("意见").fill("在手机上就办完了，不用跑窗口")
        shot(page, "portal-journey-14-rating")
        page.get_by_role("button", name="提交评价").click()
        expect(page.get_by_role("status")).to_have_text("感谢你的评价")
        expect(page.locator("#rating")).to_contain_text("你的评价：非常满意（网上办方便）")
        expect(page.get_by_role("button", name="提交评价")).to_have_count(0)
        assert not page.evaluate(WIDE)
        shot(page, "portal-journey-15-rated")
        assert errors == []
    finally:
        context.close()

    with node.db.sessionmaker() as session:
        app = session.get(ServiceApplication, app_id)
        assert app is not None
        assert app.channel == "online"
        assert app.status == "done"
        assert session.get(Matter, app.matter_id).name == MATTER
        rating = session.execute(select(Rating).where(Rating.application_id == app_id)).scalar_one()
        assert (rating.grade, rating.channel, rating.reasons) == (5, "online", ["网上办方便"])
        assert rating.recorded_by.startswith("citizen:")
