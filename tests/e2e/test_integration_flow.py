"""A department data officer sets up a CSV source in the browser, previews it, runs it, fixes a quarantined row."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.conftest import shot, sign_in
from tests.integration.extract import messy_extract
from tests.integration.helpers import csv_bytes, messy_people

HEADER = ["公民身份号码", "姓名", "性别", "出生日期", "联系电话", "住址", "户籍地区划代码"]  # item names: auto-mapped


def test_csv_connector_preview_run_fix_and_resubmit(new_page, tmp_path: Path) -> None:
    rows, expected, _ = messy_people("e2e")
    path = tmp_path / "人口信息.csv"
    path.write_bytes(csv_bytes(rows, header=HEADER, encoding="gb18030"))
    page = new_page()
    sign_in(page, "gaj_officer")
    page.goto("/integration")
    page.get_by_label("数据源名称").fill("派出所人口采集表")
    page.get_by_label("加载到目录资源").select_option(label="人口基础信息（101001/000001）")
    page.get_by_label("文件（CSV/Excel/JSON）").set_input_files(str(path))
    page.get_by_role("button", name="上传并检查").click()
    page.wait_for_load_state("networkidle")
    assert "GBK/GB18030" in page.content()
    assert page.get_by_label("公民身份号码").input_value() == "公民身份号码"
    assert page.locator("#preview").get_by_text("校验位错误").is_visible()
    shot(page, "integration-preview")

    page.get_by_role("button", name="保存映射").click()
    page.wait_for_load_state("networkidle")
    page.get_by_role("button", name="运行加载").click()
    page.wait_for_load_state("networkidle")
    assert "/integration/runs/" in page.url
    # the run executes in the background; the report polls itself (htmx, every 2 s) until it is done
    status = page.locator("#run-status")
    status.filter(has_text="完成").wait_for(timeout=30_000)
    cards = {
        label: page.locator(".card", has_text=label).locator(".value").inner_text()
        for label in ("读取", "新增", "隔离", "重复")
    }
    assert cards == {
        "读取": str(expected["read"]),
        "新增": str(expected["loaded"]),
        "隔离": str(expected["quarantined"]),
        "重复": str(expected["duplicates"]),
    }
    shot(page, "integration-run-report")

    still_open = page.locator("#open-invalid")
    assert still_open.inner_text() == f"{expected['quarantined']} 行"
    still_open.click()
    page.wait_for_load_state("networkidle")
    row = page.get_by_role("row", name="第 6 行")
    assert "“姓名”为必填项" in row.inner_text()
    row.get_by_role("link", name="修正").click()
    page.wait_for_load_state("networkidle")
    page.get_by_label("姓名").fill("陈小红")
    shot(page, "integration-quarantine-fix")
    page.get_by_role("button", name="重新提交").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("status").inner_text() == "已处理并记入该记录的变更历史"
    assert page.get_by_role("row", name="第 6 行").count() == 0
    shot(page, "integration-quarantine-after")


def test_catalogue_search_registry_and_quality_dashboard(new_page) -> None:
    page = new_page()
    sign_in(page, "datahub")
    page.goto("/catalog")
    page.get_by_label("检索（名称、摘要、信息项）").fill("人口")
    page.get_by_role("button", name="检索").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("link", name="人口基础信息").is_visible()
    shot(page, "catalog-search")
    page.get_by_role("link", name="人口基础信息").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_text("一般数据（4级）").first.is_visible()
    page.goto("/catalog/systems")
    assert page.locator(".card", has_text="部建").locator(".value").inner_text() == "38"
    shot(page, "catalog-systems")
    page.goto("/integration/quality")
    page.wait_for_load_state("networkidle")
    page.locator("#quality-chart canvas").first.wait_for()
    assert page.get_by_role("cell", name="人口基础信息").is_visible()
    shot(page, "integration-quality")


def test_same_key_rows_are_chosen_in_the_browser_and_show_in_the_record_history(new_page, tmp_path: Path) -> None:
    extract = messy_extract("e2e-choose")
    path = tmp_path / "户籍抽取.csv"
    path.write_bytes(csv_bytes(extract.rows, header=HEADER, encoding="gb18030"))
    page = new_page()
    sign_in(page, "gaj_officer")
    page.goto("/integration")
    page.get_by_label("数据源名称").fill("户籍抽取（留出样本）")
    page.get_by_label("加载到目录资源").select_option(label="人口基础信息（101001/000001）")
    page.get_by_label("文件（CSV/Excel/JSON）").set_input_files(str(path))
    page.get_by_role("button", name="上传并检查").click()
    page.wait_for_load_state("networkidle")
    page.get_by_role("button", name="保存映射").click()
    page.wait_for_load_state("networkidle")
    page.get_by_role("button", name="运行加载").click()
    page.wait_for_load_state("networkidle")
    page.locator("#run-status").filter(has_text="完成").wait_for(timeout=30_000)
    assert (
        page.locator("#run-identity")
        .inner_text()
        .startswith("读取 = 新增 + 更新 + 未变 + 隔离 + 同键异值 + 重复：19 = 19")
    )
    assert page.locator(".card", has_text="同键异值").locator(".value").inner_text() == "3"
    shot(page, "integration-run-conflicts")

    page.locator("#open-conflict").click()
    page.wait_for_load_state("networkidle")
    assert page.locator("#total").inner_text() == "3"
    shot(page, "integration-same-key-list")
    page.get_by_role("row", name="第 14 行").get_by_role("link", name="选择").click()
    page.wait_for_load_state("networkidle")
    shot(page, "integration-same-key-choose")
    page.locator("#pairs").get_by_role("radio").nth(1).check()
    page.get_by_role("button", name="按所选保存").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("status").inner_text() == "已处理并记入该记录的变更历史"

    page.goto("/integration/lookup")
    page.get_by_label("公民身份号码").fill(extract.ids[4])
    page.get_by_role("button", name="查询人口记录").click()
    page.wait_for_load_state("networkidle")
    history = page.locator("#history")
    _, phone_b = extract.phones["p4"]
    assert f"{phone_b[:3]}****{phone_b[-4:]}" in history.inner_text()
    assert "gaj_officer" in history.inner_text()
    shot(page, "integration-record-history")
