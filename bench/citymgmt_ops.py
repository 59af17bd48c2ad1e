"""Operations-view queries and the evaluation report with 1M cases in the database, SQLite and PostgreSQL.

Each app query (the functions the pages and API call) is timed beside a baseline in the same run: the
same aggregate as one plain SQL statement on the raw table (no app layer), and DuckDB over the same rows.

Run: .venv/bin/python bench/citymgmt_ops.py [--cases 1000000] [--repeat 30] [--backends sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import csv
import gc
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
from sqlalchemy import func, select, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("ZHIXIAN_CITYMGMT_DEMO_CASES", "200")
from tests.conftest import dispose_node, make_node

from zhixian import clock
from zhixian.app import Node
from zhixian.citymgmt import service
from zhixian.citymgmt.cases import figures
from zhixian.citymgmt.config import service as catalogue
from zhixian.citymgmt.evaluation import service as evaluation
from zhixian.citymgmt.models import Case, CaseClass, Grid
from zhixian.platform import service as platform
from zhixian.platform.models import Department, User

# a fixed, representative moment (the 20th of a month, mid-afternoon): "this month" then holds about
# two thirds of a month of the million cases whatever day the bench runs (on the 1st it held hours)
BENCH_NOW = datetime(2026, 11, 20, 15, 0, tzinfo=clock.LOCAL_TZ)
clock.pin(BENCH_NOW)

OPEN = ("reported", "verifying", "dispatching", "handling", "checking")
SOURCES = ["inspector", "hotline", "open311", "sensor", "video", "referral", "leader"]
SOURCE_P = [0.58, 0.22, 0.05, 0.07, 0.05, 0.02, 0.01]
CASE_COLS = [
    "id", "number", "source", "kind", "class_code", "status", "urgent", "description", "address", "lon", "lat",
    "coord_note", "grid_code", "community_code", "street_code", "reporter_id", "reporter_name", "department_id",
    "department_path", "reported_at", "filed_at", "filed_on_time", "dispatched_at", "deadline", "warn_at",
    "completed_at", "handle_seconds", "completed_on_time", "closed_at", "self_disposed", "rework_count",
    "return_count", "postpone_count", "hold_count", "supervise_count", "updated_at",
]  # fmt: skip
EVENT_COLS = ["case_id", "step", "department_id", "from_status", "to_status", "actor_name", "note", "data", "at"]


def generate(node: Node, n: int, seed: int = 7) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Two years of cases on the demo county's real grids, classes and departments (vectorised)."""
    rng = np.random.default_rng(seed)
    with node.db.transaction() as s:
        grids = s.execute(select(Grid.code, Grid.community_code, Grid.street_code, Grid.min_lon, Grid.min_lat)).all()
        classes = s.execute(
            select(CaseClass.code, CaseClass.kind).where(CaseClass.parent_code.is_not(None), CaseClass.active)
        ).all()
        depts = s.execute(select(Department.id, Department.path)).all()
        inspectors = s.execute(select(User.id).where(User.username.like("inspector%"))).scalars().all()
        first_id = int(s.execute(select(func.coalesce(func.max(Case.id), 0))).scalar_one()) + 1
    now = clock.utcnow()
    # seasonality: more reports in summer; a few chronically late departments
    days = np.arange(730)
    weight = 1 + 0.35 * np.sin((days / 365.0) * 2 * np.pi)
    day = rng.choice(days, size=n, p=weight / weight.sum())
    age_s = day * 86400 + rng.integers(0, 86400, size=n)
    reported = [now - timedelta(seconds=int(a)) for a in age_s]
    g = rng.integers(0, len(grids), size=n)
    c = rng.integers(0, len(classes), size=n)
    d = rng.integers(0, len(depts), size=n)
    src = rng.choice(len(SOURCES), size=n, p=SOURCE_P)
    late_dept = rng.random(len(depts)) < 0.15
    u = rng.random(n)
    recent = day < 14
    status = np.where(u < 0.88, "closed", np.where(u < 0.95, "rejected", np.where(u < 0.97, "merged", "on_hold")))
    status = np.where(
        recent,
        np.where(
            u < 0.55,
            "closed",
            np.where(
                u < 0.80, "handling", np.where(u < 0.88, "reported", np.where(u < 0.93, "checking", "dispatching"))
            ),
        ),
        status,
    )
    status = np.where((~recent) & (u > 0.9985), "handling", status)  # a tail of long-overdue cases
    limit_h = rng.choice([4, 8, 24, 48, 120], size=n)
    handle_h = rng.gamma(2.0, limit_h / 3.0) * np.where(late_dept[d], 2.2, 1.0)
    rework = (rng.random(n) < 0.05).astype(int)
    postpone = (rng.random(n) < 0.03).astype(int)
    hold = (status == "on_hold").astype(int) | (rng.random(n) < 0.01).astype(int)
    returned = rng.random(n) < 0.03
    cases: list[tuple[Any, ...]] = []
    events: list[tuple[Any, ...]] = []
    for i in range(n):
        cid = first_id + i
        st = str(status[i])
        rep = reported[i]
        gi = grids[int(g[i])]
        dispatched = st in ("handling", "checking", "closed", "on_hold")
        dept_id, dept_path = depts[int(d[i])] if dispatched else (None, None)
        filed = rep + timedelta(minutes=30) if st not in ("reported", "rejected", "merged") else None
        disp = rep + timedelta(hours=1) if dispatched else None
        deadline = disp + timedelta(hours=float(limit_h[i])) if disp else None
        warn = disp + timedelta(hours=float(limit_h[i]) * 0.8) if disp else None
        done = st in ("checking", "closed")
        completed = disp + timedelta(hours=float(handle_h[i])) if done and disp else None
        if completed and completed > now:
            completed = now
        closed = completed + timedelta(hours=2) if st == "closed" and completed else None
        if closed and closed > now:
            closed = now
        on_time = None if completed is None or deadline is None else completed <= deadline
        source = SOURCES[int(src[i])]
        cases.append(
            (
                cid, f"9{cid:011d}", source, classes[int(c[i])][1], classes[int(c[i])][0], st, False, "", "",
                float(gi[3]) + 0.001, float(gi[4]) + 0.001, "WGS84", gi[0], gi[1], gi[2],
                inspectors[cid % len(inspectors)] if source == "inspector" and inspectors else None, "",
                dept_id, dept_path, rep, filed, None if filed is None else True, disp, deadline, warn, completed,
                None if completed is None else float(handle_h[i]) * 3600, on_time, closed, False, int(rework[i]),
                int(returned[i] and dispatched), int(postpone[i]), int(hold[i]), 0, closed or completed or rep,
            )
        )  # fmt: skip
        if dispatched:
            if returned[i]:
                events.append((cid, "回退", dept_id, "handling", "dispatching", "bench", "", "{}", disp))
            events.append((cid, "派遣", dept_id, "dispatching", "handling", "bench", "", "{}", disp))
    return cases, events


