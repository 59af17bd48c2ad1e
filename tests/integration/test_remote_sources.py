"""SQL sources against the real local MariaDB and PostgreSQL, and a paged HTTP JSON API served in the test."""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import create_engine, func, select, text

from tests.integration.helpers import (
    SQL_COLUMNS,
    SQL_MAPPING,
    JsonApi,
    counts,
    create_source_table,
    ids,
    messy_people,
    person_resource,
    reachable,
    run_source,
)
from zhixian.integration.demo import PEOPLE_COLUMNS, PEOPLE_MAPPING
from zhixian.integration.models import Person, Source
from zhixian.platform.models import AuditRecord

MARIADB = "mysql+pymysql://root@127.0.0.1:3306/test?charset=utf8mb4"
PG = os.environ.get("ZHIXIAN_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(params=["mariadb", "postgresql"])
def sql_table(request):
    url = MARIADB if request.param == "mariadb" else PG
    if not reachable(url):
        pytest.skip(f"{request.param} 不可用")
    table = f"zx_src_{uuid.uuid4().hex[:8]}"
    rows, expected, _ = messy_people(f"sql-{request.param}")
    engine = create_engine(url)
    with engine.begin() as conn:
        create_source_table(conn, table, rows)
    yield url, table, expected
    with engine.begin() as conn:
        conn.execute(text(f"DROP TABLE {table}"))
    engine.dispose()


def test_sql_source_loads_exact_counts(as_user, db, sql_table):
    url, table, expected = sql_table
    client = as_user("gaj_officer")
    before = db.execute(select(func.count()).select_from(Person)).scalar_one()
    created = client.post(
        "/api/v1/integration/sources",
        json={
            "name": "SQL 人口",
            "kind": "sql",
            "resource_id": person_resource(db).id,
            "url": url,
            "query": f"SELECT {', '.join(SQL_COLUMNS)} FROM {table} ORDER BY seq",
            "timeout": 10,
        },
    )
    assert created.status_code == 201, created.text
    sid = created.json()["id"]
    assert client.put(f"/api/v1/integration/sources/{sid}/mapping", json={"columns": SQL_MAPPING}).status_code == 200
    preview = client.get(f"/api/v1/integration/sources/{sid}/preview", params={"rows": 3}).json()
    assert preview["columns"] == SQL_COLUMNS
    assert len(preview["rows"]) == 3
    assert preview["invalid"] == 1
    assert "校验位错误" in preview["rows"][2]["errors"][0]["message"]
    run = run_source(client, sid)
    assert counts(run) == expected
    assert db.execute(select(func.count()).select_from(Person)).scalar_one() == before + expected["loaded"]
    # the secret connection string is stored encrypted, never returned
    assert "url" not in created.json()
    assert "secret_enc" not in created.json()


def test_sql_watermark_sync_reads_only_new_rows(as_user, db, sql_table):
    url, table, expected = sql_table
    client = as_user("gaj_officer")
    created = client.post(
        "/api/v1/integration/sources",
        json={
            "name": "增量",
            "kind": "sql",
            "resource_id": person_resource(db).id,
            "url": url,
            "query": f"SELECT seq, {', '.join(SQL_COLUMNS)} FROM {table}",
            "incremental": "watermark",
            "watermark_column": "seq",
        },
    )
    sid = created.json()["id"]
    client.put(f"/api/v1/integration/sources/{sid}/mapping", json={"columns": SQL_MAPPING})
    first = run_source(client, sid)
    assert counts(first) == expected
    assert first["lineage"]["watermark_from"] == ""
    (new_id,) = ids(f"wm-{table}", 1)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(f"INSERT INTO {table} VALUES (100, :a, '新人', '1', '1990-01-01', '', '', '330421001001')"),
            {"a": new_id},
        )
    engine.dispose()
    second = run_source(client, sid)
    assert (second["read"], second["loaded"]) == (1, 1)
    assert second["lineage"]["watermark_from"] == "11"
    assert client.get(f"/api/v1/integration/sources/{sid}").json()["watermark_value"] == "100"


@pytest.mark.parametrize("which", ["mariadb", "postgresql"])
def test_sql_source_timeout_is_clear_and_changes_nothing(as_user, db, which):
    url = MARIADB if which == "mariadb" else PG
    if not reachable(url):
        pytest.skip(f"{which} 不可用")
    client = as_user("gaj_officer")
    sleep = "SELECT SLEEP(5) AS id_no" if which == "mariadb" else "SELECT pg_sleep(5)::text AS id_no"
    before = db.execute(select(func.count()).select_from(Person)).scalar_one()
    sid = client.post(
        "/api/v1/integration/sources",
        json={
            "name": "慢查询",
            "kind": "sql",
            "resource_id": person_resource(db).id,
            "url": url,
            "query": sleep,
            "timeout": 1,
        },
    ).json()["id"]
    client.put(f"/api/v1/integration/sources/{sid}/mapping", json={"columns": {"id_number": "id_no"}})
    run = run_source(client, sid)
    assert run["status"] == "failed"
    assert "超时" in run["error"]
    assert "未写入任何数据" in run["error"]
    assert db.execute(select(func.count()).select_from(Person)).scalar_one() == before
    runs = client.get("/api/v1/integration/runs", params={"source_id": sid}).json()
    assert runs[0]["status"] == "failed"
    assert runs[0]["read"] == 0


