"""Messy source files with known outcomes, shared by the integration tests."""

from __future__ import annotations

import csv
import io
import json
import random
import threading
import time
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import xlwt
from openpyxl import Workbook
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session

from zhixian.catalog.models import Resource
from zhixian.demo import names
from zhixian.integration import worker
from zhixian.integration.demo import PEOPLE_COLUMNS, PEOPLE_MAPPING

FULL = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")


def ids(seed: str, n: int) -> list[str]:
    rng = random.Random(seed)
    return [
        names.id_number(rng, area_code="330421", birth=date(1960 + i % 40, 1 + i % 12, 1 + i % 28), male=i % 2 == 0)
        for i in range(n)
    ]


def messy_people(seed: str = "messy") -> tuple[list[list[object]], dict[str, int], dict[int, str]]:
    """Rows (without header), expected counts, and the expected reason fragment per bad row number."""
    a, b, c, d, e, f, g, h, i, j, k = ids(seed, 11)
    bad_check = c[:17] + ("1" if c[17] != "1" else "2")
    rows: list[list[object]] = [
        [a, "张三", "1", "1980-01-02", "13812345678", "罗星街道1号", "330421001001"],  # 2 ok
        [b.translate(FULL), "李四", "女", "1981/2/3", "+86 139 1234 5678", "魏塘街道2号", "330421001001"],  # 3 ok
        [bad_check, "王五", "男", "1982-03-04", "13712345678", "惠民街道3号", "330421001001"],  # 4 bad id
        [a, "张三", "1", "1980-01-02", "13812345678", "罗星街道1号", "330421001001"],  # 5 duplicate of 2
        [d, "", "2", "1983-04-05", "13612345678", "西塘镇4号", "330421001001"],  # 6 missing name
        [e, "赵六", "1", "1984-05-06", "1361234567", "姚庄镇5号", "330421001001"],  # 7 short phone
        [f, "钱七", "X", "1985-06-07", "", "陶庄镇6号", "330421001001"],  # 8 bad gender
        [g, "孙八", "男", "1986年7月8日", "", "干窑镇7号", "330421001001"],  # 9 ok
        [h, "周九", "女", "19870809", "", "天凝镇8号", "330421001001"],  # 10 ok
        [i, "吴十", "男", "32874", "", "大云镇9号", "330421"],  # 11 ok: Excel serial, 6-digit division code
        [j, "郑一", "女", "1990-13-45", "", "罗星街道10号", "330421001001"],  # 12 bad date
        [k, "冯二", "男", "1991-01-01", "", "罗星街道11号", "330421999999"],  # 13 unknown county division
    ]
    expected = {"read": 12, "loaded": 5, "updated": 0, "unchanged": 0, "quarantined": 6, "duplicates": 1}
    reasons = {
        4: "“公民身份号码”校验位错误",
        6: "“姓名”为必填项",
        7: "“联系电话”应为 11 位手机号码",
        8: "“性别”取值",
        12: "“出生日期”日期不存在",
        13: "“户籍地区划代码”不是本县已登记的行政区划代码",
    }
    return rows, expected, reasons


def csv_bytes(rows: list[list[object]], header: list[str] = PEOPLE_COLUMNS, encoding: str = "utf-8-sig") -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list[object]], header: list[str] = PEOPLE_COLUMNS, merge: str = "") -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(header)
    for row in rows:
        ws.append(row)
    if merge:
        ws.merge_cells(merge)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def xls_bytes(rows: list[list[object]], header: list[str] = PEOPLE_COLUMNS) -> bytes:
    """The legacy binary workbook (BIFF8) many county offices still export."""
    wb = xlwt.Workbook(encoding="utf-8")
    ws = wb.add_sheet("人口")
    for r, row in enumerate([header, *rows]):
        for c, value in enumerate(row):
            ws.write(r, c, value)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def json_bytes(rows: list[list[object]], header: list[str] = PEOPLE_COLUMNS) -> bytes:
    return json.dumps({"data": [dict(zip(header, r, strict=True)) for r in rows]}, ensure_ascii=False).encode()