def _sqlite_value(v: Any) -> Any:
    return v.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f") if isinstance(v, datetime) else v


def load(node: Node, cases: list[tuple[Any, ...]], events: list[tuple[Any, ...]]) -> None:
    raw = node.db.engine.raw_connection()
    try:
        cur = raw.cursor()
        if node.db.dialect == "sqlite":
            cur.execute("BEGIN")
            cur.executemany(
                f"INSERT INTO cm_case ({','.join(CASE_COLS)}) VALUES ({','.join('?' * len(CASE_COLS))})",
                ([_sqlite_value(v) for v in row] for row in cases),
            )
            cur.executemany(
                f"INSERT INTO cm_case_event ({','.join(EVENT_COLS)}) VALUES ({','.join('?' * len(EVENT_COLS))})",
                ([_sqlite_value(v) for v in row] for row in events),
            )
            cur.execute("COMMIT")
            cur.execute("ANALYZE")
        else:
            with cur.copy(f"COPY cm_case ({','.join(CASE_COLS)}) FROM STDIN") as cp:  # type: ignore[attr-defined]
                for row in cases:
                    cp.write_row(row)
            with cur.copy(f"COPY cm_case_event ({','.join(EVENT_COLS)}) FROM STDIN") as cp:  # type: ignore[attr-defined]
                for row in events:
                    cp.write_row(row)
            cur.execute("SELECT setval(pg_get_serial_sequence('cm_case', 'id'), (SELECT max(id) FROM cm_case))")
            raw.commit()
            # what autovacuum does after a bulk load: statistics and the visibility map (index-only scans)
            raw.driver_connection.autocommit = True  # type: ignore[attr-defined]
            cur.execute("VACUUM ANALYZE cm_case")
            cur.execute("VACUUM ANALYZE cm_case_event")
    finally:
        raw.close()


