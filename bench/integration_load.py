"""Validated population load (normalise, GB 11643 checks, SM4 + blind index, entity resolution, quarantine)
beside two floors measured in the same run on the same generated file:
- DuckDB's plain read_csv into a table (no validation, no indexes, columnar);
- the bare driver writing the very rows zhixian loaded (already validated and encrypted) into a fresh copy
  of the same table with the same indexes, in transactions of the pipeline's size (sqlite3 executemany in WAL
  mode / psycopg COPY). This is what the database alone costs; zhixian's overhead is the rest.

Run: .venv/bin/python bench/integration_load.py [--rows 1000000] [--backends sqlite,postgresql]
Each backend loads in its own process so its peak memory (ru_maxrss, plus its worker's) is its own.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

WORK = Path(tempfile.gettempdir()) / "zx-bench-integration"
PG_ADMIN = os.environ.get("ZHIXIAN_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def generate(rows: int) -> Path:
    from zhixian.integration import demo

    path = WORK / f"people-{rows}.csv"
    if path.exists():
        return path
    from zhixian.demo.county import generate as county

    demo_county = county(seed=1, county_code="330421", county_name="嘉善县")
    villages = [(d.code, d.name) for d in demo_county.divisions if d.level == "village"]
    start = time.perf_counter()
    demo.write_file(path, demo.PEOPLE_COLUMNS, demo.people_rows(random.Random(7), rows, villages, "330421"))
    print(f"generated {rows:,} rows ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - start:.1f}s")
    return path


def duckdb_floor(path: Path) -> float:
    import duckdb

    con = duckdb.connect(str(WORK / "floor.duckdb"))
    con.execute("DROP TABLE IF EXISTS people")
    start = time.perf_counter()
    con.execute(f"CREATE TABLE people AS SELECT * FROM read_csv('{path}', all_varchar = true, header = true)")
    elapsed = time.perf_counter() - start
    con.close()
    (WORK / "floor.duckdb").unlink(missing_ok=True)
    return elapsed


def child(backend: str, path: Path) -> None:
    """One backend: a fresh node with the demo catalogue, then the real upload → mapping → run path."""
    from tests.conftest import PASSWORD, create_pg_database, drop_pg_database

    from zhixian.app import build_node
    from zhixian.cli import initialise
    from zhixian.demo import seed as demo_seed
    from zhixian.integration import demo, file_sources, pipeline, service, tasks
    from zhixian.integration.models import Run
    from zhixian.integration.schemas import MappingIn
    from zhixian.settings import Settings

    os.environ.setdefault("ZHIXIAN_TEST_PG", PG_ADMIN)
    data_dir = Path(tempfile.mkdtemp(prefix=f"zx-bench-{backend}-"))
    url = create_pg_database() if backend == "postgresql" else ""
    settings = Settings(data_dir=data_dir, database_url=url, max_upload_bytes=4 * 1024**3)  # type: ignore[arg-type]
    node = build_node(settings)
    initialise(node)
    demo_seed.run(node, seed=1, password=PASSWORD)
    actor = service_actor()
    from sqlalchemy import select

    from zhixian.catalog.models import Resource

    with node.db.transaction() as session:
        rid = session.execute(select(Resource.id).where(Resource.base_library == "人口")).scalar_one()
        with path.open("rb") as stream:
            source = file_sources.create_file_source(
                session,
                actor=actor,
                settings=settings,
                name="bench",
                resource_id=rid,
                filename=path.name,
                stream=stream,
            )
        service.set_mapping(session, actor=actor, source_id=source.id, data=MappingIn(columns=demo.PEOPLE_MAPPING))
        sid = source.id
    start = time.perf_counter()
    run_id = tasks.start_system_run(node, sid, trigger="manual")
    pipeline.execute(  # its own batch size and worker
        node.db, node.cipher, run_id, county_code="330421", data_dir=node.settings.data_dir
    )
    elapsed = time.perf_counter() - start
    with node.db.transaction() as session:
        run = session.get(Run, run_id)
        assert run is not None
        report = {k: getattr(run, k) for k in ("read", "loaded", "updated", "unchanged", "quarantined", "duplicates")}
    # before the floor reads every row back: the loader's own peak plus its worker process's
    peak_mb = (
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss + resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    ) / 1024
    node.db.engine.dispose()
    floor = write_floor(node.settings.effective_database_url, pipeline.BIG_BATCH)
    if url:
        drop_pg_database(url)
    shutil.rmtree(data_dir, ignore_errors=True)
    print(json.dumps({"seconds": elapsed, "peak_mb": peak_mb, "report": report, "floor": floor}))


def write_floor(url: str, batch: int) -> float:
    """Seconds for the bare driver to write the loaded person rows again into an empty twin table."""
    from sqlalchemy import MetaData, create_engine

    from zhixian.integration import pipeline
    from zhixian.integration.models import Person

    twin_meta = MetaData()
    twin = Person.__table__.to_metadata(twin_meta, name="floor_person")
    for named in (*twin.indexes, *twin.constraints):
        if isinstance(named.name, str):
            named.name = f"floor_{named.name}"
    engine = create_engine(url)
    twin_meta.create_all(engine)
    columns = [c.name for c in twin.columns if c.name != "id"]
    names = ", ".join(columns)
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute(f"SELECT {names} FROM integration_person ORDER BY id")
        rows = [
            tuple(json.dumps(v, ensure_ascii=False) if isinstance(v, dict) else v for v in row)
            for row in cur.fetchall()
        ]
        cur.close()
        raw.commit()
        start = time.perf_counter()
        if engine.dialect.name == "sqlite":
            sql = f"INSERT INTO floor_person ({names}) VALUES ({', '.join('?' * len(columns))})"
            lite = raw.driver_connection
            lite.isolation_level = None  # explicit BEGIN IMMEDIATE, as zhixian's writer does
            lite.execute("PRAGMA synchronous=NORMAL")  # zhixian's settings (WAL mode is kept in the file)
            lite.execute(f"PRAGMA cache_size=-{pipeline.SQLITE_LOAD_CACHE_KB}")
            cur = lite.cursor()
            for i in range(0, len(rows), batch):
                cur.execute("BEGIN IMMEDIATE")
                cur.executemany(sql, rows[i : i + batch])
                cur.execute("COMMIT")
        else:
            driver = raw.driver_connection
            for i in range(0, len(rows), batch):
                with driver.cursor() as c, c.copy(f"COPY floor_person ({names}) FROM STDIN") as copy:
                    for row in rows[i : i + batch]:
                        copy.write_row(row)
                driver.commit()
        return time.perf_counter() - start
    finally:
        raw.close()
        engine.dispose()


def service_actor():  # type: ignore[no-untyped-def]
    """The node's own actor, placed in a department: a data source must belong to one."""
    import dataclasses

    from zhixian.platform.actor import COUNTY_SCOPE, system_actor

    perms = frozenset({COUNTY_SCOPE, "catalog.review", "catalog.view", "integration.view", "integration.run"})
    return dataclasses.replace(system_actor(perms), department_id=1, department_path="/1/")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--child", default="")
    parser.add_argument("--file", default="")
    args = parser.parse_args()
    if args.child:
        child(args.child, Path(args.file))
        return
    WORK.mkdir(parents=True, exist_ok=True)
    path = generate(args.rows)
    floor = duckdb_floor(path)
    print(f"\n{'load':<44}{'seconds':>9}{'rows/s':>12}{'× DuckDB':>10}{'peak MB':>9}")
    print(f"{'DuckDB read_csv → table (no validation)':<44}{floor:>9.2f}{args.rows / floor:>12,.0f}{1:>10.1f}{'':>9}")
    for backend in args.backends.split(","):
        out = subprocess.run(
            [sys.executable, __file__, "--child", backend, "--file", str(path)],
            capture_output=True,
            text=True,
            check=False,
        )
        lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
        if out.returncode != 0 or not lines:
            print(f"{backend}: failed\n{out.stderr[-2000:]}")
            continue
        result = json.loads(lines[-1])
        secs, bare = result["seconds"], result["floor"]
        label = f"bare driver writes the loaded rows → {backend}"
        print(f"{label:<44}{bare:>9.2f}{args.rows / bare:>12,.0f}{bare / floor:>10.1f}{'':>9}")
        label = f"zhixian validated load → {backend}"
        print(f"{label:<44}{secs:>9.2f}{args.rows / secs:>12,.0f}{secs / floor:>10.1f}{result['peak_mb']:>9.0f}")
        print(f"    {secs / bare:.1f}× the bare write; report: {result['report']}")


if __name__ == "__main__":
    main()
