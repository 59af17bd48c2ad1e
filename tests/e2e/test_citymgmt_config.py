"""The centre's shift leader changes the run parameters in a browser; a bad weight is refused beside its field."""

from __future__ import annotations

from tests.e2e.conftest import shot, sign_in


def test_shift_leader_tunes_the_yellow_light_and_weights(new_page) -> None:
    page = new_page()
    sign_in(page, "shiftlead")
    page.goto("/citymgmt/config")
    page.get_by_role("link", name="修改运行参数").click()
    page.get_by_label("黄灯提醒：剩余时限不足（%）").fill("30")
    page.get_by_label("结案率", exact=True).fill("0.5")  # now 0.5 + 0.5 + 0.2: refused
    page.get_by_role("button", name="保存").click()
    assert page.locator("#f-w_ontime_close_rate-error").inner_text().find("合计为 1") >= 0
    shot(page, "citymgmt-parameters-refused")
    page.get_by_label("结案率", exact=True).fill("0.3")
    page.get_by_label("按期结案率").fill("0.5")
    page.get_by_role("button", name="保存").click()
    page.wait_for_url("**/citymgmt/config/parameters?saved=1")
    assert page.get_by_label("黄灯提醒：剩余时限不足（%）").input_value() == "30"
    shot(page, "citymgmt-parameters-saved")
    # the demo server is shared by the other browser tests: put the shipped value back
    page.get_by_label("黄灯提醒：剩余时限不足（%）").fill("20")
    page.get_by_role("button", name="保存").click()
    page.wait_for_url("**/citymgmt/config/parameters?saved=1")