def duck(cases: list[tuple[Any, ...]], tmp: Path) -> duckdb.DuckDBPyConnection:
    path = tmp / "cases.csv"
    keep = [
        "id",
        "number",
        "status",
        "source",
        "grid_code",
        "department_id",
        "completed_on_time",
        "reported_at",
        "dispatched_at",
        "deadline",
        "closed_at",
    ]
    idx = [CASE_COLS.index(k) for k in keep]
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(keep)
        for row in cases:
            w.writerow(
                [
                    "" if row[i] is None else (row[i].isoformat() if isinstance(row[i], datetime) else row[i])
                    for i in idx
                ]
            )
    con = duckdb.connect()
    con.execute(
        f"CREATE TABLE cm_case AS SELECT * FROM read_csv('{path}', header=true, "
        "types={'id': 'BIGINT', 'number': 'VARCHAR', 'department_id': 'INTEGER', 'completed_on_time': 'BOOLEAN', 'reported_at': 'TIMESTAMPTZ', 'dispatched_at': 'TIMESTAMPTZ', "
        "'deadline': 'TIMESTAMPTZ', 'closed_at': 'TIMESTAMPTZ'})"
    )
    return con


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, float]:
    fn()  # warm (caches, plans)
    lat = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        lat.append((time.perf_counter() - t) * 1000)
    lat.sort()
    return statistics.median(lat), lat[min(len(lat) - 1, int(len(lat) * 0.99))]


