"""Bulk export of 1M 人口 rows through the gateway's export job, beside the database's own dump of the
same rows in the same run.

Run: .venv/bin/python bench/exchange_export.py [--rows 1000000] [--backends sqlite,postgresql]
The job is the one `zhixian exchange exports` runs: claim, grant check per batch, keyset batches of
plain rows, the query's masking (ID number, name and address masked, birth date cut to the year), CSV
with BOM, gzip, and a disclosure row per exported record (gathered, filed sorted every 200k rows), then
the call row and one audit record. It is submitted as a signed gateway call, in process (no HTTP server needed).
Baselines, the same columns and rows in id order, uncompressed, unmasked:
- SQLite: the ``sqlite3`` command-line shell, ``-csv`` mode, to a file; and a plain Python cursor
  (fetchmany + csv.writer) to a file;
- PostgreSQL: ``COPY (SELECT …) TO STDOUT (FORMAT csv)`` through psycopg, to a file; and a plain Python
  cursor (psycopg, fetchmany + csv.writer).
Two floors are printed beside them, each a part of the export alone: the plain Python cursor (no masking,
no gzip, no disclosures), and filing the export's disclosure rows alone (the same subjects, through the
job's own ``_disclose``, into a throwaway call). The export cannot be faster than either.
Target (issue 10): the export within 3× the database's own dump.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import secrets
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.conftest import dispose_node, make_node
from tests.exchange.helpers import officer

from zhixian import clock
from zhixian.app import Node
from zhixian.demo.names import ric_check_char
from zhixian.exchange import apps, export_run, gateway, requests, signing
from zhixian.exchange.models import ExportJob
from zhixian.exchange.schemas import ApplicationIn, ApproveIn, RequestIn
from zhixian.platform import masking

AREA = "330402"  # a real district code (嘉兴市南湖区) the demo county's own people do not carry
COLUMNS = (
    "id_index, id_enc, id_masked, name, gender, birth_date, phone_enc, phone_index, phone_masked, address, "
    "division_code, provenance, content_hash, first_run_id, last_run_id, last_row, updated_at"
)
DUMP_SQL = "SELECT id, id_masked, name, gender, birth_date, address, division_code FROM integration_person ORDER BY id"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志红玉兰春梅海燕文"
DAYS = 27_000  # birth dates over ~74 years


def _person(i: int, divisions: list[str], rng: random.Random) -> tuple[str, tuple[Any, ...]]:
    """The i-th synthetic person: a valid, unique ID number (day and sequence from i) and its row."""
    born = date(1950, 1, 1) + timedelta(days=i % DAYS)
    sequence = 900 + i // DAYS  # 900…937 for 1M: never 000, unique with the day
    body = f"{AREA}{born:%Y%m%d}{sequence:03d}"
    idn = body + ric_check_char(body)
    name = rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if i % 3 else "")
    division = divisions[i % len(divisions)]
    row = (
        name,
        "男" if sequence % 2 else "女",
        born,
        f"南湖区新兴路{i % 997 + 1}号{i % 31 + 1}幢",
        division,
    )
    return idn, row


def seed(node: Node, rows: int) -> float:
    """Bulk-inserts ``rows`` persons (SM4 bulk-sealed ID numbers, blind indexes, stored masks)."""
    started = time.perf_counter()
    rng = random.Random(10)
    cipher = node.cipher
    with node.db.engine.connect() as conn:
        divisions = [
            d for (d,) in conn.execute(text("SELECT DISTINCT division_code FROM integration_person")) if d
        ] or ["330421001001"]
    stamp = datetime(2020, 1, 1, tzinfo=UTC)
    raw = node.db.engine.raw_connection()
    try:
        driver: Any = raw.driver_connection
        for start in range(0, rows, 20_000):
            batch = [_person(i, divisions, rng) for i in range(start, min(rows, start + 20_000))]
            sealed = cipher.seal_many([idn for idn, _ in batch])
            values = [
                (
                    cipher.blind_index(idn),
                    enc,
                    masking.id_number(idn),
                    name,
                    gender,
                    born,
                    None,
                    "",
                    "",
                    address,
                    division,
                    "{}",
                    "",
                    0,
                    0,
                    0,
                    stamp,
                )
                for (idn, (name, gender, born, address, division)), enc in zip(batch, sealed, strict=True)
            ]
            if node.db.dialect == "postgresql":
                with driver.cursor() as cur, cur.copy(f"COPY integration_person ({COLUMNS}) FROM STDIN") as copy:
                    for value in values:
                        copy.write_row(value)
            else:
                sql_values = [
                    (*v[:5], v[5].isoformat(), *v[6:16], v[16].strftime("%Y-%m-%d %H:%M:%S.%f")) for v in values
                ]
                marks = ", ".join("?" * 17)
                driver.execute("BEGIN")
                driver.executemany(f"INSERT INTO integration_person ({COLUMNS}) VALUES ({marks})", sql_values)
            driver.commit()
        if node.db.dialect == "postgresql":
            with driver.cursor() as cur:
                cur.execute("ANALYZE integration_person")
            driver.commit()
    finally:
        raw.close()
    return time.perf_counter() - started


def _signed(client_id: str, secret: str, path: str, body: bytes) -> gateway.Incoming:
    stamp, nonce = str(int(clock.utcnow().timestamp())), secrets.token_hex(12)
    headers = {
        signing.HEADER_CLIENT: client_id,
        signing.HEADER_TIMESTAMP: stamp,
        signing.HEADER_NONCE: nonce,
        signing.HEADER_SIGNATURE: signing.sign(secret, "POST", path, "", stamp, nonce, body),
    }
    return gateway.Incoming("POST", path, "", headers, body, "127.0.0.1")


def submit(node: Node, name: str = "导出压测") -> int:
    """A 民政 application granted 人口 by 公安 (whole county), asking for a CSV of every granted item."""
    today = clock.local_today()
    with node.db.transaction() as s:
        resource = int(s.execute(text("SELECT id FROM catalog_resource WHERE base_library = '人口'")).scalar_one())
        mzj, gaj = officer(s, "mzj_officer"), officer(s, "gaj_officer")
        app, secret = apps.create_application(
            s, actor=mzj, cipher=node.cipher, settings=node.settings, data=ApplicationIn(name=name)
        )
        req = requests.submit(
            s,
            actor=mzj,
            settings=node.settings,
            data=RequestIn(
                resource_id=resource,
                items=["id_number", "name", "gender", "birth_date", "address", "division_code"],
                operations=["query"],
                application_id=app.id,
                purpose="压测",
                legal_basis="压测",
                period_start=today,
                period_end=today + timedelta(days=30),
            ),
        )
        requests.approve(s, actor=gaj, settings=node.settings, request_id=req.id, data=ApproveIn())
        client_id = app.client_id
    path = f"/api/v1/exchange/gateway/resources/{resource}/exports"
    body = json.dumps({"format": "csv", "reason": "压测"}).encode()
    with node.db.transaction() as s:
        outcome = gateway.handle(
            s,
            settings=node.settings,
            cipher=node.cipher,
            incoming=_signed(client_id, secret, path, body),
            operation="export",
            resource_id=resource,
        )
    assert outcome.status == 202, outcome.error
    assert outcome.body is not None
    return int(outcome.body["export"]["id"])


def dump_sqlite_cli(db_path: Path, out: Path) -> float:
    started = time.perf_counter()
    with out.open("wb") as f:
        subprocess.run(["sqlite3", "-csv", str(db_path), DUMP_SQL], stdout=f, check=True)
    return time.perf_counter() - started


def dump_sqlite_cursor(db_path: Path, out: Path) -> float:
    started = time.perf_counter()
    conn = sqlite3.connect(db_path)
    try:
        cur = conn.execute(DUMP_SQL)
        with out.open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            while rows := cur.fetchmany(10_000):
                writer.writerows(rows)
    finally:
        conn.close()
    return time.perf_counter() - started


def dump_pg_copy(node: Node, out: Path) -> float:
    started = time.perf_counter()
    raw = node.db.engine.raw_connection()
    try:
        driver: Any = raw.driver_connection
        with (
            driver.cursor() as cur,
            cur.copy(f"COPY ({DUMP_SQL}) TO STDOUT (FORMAT csv)") as copy,
            out.open("wb") as f,
        ):
            for data in copy:
                f.write(data)
        driver.rollback()
    finally:
        raw.close()
    return time.perf_counter() - started


def dump_pg_cursor(node: Node, out: Path) -> float:
    started = time.perf_counter()
    raw = node.db.engine.raw_connection()
    try:
        driver: Any = raw.driver_connection
        with driver.cursor(name="dump") as cur, out.open("w", newline="", encoding="utf-8") as f:
            cur.itersize = 10_000
            cur.execute(DUMP_SQL)
            writer = csv.writer(f)
            while rows := cur.fetchmany(10_000):
                writer.writerows(rows)
        driver.rollback()
    finally:
        raw.close()
    return time.perf_counter() - started


def disclose_alone(node: Node, job_id: int) -> float:
    """Files the export's disclosures again under a throwaway call, timed, then removes them."""
    with node.db.transaction() as s:
        subjects = list(s.execute(text("SELECT id_index FROM integration_person")).scalars())
        call = int(s.execute(text("SELECT call_id FROM exchange_export WHERE id = :j"), {"j": job_id}).scalar_one())
    started = time.perf_counter()
    with node.db.transaction() as s:
        for at in range(0, len(subjects), export_run.DISCLOSE_EVERY):  # as the job flushes them
            export_run._disclose(s, call, {"person": subjects[at : at + export_run.DISCLOSE_EVERY]})  # noqa: SLF001
            s.commit()
    took = time.perf_counter() - started
    with node.db.transaction() as s:
        s.execute(
            text("DELETE FROM exchange_disclosure WHERE id > (SELECT max(id) FROM exchange_disclosure) - :n"),
            {"n": len(subjects)},
        )
    return took