def test_sql_source_refuses_anything_but_one_select(as_user, db):
    client = as_user("gaj_officer")
    body = {"name": "坏查询", "kind": "sql", "resource_id": person_resource(db).id, "url": PG}
    resp = client.post("/api/v1/integration/sources", json={**body, "query": "DELETE FROM x; SELECT 1"})
    assert resp.status_code == 422
    assert [e["field"] for e in resp.json()["errors"]] == ["query"]
    assert "SELECT" in resp.json()["errors"][0]["message"]
    assert db.execute(select(Source).where(Source.name == "坏查询")).first() is None


def test_sql_source_may_not_read_the_platforms_own_database(as_user, db, node):
    """Whoever may register sources must not reach accounts and audit records through one."""
    if node.db.dialect != "postgresql":
        pytest.skip("the platform's own database is SQLite here: no SQL source can name it")
    client = as_user("gaj_officer")
    own = node.db.engine.url.set(host="localhost").render_as_string(hide_password=False)
    resp = client.post(
        "/api/v1/integration/sources",
        json={
            "name": "自身库",
            "kind": "sql",
            "resource_id": person_resource(db).id,
            "url": own,
            "query": "SELECT username FROM user_account",
        },
    )
    assert resp.status_code == 422
    assert resp.json()["errors"][0]["field"] == "url"
    assert "自身的数据库" in resp.json()["detail"]


def test_http_api_source_pages_through_all_records(as_user, db):
    rows, expected, _ = messy_people("http")
    with JsonApi([dict(zip(PEOPLE_COLUMNS, map(str, r), strict=True)) for r in rows]) as api:
        client = as_user("gaj_officer")
        sid = client.post(
            "/api/v1/integration/sources",
            json={
                "name": "接口人口",
                "kind": "http",
                "resource_id": person_resource(db).id,
                "url": api.url,
                "page_size": 5,
            },
        ).json()["id"]
        client.put(f"/api/v1/integration/sources/{sid}/mapping", json={"columns": PEOPLE_MAPPING})
        run = run_source(client, sid)
        assert counts(run) == expected
        assert api.calls == [1, 2, 3]  # 5 + 5 + 2: a short page ends the paging


def test_sql_source_connection_is_replaced_whole_and_audited_without_its_secret(as_user, db, sql_table):
    """A rotated password or a moved database: the connection is given again; bad input changes nothing."""
    url, table, _ = sql_table
    client = as_user("gaj_officer")
    body = {"name": "待迁移", "kind": "sql", "resource_id": person_resource(db).id, "url": PG, "query": "SELECT 1 AS x"}
    sid = client.post("/api/v1/integration/sources", json=body).json()["id"]
    query = f"SELECT {', '.join(SQL_COLUMNS)} FROM {table} ORDER BY seq"
    moved = client.put(
        f"/api/v1/integration/sources/{sid}/connection", json={"kind": "sql", "url": url, "query": query}
    )
    assert moved.status_code == 200, moved.text
    assert "url" not in moved.json()
    assert client.put(f"/api/v1/integration/sources/{sid}/mapping", json={"columns": SQL_MAPPING}).status_code == 200
    assert client.get(f"/api/v1/integration/sources/{sid}/preview", params={"rows": 2}).json()["columns"] == SQL_COLUMNS
    record = db.execute(
        select(AuditRecord).where(
            AuditRecord.action == "integration.source.connection", AuditRecord.object_id == str(sid)
        )
    ).scalar_one()
    assert url not in str(record.detail)
    source = db.get(Source, sid)
    db.refresh(source)
    assert source.config["query"] == query
    for bad, field in (
        ({"kind": "http", "url": "https://example.org/api"}, "kind"),
        ({"kind": "sql", "url": url, "query": "DROP TABLE x"}, "query"),
        ({"kind": "sql", "url": "oracle://u:p@h/db", "query": query}, "url"),
    ):
        refused = client.put(f"/api/v1/integration/sources/{sid}/connection", json=bad)
        assert refused.status_code == 422, (bad, refused.text)
        assert refused.json()["errors"][0]["field"] == field
        db.refresh(source)
        assert source.config["query"] == query
    other = as_user("zjj_officer").put(
        f"/api/v1/integration/sources/{sid}/connection", json={"kind": "sql", "url": url, "query": query}
    )
    assert other.status_code == 404  # another department's source does not exist for it


def test_sql_watermark_column_is_checked_when_saved_not_first_at_run_time(as_user, db):
    client = as_user("gaj_officer")
    body = {"name": "水位", "kind": "sql", "resource_id": person_resource(db).id, "url": PG, "query": "SELECT 1 AS x"}
    bad = {**body, "incremental": "watermark", "watermark_column": "x; DROP TABLE y"}
    refused = client.post("/api/v1/integration/sources", json=bad)
    assert refused.status_code == 422
    assert "水位列名只能含字母、数字、下划线" in refused.text
    sid = client.post("/api/v1/integration/sources", json=body).json()["id"]
    settings = {"schedule": "", "incremental": "watermark", "watermark_column": "更新 时间", "active": True}
    resp = client.put(f"/api/v1/integration/sources/{sid}/settings", json=settings)
    assert resp.status_code == 422
    assert resp.json()["errors"][0]["field"] == "watermark_column"
    ok = client.put(f"/api/v1/integration/sources/{sid}/settings", json={**settings, "watermark_column": "updated_at"})
    assert ok.status_code == 200, ok.text