# a departmental table as a SQL source holds it: its own column names, everything as text
SQL_COLUMNS = ["id_no", "xm", "xb", "csrq", "lxdh", "zz", "qh"]
SQL_MAPPING = dict(zip(PEOPLE_MAPPING, SQL_COLUMNS, strict=True))


def create_source_table(conn: Any, table: str, rows: list[list[object]]) -> None:
    """The messy rows as a table of a real PostgreSQL/MariaDB database, with a seq column to order by."""
    cols = ", ".join(f"{c} VARCHAR(100)" for c in SQL_COLUMNS)
    conn.execute(text(f"CREATE TABLE {table} (seq INTEGER, {cols})"))
    conn.execute(
        text(f"INSERT INTO {table} VALUES (:seq, {', '.join(':' + c for c in SQL_COLUMNS)})"),
        [{"seq": i, **dict(zip(SQL_COLUMNS, map(str, r), strict=True))} for i, r in enumerate(rows)],
    )


def reachable(url: str) -> bool:
    """Whether a local database server of a SQL source test answers (else the test is skipped)."""
    try:
        engine = create_engine(url)
        with engine.connect():
            pass
        engine.dispose()
    except Exception:  # noqa: BLE001 - any failure is recorded and the loop goes on
        return False
    return True


def person_resource(db: Session) -> Resource:
    return db.execute(select(Resource).where(Resource.base_library == "人口")).scalar_one()


def upload(client, db: Session, content: bytes, filename: str = "people.csv", name: str = "测试人口源"):  # type: ignore[no-untyped-def]
    return client.post(
        "/api/v1/integration/sources/upload",
        files={"file": (filename, content)},
        data={"name": name, "resource_id": str(person_resource(db).id)},
    )


def set_people_mapping(client, source_id: int) -> None:  # type: ignore[no-untyped-def]
    resp = client.put(f"/api/v1/integration/sources/{source_id}/mapping", json={"columns": PEOPLE_MAPPING})
    assert resp.status_code == 200, resp.text


def counts(run: dict[str, int]) -> dict[str, int]:
    return {k: run[k] for k in ("read", "loaded", "updated", "unchanged", "quarantined", "duplicates")}


def wait_run(client, accepted, timeout: float = 60.0) -> dict:  # type: ignore[no-untyped-def]
    """A run request answers 202 at once; poll its status URL until the background run has finished.

    The test server shares one database connection (the rolled-back test transaction) between
    its threads, so the worker is let finish before the first poll instead of racing it.
    """
    assert accepted.status_code == 202, accepted.text
    body = accepted.json()
    assert body["status"] == "queued"
    assert accepted.headers["Location"] == body["status_url"]
    deadline = time.monotonic() + timeout
    assert worker.wait_idle(timeout), "运行未在限定时间内结束"
    while True:
        run = client.get(body["status_url"]).json()
        if run["status"] in ("succeeded", "failed"):
            return run
        assert time.monotonic() < deadline, f"运行 #{body['id']} 超时：{run['status']}"
        time.sleep(0.05)


def run_source(client, source_id: int, timeout: float = 60.0) -> dict:  # type: ignore[no-untyped-def]
    return wait_run(client, client.post(f"/api/v1/integration/sources/{source_id}/runs"), timeout)


class JsonApi:
    """A paged JSON API on loopback, as a departmental system exposes one; it records the pages asked
    for and the Authorization header of every request."""

    def __init__(
        self, records: list[dict[str, str]], *, records_key: str = "data", page: str = "page", size: str = "size"
    ):
        self.calls: list[int] = []
        self.auth: list[str] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                api.auth.append(self.headers.get("Authorization", ""))
                query = parse_qs(urlparse(self.path).query)
                number, per = int(query[page][0]), int(query[size][0])
                api.calls.append(number)
                chunk = records[(number - 1) * per : number * per]
                body = json.dumps({records_key: chunk, "total": len(records)}, ensure_ascii=False).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_port}/people"

    def __enter__(self) -> JsonApi:
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