def run_backend(backend: str, rows: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix=f"zx-bench-export-{backend}-"))
    print(f"\n== {backend}: preparing the demo county and {rows:,} persons …", flush=True)
    node = make_node(tmp / "node", backend)
    try:
        took = seed(node, rows)
        with node.db.engine.connect() as conn:
            total = int(conn.execute(text("SELECT count(*) FROM integration_person")).scalar_one())
        print(f"seeded {rows:,} rows in {took:.1f} s; integration_person holds {total:,}")
        job_id = submit(node)
        started = time.perf_counter()
        done = export_run.run_due(node, limit=1)
        export_s = time.perf_counter() - started
        with node.db.transaction() as s:
            job = s.get(ExportJob, job_id)
            assert job is not None
            assert job.status == "done", (done, job.error)
            exported, size = job.rows, job.size
        assert exported == total, (exported, total)
        lines = [(f"gateway export job (masked CSV+BOM, gzip, {exported:,} disclosures)", export_s, size)]
        if backend == "sqlite":
            db_path = Path(node.settings.effective_database_url.removeprefix("sqlite:///"))
            cli_out, cur_out = tmp / "dump-cli.csv", tmp / "dump-cursor.csv"
            cli_s = dump_sqlite_cli(db_path, cli_out)
            cur_s = dump_sqlite_cursor(db_path, cur_out)
            lines += [
                ("sqlite3 shell -csv (baseline)", cli_s, cli_out.stat().st_size),
                ("Python sqlite3 cursor → csv (floor: no masking, gzip, disclosures)", cur_s, cur_out.stat().st_size),
            ]
            baseline = cli_s
        else:
            out, cur_out = tmp / "dump-copy.csv", tmp / "dump-cursor.csv"
            copy_s = dump_pg_copy(node, out)
            cur_s = dump_pg_cursor(node, cur_out)
            lines += [
                ("COPY (SELECT …) TO STDOUT csv (baseline)", copy_s, out.stat().st_size),
                ("Python psycopg cursor → csv (floor: no masking, gzip, disclosures)", cur_s, cur_out.stat().st_size),
            ]
            baseline = copy_s
        lines.append((f"filing the {exported:,} disclosure rows alone (floor)", disclose_alone(node, job_id), 0))
        print(f"{'what':<64}{'seconds':>9}{'rows/s':>11}{'MB':>8}{'× dump':>8}")
        for label, secs, nbytes in lines:
            print(f"{label:<64}{secs:>9.2f}{total / secs:>11,.0f}{nbytes / 1e6:>8.1f}{secs / baseline:>8.2f}")
        ratio = export_s / baseline
        print(f"export / dump = {ratio:.2f}× ({'within' if ratio <= 3 else 'OVER'} the 3× target)")
    finally:
        dispose_node(node)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    clock.unpin()  # tests.conftest pins the test moment; the demo and the job run on the real clock
    os.environ.setdefault("ZHIXIAN_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    for backend in args.backends.split(","):
        run_backend(backend, args.rows)


if __name__ == "__main__":
    main()