def run(backend: str, n: int, repeat: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix=f"zx-ops-{backend}-"))
    node = make_node(tmp, backend)
    try:
        t = time.perf_counter()
        cases, events = generate(node, n)
        t_gen = time.perf_counter() - t
        t = time.perf_counter()
        load(node, cases, events)
        t_load = time.perf_counter() - t
        t = time.perf_counter()
        con = duck(cases, tmp)
        t_duck = time.perf_counter() - t
        print(
            f"{backend}: {len(cases):,} cases + {len(events):,} events generated in {t_gen:.1f}s, "
            f"loaded in {t_load:.1f}s ({len(cases) / t_load:,.0f} rows/s); DuckDB copy {t_duck:.1f}s",
            flush=True,
        )
        # the generated rows are this script's, not the server's: kept alive, they made every full garbage
        # collection during a timed query walk millions of objects (a 330 ms p99 that was the bench's own)
        del cases, events
        gc.collect()
        now = clock.utcnow()
        today_start = datetime.combine(clock.local_today(), datetime.min.time(), tzinfo=clock.LOCAL_TZ)
        month = today_start.replace(day=1)
        with node.db.transaction() as s:
            acceptor = platform.actor_for(s.execute(select(User).where(User.username == "acceptor")).scalar_one())
            total = s.execute(select(func.count()).select_from(Case)).scalar_one()
        print(f"  cm_case rows: {total:,}; month from {month:%Y-%m-%d}", flush=True)
        dk = {"now": now, "m": month, "t": today_start}
        p = {k: v if backend == "postgresql" else _sqlite_value(v) for k, v in dk.items()}
        raw_open = f"SELECT grid_code, count(*), sum(CASE WHEN status='handling' AND deadline < :now THEN 1 ELSE 0 END) FROM cm_case WHERE status IN {OPEN} GROUP BY grid_code"
        raw_dept = "SELECT department_id, count(*), sum(CASE WHEN status='closed' AND completed_on_time THEN 1 ELSE 0 END) FROM cm_case WHERE dispatched_at >= :m AND department_id IS NOT NULL GROUP BY department_id"
        raw_source = "SELECT source, count(*) FROM cm_case WHERE reported_at >= :m GROUP BY source"
        raw_live = "SELECT id, number FROM cm_case WHERE status='handling' ORDER BY deadline LIMIT 15"
        raw_kpi = (
            f"SELECT (SELECT count(*) FROM cm_case WHERE status IN {OPEN}),"
            " (SELECT count(*) FROM cm_case WHERE status='handling' AND deadline < :now),"
            " (SELECT count(*) FROM cm_case WHERE reported_at >= :t),"
            " (SELECT count(*) FROM cm_case WHERE status='closed' AND closed_at >= :t)"
        )

        def dsql(sql: str) -> Callable[[], Any]:
            q = sql.replace(":now", "$now").replace(":m", "$m").replace(":t", "$t")
            return lambda: con.execute(q, {k: v for k, v in dk.items() if f"${k}" in q}).fetchall()

        with node.db.transaction() as s:

            def raw(sql: str) -> Callable[[], Any]:
                return lambda: s.execute(text(sql), {k: v for k, v in p.items() if f":{k}" in sql}).all()

            def app(fn: Callable[[], Any]) -> Callable[[], Any]:
                def go() -> Any:
                    out = fn()
                    s.expunge_all()  # every request starts with an empty identity map
                    return out

                return go

            rows = [
                ("KPI cards (ops_figures)", app(lambda: figures.ops_figures(s, actor=acceptor)), raw_kpi),
                ("grid shading (grids.geojson)", app(lambda: catalogue.grid_layer(s, actor=acceptor)), raw_open),
                (
                    "live list, red/yellow lights",
                    app(
                        lambda: [
                            service.case_read(s, c)
                            for c in service.list_cases(
                                s, actor=acceptor, flt=service.CaseFilter(status="handling"), limit=15, order="deadline"
                            )[0]
                        ]
                    ),
                    raw_live,
                ),
                (
                    "red-light list (light=red)",
                    app(lambda: service.list_cases(s, actor=acceptor, flt=service.CaseFilter(light="red"), limit=50)),
                    None,
                ),
                ("department ranking (month)", app(lambda: evaluation.department_rows(s, month, now)), raw_dept),
                ("source mix (month)", app(lambda: evaluation.breakdown(s, month, now)), raw_source),
                (
                    "evaluation report: department +mom/yoy",
                    app(lambda: evaluation.report(s, kind="department", start=month, end=now)),
                    None,
                ),
                (
                    "evaluation report: region +mom/yoy",
                    app(lambda: evaluation.report(s, kind="region", start=month, end=now)),
                    None,
                ),
                (
                    "evaluation report: inspector +mom/yoy",
                    app(lambda: evaluation.report(s, kind="inspector", start=month, end=now)),
                    None,
                ),
            ]

            def cold(kind: str) -> Callable[[], Any]:
                def go() -> Any:
                    evaluation._PAST.clear()  # first view: comparison periods computed too  # noqa: SLF001 - a helper of the same feature, not another's internals
                    return evaluation.report(s, kind=kind, start=month, end=now)

                return app(go)

            rows += [(f"evaluation: {k} (first view)", cold(k), None) for k in ("department", "region", "inspector")]
            print(
                f"  {'query':42} {'app p50':>9} {'app p99':>9} | {'raw SQL p50':>11} {'p99':>7} | {'DuckDB p50':>10} {'p99':>7}"
            )
            worst = 0.0
            for name, fn, base in rows:
                a50, a99 = timed(fn, repeat)
                worst = max(worst, a99)
                cells = ""
                if base:
                    r50, r99 = timed(raw(base), repeat)
                    d50, d99 = timed(dsql(base), repeat)
                    cells = f"{r50:11.1f} {r99:7.1f} | {d50:10.1f} {d99:7.1f}"
                print(f"  {name:42} {a50:9.1f} {a99:9.1f} | {cells}", flush=True)
            print(f"  worst app p99 {worst:.1f} ms (target < 300 ms)", flush=True)
    finally:
        dispose_node(node)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--backends", default="sqlite,postgresql")
    args = ap.parse_args()
    if "postgresql" in args.backends and not os.environ.get("ZHIXIAN_TEST_PG"):
        os.environ["ZHIXIAN_TEST_PG"] = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    for backend in args.backends.split(","):
        run(backend, args.cases, args.repeat)


if __name__ == "__main__":
    main()
