"""SQL and HTTP sources set up through the pages, as a browser would post the forms (CSRF token from the page).

The SQL sources read real tables in the local PostgreSQL and MariaDB; the HTTP source reads a paged JSON
API served in the test. Connection strings and tokens are secrets: no page may show them again.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from tests.integration.helpers import (
    SQL_COLUMNS,
    SQL_MAPPING,
    JsonApi,
    create_source_table,
    csv_bytes,
    messy_people,
    person_resource,
    reachable,
    upload,
)
from zhixian.catalog.models import Resource
from zhixian.integration import worker
from zhixian.integration.models import Source
from zhixian.platform.models import AuditRecord, Department

MARIADB = "mysql+pymysql://root@127.0.0.1:3306/test?charset=utf8mb4"
PG = os.environ.get("ZHIXIAN_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
ITEM_NAMES = [
    "公民身份号码",
    "姓名",
    "性别",
    "出生日期",
    "联系电话",
    "住址",
    "户籍地区划代码",
]  # the editor suggests these
PASSWORD_IN_URL = "Zx-Pw-5e1f0c"  # the local servers trust 127.0.0.1, so any password connects
TOKEN = "zx-token-9b27d4e1"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _with_password(url: str) -> tuple[str, str]:
    """The URL with a password in it, and that password (the one already there, if any)."""
    parsed = make_url(url)
    password = parsed.password or PASSWORD_IN_URL
    return parsed.set(password=password).render_as_string(hide_password=False), str(password)


def browser(as_user, username: str):  # type: ignore[no-untyped-def]
    """A signed-in client that sends forms like a browser: no CSRF header, the token from the page."""
    client = as_user(username)
    del client.headers["X-CSRF-Token"]
    client.headers["Accept"] = "text/html"
    return client


def post_form(client, page: str, action: str, data: dict[str, str]):  # type: ignore[no-untyped-def]
    html = client.get(page)
    assert html.status_code == 200, html.text[:300]
    token = CSRF.search(html.text)
    assert token, "页面中没有 CSRF 表单字段"
    return client.post(action, data={"csrf_token": token.group(1), **data})


def card(html: str, label: str) -> int:
    found = re.search(rf'<div class="value">(?:<a [^>]*>)?(\d+)(?:</a>)?</div><div class="label">{label}[<（]', html)
    assert found, label
    return int(found.group(1))


def source_count(db) -> int:  # type: ignore[no-untyped-def]
    return db.execute(select(func.count()).select_from(Source)).scalar_one()


@pytest.fixture(params=["postgresql", "mariadb"])
def sql_table(request) -> Iterator[tuple[str, str, str, dict[str, int]]]:
    """(URL with a password, that password, table, expected counts); MariaDB gets a reader with a password."""
    admin = PG if request.param == "postgresql" else MARIADB
    if not reachable(admin):
        pytest.skip(f"{request.param} 不可用")
    table = f"zx_page_{uuid.uuid4().hex[:8]}"
    reader = f"zx_reader_{uuid.uuid4().hex[:8]}"
    rows, expected, _ = messy_people(f"page-{request.param}")
    engine = create_engine(admin)
    with engine.begin() as conn:
        create_source_table(conn, table, rows)
        if request.param == "mariadb":
            conn.execute(text(f"CREATE USER '{reader}'@'%' IDENTIFIED BY '{PASSWORD_IN_URL}'"))
            conn.execute(text(f"GRANT SELECT ON {table} TO '{reader}'@'%'"))
    if request.param == "mariadb":
        url, password = make_url(admin).set(username=reader, password=PASSWORD_IN_URL), PASSWORD_IN_URL
        yield url.render_as_string(hide_password=False), password, table, expected
    else:
        yield (*_with_password(admin), table, expected)
    with engine.begin() as conn:
        conn.execute(text(f"DROP TABLE {table}"))
        if request.param == "mariadb":
            conn.execute(text(f"DROP USER '{reader}'@'%'"))
    engine.dispose()


def test_sql_source_from_the_page_previews_maps_runs_and_never_shows_its_connection_string(as_user, db, sql_table):
    secret_url, password, table, expected = sql_table
    client = browser(as_user, "gaj_officer")
    query = f"SELECT {', '.join(SQL_COLUMNS)} FROM {table} ORDER BY seq"
    created = post_form(
        client,
        "/integration",
        "/integration/sources/remote",
        {
            "kind": "sql",
            "name": "派出所人口库",
            "resource_id": str(person_resource(db).id),
            "url": secret_url,
            "query": query,
            "timeout": "10",
        },
    )
    assert created.status_code == 303, created.text[:500]
    sid = int(created.headers["Location"].rsplit("/", 1)[1])
    row = db.get(Source, sid)
    assert (row.kind, row.config, row.department_id) == (
        "sql",
        {"timeout": 10, "query": query},
        db.execute(select(Department.id).where(Department.code == "gaj")).scalar_one(),
    )
    assert row.secret_enc
    assert password not in row.secret_enc
    audit = db.execute(
        select(AuditRecord).where(AuditRecord.action == "integration.source.create", AuditRecord.object_id == str(sid))
    ).scalar_one()
    assert audit.username == "gaj_officer"
    assert password not in json.dumps(audit.detail)

    page = client.get(f"/integration/sources/{sid}")
    assert page.status_code == 200
    assert "SQL 数据库" in page.text
    assert "已加密保存，不显示" in page.text
    assert table in page.text  # the query is shown; the connection string is not
    assert all(f"<th>{c}</th>" in page.text for c in SQL_COLUMNS), re.findall(r"notice err[^<]*<", page.text)
    assert '<select id="f-map_id_number" name="map_id_number">' in page.text

    mapping = {f"map_{field}": column for field, column in SQL_MAPPING.items()}
    saved = post_form(client, f"/integration/sources/{sid}", f"/integration/sources/{sid}/mapping", mapping)
    assert saved.status_code == 303, saved.text[:500]
    db.refresh(row)
    assert row.mapping_version == 1
    page = client.get(f"/integration/sources/{sid}")
    assert '<option value="id_no" selected>id_no</option>' in page.text
    assert "校验位错误" in page.text  # the preview now checks the rows as they will load
    assert '<span class="tag red">不通过 6</span>' in page.text
    assert "运行加载" in page.text

    started = post_form(client, f"/integration/sources/{sid}", f"/integration/sources/{sid}/run", {})
    assert started.status_code == 303, started.text[:500]
    assert re.fullmatch(r"/integration/runs/\d+", started.headers["Location"])
    assert worker.wait_idle(60), "运行未在限定时间内结束"
    report = client.get(started.headers["Location"])
    assert report.status_code == 200
    assert 'id="run-status">完成<' in report.text, report.text[:2000]
    assert {
        k: card(report.text, label)
        for k, label in (("read", "读取"), ("loaded", "新增"), ("quarantined", "隔离"), ("duplicates", "重复"))
    } == {k: expected[k] for k in ("read", "loaded", "quarantined", "duplicates")}
    assert "派出所人口库（SQL 数据库）" in report.text

    for path in ("/integration", f"/integration/sources/{sid}", started.headers["Location"]):
        html = client.get(path).text
        assert password not in html, path
        assert secret_url not in html, path


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name": ""}, "名称：必填"),
        ({"url": ""}, "连接串：必填"),
        ({"url": "sqlite:///var/zhixian/zhixian.db"}, "连接串：不支持该数据库类型"),
        ({"url": "mysql+mysqldb://root:{pw}@127.0.0.1/test"}, "连接串：服务器没有连接串指定的数据库驱动"),
        ({"url": "postgresql+psycopg://u:{pw}@host:port/db"}, "连接串：连接串格式不正确"),
        ({"query": "DELETE FROM people"}, "查询语句：SQL 数据源只允许一条 SELECT 查询"),
        ({"query": "SELECT 1; DROP TABLE people"}, "查询语句：SQL 数据源只允许一条 SELECT 查询"),
        ({"query": ""}, "查询语句：SQL 数据源须填写查询语句"),
        ({"timeout": "0"}, "超时（秒）：不能小于 1"),
        ({"timeout": "很久"}, "超时（秒）：必须是整数"),
        ({"resource_id": "999999"}, "目标目录资源不存在"),
    ],
)
def test_sql_form_refuses_bad_input_naming_the_field_and_saves_nothing(as_user, db, change, message):
    secret_url, password = _with_password(PG)
    client = browser(as_user, "gaj_officer")
    before = source_count(db)
    data = {
        "kind": "sql",
        "name": "坏输入",
        "resource_id": str(person_resource(db).id),
        "url": secret_url,
        "query": "SELECT 1 AS id_no",
        "timeout": "10",
    }
    data.update({k: v.format(pw=password) for k, v in change.items()})
    resp = post_form(client, "/integration", "/integration/sources/remote", data)
    assert 400 <= resp.status_code < 500, resp.text[:500]
    assert resp.headers["content-type"].startswith("text/html")
    assert "SQL 数据源未建立" in resp.text
    assert message in resp.text
    assert password not in resp.text
    assert source_count(db) == before
    if change.get("name") != "":
        assert 'value="坏输入"' in resp.text  # what is not secret is kept for the next try


def test_sql_source_that_cannot_connect_says_so_without_its_password(as_user, db):
    client = browser(as_user, "gaj_officer")
    created = post_form(
        client,
        "/integration",
        "/integration/sources/remote",
        {
            "kind": "sql",
            "name": "连不上",
            "resource_id": str(person_resource(db).id),
            "url": f"postgresql+psycopg://zx_nobody:{PASSWORD_IN_URL}@127.0.0.1:1/none",
            "query": "SELECT 1 AS id_no",
            "timeout": "3",
        },
    )
    assert created.status_code == 303, created.text[:500]
    page = client.get(created.headers["Location"])
    assert page.status_code == 200
    assert "数据源查询失败" in page.text
    assert PASSWORD_IN_URL not in page.text
    assert "保存映射" not in page.text  # nothing read, so nothing to map yet


@pytest.fixture
def people_api() -> Iterator[JsonApi]:
    rows, _, _ = messy_people("page-http")
    records = [dict(zip(ITEM_NAMES, map(str, r), strict=True)) for r in rows]
    with JsonApi(records, records_key="rows", page="pageNo", size="pageSize") as api:
        yield api


def _http_form(db, api: JsonApi, name: str) -> dict[str, str]:
    """The HTTP source form as a user fills it for the test API (rows under "rows", pageNo/pageSize)."""
    return {
        "kind": "http",
        "name": name,
        "resource_id": str(person_resource(db).id),
        "url": api.url,
        "records_key": "rows",
        "page_param": "pageNo",
        "size_param": "pageSize",
        "page_size": "5",
        "token": TOKEN,
        "timeout": "5",
    }


def test_http_source_from_the_page_previews_with_its_token_and_never_shows_it(as_user, db, people_api):
    client = browser(as_user, "gaj_officer")
    created = post_form(client, "/integration", "/integration/sources/remote", _http_form(db, people_api, "人口接口"))
    assert created.status_code == 303, created.text[:500]
    sid = int(created.headers["Location"].rsplit("/", 1)[1])
    row = db.get(Source, sid)
    assert row.kind == "http"
    assert row.config["url"] == people_api.url
    assert (row.config["records_key"], row.config["page_size"]) == ("rows", 5)
    assert TOKEN not in json.dumps(row.config)

    page = client.get(f"/integration/sources/{sid}")
    assert page.status_code == 200
    assert people_api.auth[0] == f"Bearer {TOKEN}"
    assert people_api.url in page.text
    assert "已设置（加密保存，不显示）" in page.text
    assert "pageNo / pageSize" in page.text
    assert "<th>公民身份号码</th>" in page.text
    assert "校验位错误" in page.text
    # the API's field names are the item names, so the editor suggests the mapping and checks with it
    assert '<option value="公民身份号码" selected>公民身份号码</option>' in page.text
    for path in ("/integration", f"/integration/sources/{sid}"):
        assert TOKEN not in client.get(path).text


@pytest.mark.parametrize(
    ("change", "message", "echoed"),
    [
        ({"url": "ftp://127.0.0.1/people"}, "接口地址：接口地址必须以 http:// 或 https:// 开头", True),
        ({"url": "http://admin:Zx-Basic-77@127.0.0.1/people"}, "接口地址中不能包含用户名或密码", False),
        ({"page_param": "page no"}, "页码参数名：参数名须为", True),
        ({"page_size": "100000"}, "每页条数：不能大于 10000", True),
    ],
)
def test_http_form_refuses_bad_input_naming_the_field(as_user, db, change, message, echoed):
    client = browser(as_user, "gaj_officer")
    before = source_count(db)
    data = {
        "kind": "http",
        "name": "坏接口<b>x</b>",
        "resource_id": str(person_resource(db).id),
        "url": "http://127.0.0.1:9/people",
        "token": TOKEN,
        **change,
    }
    resp = post_form(client, "/integration", "/integration/sources/remote", data)
    assert resp.status_code == 422, resp.text[:500]
    assert "接口数据源未建立" in resp.text
    assert message in resp.text
    assert TOKEN not in resp.text
    assert "Zx-Basic-77" not in resp.text
    assert 'value="坏接口&lt;b&gt;x&lt;/b&gt;"' in resp.text  # echoed escaped
    assert (f'value="{data["url"]}"' in resp.text) == echoed
    assert source_count(db) == before


def test_settings_form_saves_schedule_and_watermark_and_refuses_a_bad_cron(as_user, db):
    api = as_user("gaj_officer")
    rows, _, _ = messy_people("page-settings")
    sid = upload(api, db, csv_bytes(rows)).json()["id"]
    client = browser(as_user, "gaj_officer")
    page = f"/integration/sources/{sid}"
    assert 'id="f-schedule" name="schedule" type="text" value=""' in client.get(page).text

    saved = post_form(
        client,
        page,
        f"{page}/settings",
        {"schedule": "0 2 * * *", "incremental": "watermark", "watermark_column": "身份证号", "active": "on"},
    )
    assert saved.status_code == 303, saved.text[:500]
    assert saved.headers["Location"] == f"{page}?saved=settings"
    row = db.get(Source, sid)
    db.refresh(row)
    assert (row.schedule, row.incremental, row.watermark_column, row.active) == (
        "0 2 * * *",
        "watermark",
        "身份证号",
        True,
    )
    assert row.next_run_at is not None
    shown = client.get(saved.headers["Location"]).text
    assert "定时与增量设置已保存" in shown
    assert 'value="0 2 * * *"' in shown
    assert '<option value="watermark" selected>' in shown
    assert "下次运行：" in shown
    assert db.execute(
        select(AuditRecord).where(
            AuditRecord.action == "integration.source.settings", AuditRecord.object_id == str(sid)
        )
    ).scalar_one()
    assert api.get(f"/api/v1/integration/sources/{sid}").json()["schedule"] == "0 2 * * *"

    for schedule, message in (
        ("61 * * * *", "定时：定时表达式“分钟”超出范围 0–59"),
        ("每天两点", "定时：定时表达式应为 5 段"),
        ("*/0 * * * *", "步长不正确"),
    ):
        refused = post_form(
            client, page, f"{page}/settings", {"schedule": schedule, "incremental": "hash", "active": "on"}
        )
        assert refused.status_code == 422, (schedule, refused.text[:500])
        assert "设置未保存" in refused.text
        assert message in refused.text
        assert f'value="{schedule}"' in refused.text  # the typed value stays in the field to correct it
        assert 'class="field-error" id="f-schedule-error"' in refused.text
    no_column = post_form(client, page, f"{page}/settings", {"schedule": "", "incremental": "watermark"})
    assert no_column.status_code == 422
    assert "水位列：按水位增量同步须指定水位列" in no_column.text
    db.refresh(row)
    assert (row.schedule, row.incremental, row.watermark_column) == ("0 2 * * *", "watermark", "身份证号")

    # unticking 启用 stops the source; clearing 定时 makes it on demand
    assert post_form(client, page, f"{page}/settings", {"schedule": "", "incremental": "hash"}).status_code == 303
    db.refresh(row)
    assert (row.schedule, row.next_run_at, row.active) == ("", None, False)


def _foreign_resource(db, department: str) -> Resource | None:  # type: ignore[no-untyped-def]
    return db.execute(
        select(Resource)
        .join(Department, Department.id == Resource.department_id)
        .where(
            Department.code == department,
            Resource.kind != "基础",
            Resource.status == "published",
            Resource.classified.is_(False),
            Resource.key_field != "",
        )
        .limit(1)
    ).scalar_one_or_none()


def test_other_departments_and_users_without_permission_are_refused(as_user, db):
    secret_url, _ = _with_password(PG)
    gaj = as_user("gaj_officer")
    sid = gaj.post(
        "/api/v1/integration/sources",
        json={
            "name": "公安库",
            "kind": "sql",
            "resource_id": person_resource(db).id,
            "url": secret_url,
            "query": "SELECT 1 AS id_no",
        },
    ).json()["id"]
    before = source_count(db)

    other = browser(as_user, "zjj_officer")
    assert other.get(f"/integration/sources/{sid}").status_code == 404
    refused = post_form(other, "/integration", f"/integration/sources/{sid}/settings", {"schedule": "0 2 * * *"})
    assert refused.status_code == 404
    assert db.get(Source, sid).schedule == ""
    foreign = _foreign_resource(db, "gaj")
    if foreign is not None:
        resp = post_form(
            other,
            "/integration",
            "/integration/sources/remote",
            {"kind": "sql", "name": "越权", "resource_id": str(foreign.id), "url": secret_url, "query": "SELECT 1"},
        )
        assert resp.status_code == 403
        assert "只能向本部门的目录资源或全县基础库加载数据" in resp.text
    assert source_count(db) == before

    leader = browser(as_user, "leader")  # may look at integration, not set it up
    index = leader.get("/integration")
    assert index.status_code == 200
    assert 'id="sql-source"' not in index.text
    resp = post_form(
        leader,
        "/integration",
        "/integration/sources/remote",
        {
            "kind": "sql",
            "name": "越权",
            "resource_id": str(person_resource(db).id),
            "url": secret_url,
            "query": "SELECT 1",
        },
    )
    assert resp.status_code == 403
    assert browser(as_user, "inspector01").get("/integration").status_code == 403

    # a form posted without the page's CSRF token is refused
    forged = browser(as_user, "gaj_officer").post(
        "/integration/sources/remote",
        data={
            "kind": "sql",
            "name": "伪造",
            "resource_id": str(person_resource(db).id),
            "url": secret_url,
            "query": "SELECT 1",
        },
    )
    assert forged.status_code == 403
    assert "CSRF" in forged.text
    assert source_count(db) == before


def test_connection_form_rotates_the_token_keeps_it_hidden_and_refuses_a_bad_address(as_user, db, people_api):
    client = browser(as_user, "gaj_officer")
    form = _http_form(db, people_api, "人口接口（轮换）")
    created = post_form(client, "/integration", "/integration/sources/remote", form)
    assert created.status_code == 303, created.text[:500]
    page = created.headers["Location"]
    sid = int(page.rsplit("/", 1)[1])
    shown = client.get(page).text
    assert "更换连接" in shown
    assert f'name="url" type="text" value="{people_api.url}"' in shown  # the address is not a secret: prefilled
    assert TOKEN not in shown

    connection = {k: form[k] for k in ("url", "records_key", "page_param", "size_param", "page_size", "timeout")}
    bad = post_form(
        client, page, f"{page}/connection", {**connection, "url": "ftp://127.0.0.1/people", "token": "x" * 12}
    )
    assert bad.status_code == 422
    assert "连接未更换" in bad.text
    assert "接口地址必须以 http:// 或 https:// 开头" in bad.text
    assert "x" * 12 not in bad.text  # a token typed into a refused form is not echoed either
    row = db.get(Source, sid)
    db.refresh(row)
    assert row.config["url"] == people_api.url

    rotated = post_form(client, page, f"{page}/connection", {**connection, "token": "zx-token-rotated-42"})
    assert rotated.status_code == 303, rotated.text[:500]
    assert rotated.headers["Location"] == f"{page}?saved=connection"
    after = client.get(rotated.headers["Location"]).text
    assert "连接已更换并记入审计日志" in after
    assert "zx-token-rotated-42" not in after
    assert people_api.auth[-1] == "Bearer zx-token-rotated-42"  # the preview on the page now sends the new token
