"""A department data officer connects a PostgreSQL table in the browser, maps it, schedules it and runs it."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text

from tests.e2e.conftest import shot, sign_in
from tests.integration.helpers import SQL_COLUMNS, messy_people, reachable
from tests.integration.test_pages_remote import ITEM_NAMES, PG, _with_password


@pytest.fixture
def pg_table() -> Iterator[tuple[str, dict[str, int]]]:
    if not reachable(PG):
        pytest.skip("PostgreSQL 不可用")
    table = f"zx_e2e_{uuid.uuid4().hex[:8]}"
    rows, expected, _ = messy_people("e2e-sql")
    engine = create_engine(PG)
    with engine.begin() as conn:
        conn.execute(text(f"CREATE TABLE {table} (seq INTEGER, {', '.join(f'{c} VARCHAR(100)' for c in SQL_COLUMNS)})"))
        conn.execute(
            text(f"INSERT INTO {table} VALUES (:seq, {', '.join(':' + c for c in SQL_COLUMNS)})"),
            [{"seq": i, **dict(zip(SQL_COLUMNS, map(str, r), strict=True))} for i, r in enumerate(rows)],
        )
    yield table, expected
    with engine.begin() as conn:
        conn.execute(text(f"DROP TABLE {table}"))
    engine.dispose()


def test_sql_source_set_up_mapped_scheduled_and_run_in_the_browser(new_page, pg_table) -> None:
    table, expected = pg_table
    secret_url, password = _with_password(PG)
    page = new_page()
    sign_in(page, "gaj_officer")
    page.goto("/integration")
    form = page.locator("#sql-source")
    form.get_by_label("名称", exact=True).fill("派出所人口库")
    form.get_by_label("加载到资源").select_option(label="人口基础信息（101001/000001）")
    form.get_by_label("连接串（SQLAlchemy）").fill(secret_url)
    form.get_by_label("查询语句（一条 SELECT）").fill(f"DELETE FROM {table}")
    form.get_by_role("button", name="建立 SQL 数据源").click()
    page.wait_for_load_state("networkidle")
    # refused beside the field; the connection string is not sent back
    assert form.locator("#sql-query-error").inner_text() == "SQL 数据源只允许一条 SELECT 查询"
    assert form.get_by_label("连接串（SQLAlchemy）").input_value() == ""
    assert form.get_by_label("名称", exact=True).input_value() == "派出所人口库"
    assert password not in page.content()
    shot(page, "integration-sql-form-refused")

    form.get_by_label("连接串（SQLAlchemy）").fill(secret_url)
    form.get_by_label("查询语句（一条 SELECT）").fill(f"SELECT {', '.join(SQL_COLUMNS)} FROM {table} ORDER BY seq")
    form.get_by_role("button", name="建立 SQL 数据源").click()
    page.wait_for_load_state("networkidle")
    assert re.search(r"/integration/sources/\d+$", page.url)
    assert page.get_by_role("cell", name="已加密保存，不显示").is_visible()
    for item, column in zip(ITEM_NAMES, SQL_COLUMNS, strict=True):
        page.get_by_label(item, exact=True).select_option(column)
    page.get_by_role("button", name="保存映射").click()
    page.wait_for_load_state("networkidle")
    assert page.locator("#preview").get_by_text("校验位错误").is_visible()

    page.get_by_label("定时（分 时 日 月 星期）").fill("0 2 * * *")
    page.get_by_role("button", name="保存设置").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("status").inner_text() == "定时与增量设置已保存"
    assert "下次运行：" in page.locator("#f-schedule-hint").inner_text()
    assert password not in page.content()
    shot(page, "integration-sql-source")

    page.get_by_role("button", name="运行加载").click()
    page.wait_for_load_state("networkidle")
    page.locator("#run-status").filter(has_text="完成").wait_for(timeout=30_000)
    assert page.locator(".card", has_text="新增").locator(".value").inner_text() == str(expected["loaded"])
    assert page.locator(".card", has_text="隔离").locator(".value").inner_text() == str(expected["quarantined"])
    page.goto("/integration")
    assert page.get_by_role("cell", name="SQL 数据库").first.is_visible()
    shot(page, "integration-sources")
