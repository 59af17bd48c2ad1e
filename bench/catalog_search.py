"""Catalogue search at 20,000 resources: jieba tokens in FTS5 (SQLite) / GIN tsvector (PostgreSQL),
beside a plain LIKE '%q%' scan on the same data, both through the real service (scope + filters + count).

Run: .venv/bin/python bench/catalog_search.py [--resources 20000] [--backends sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from zhixian.catalog import demo

QUERIES = [
    "人口",
    "行政处罚",
    "营业执照",
    "学籍信息",
    "社会救助对象",
    "不动产登记",
    "排污许可",
    "建筑工地",
    "疫苗接种",
    "身份号码",
    "道路运输",
    "养老服务",
    "河湖长制",
    "食品安全追溯",
    "燃气安全",
]
FILTERS = [{}, {"kind": "部门"}, {"share_type": "无条件共享"}, {"grade": "一般"}]
TOPICS = [
    *demo.TOPICS,
    "营业执照",
    "学籍信息",
    "社会救助对象",
    "不动产登记",
    "排污许可",
    "建筑工地",
    "疫苗接种",
    "道路运输",
    "养老服务",
    "河湖长制",
    "食品安全追溯",
    "燃气安全",
]
ITEMS = [
    "业务编号",
    "事项名称",
    "办理日期",
    "相对人名称",
    "所在区划代码",
    "联系电话",
    "统一社会信用代码",
    "金额",
    "地址",
    "负责人",
    "审批结果",
    "有效期",
]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def run(backend: str, n: int, rounds: int) -> list[tuple[str, float, float, int]]:
    from sqlalchemy import select
    from tests.conftest import PASSWORD, create_pg_database, drop_pg_database

    from zhixian.app import build_node
    from zhixian.catalog import search, service
    from zhixian.catalog.models import DataItem, Resource
    from zhixian.cli import initialise
    from zhixian.demo import seed as demo_seed
    from zhixian.platform.actor import COUNTY_SCOPE, system_actor
    from zhixian.platform.models import Department
    from zhixian.settings import Settings

    os.environ.setdefault("ZHIXIAN_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    url = create_pg_database() if backend == "postgresql" else ""
    settings = Settings(data_dir=Path(tempfile.mkdtemp(prefix="zx-search-")), database_url=url)  # type: ignore[arg-type]
    node = build_node(settings)
    initialise(node)
    demo_seed.run(node, seed=3, password=PASSWORD)
    rng = random.Random(5)
    start = time.perf_counter()
    with node.db.transaction() as session:
        depts = list(session.execute(select(Department)).scalars())
        have = session.execute(select(Resource.id)).all()
        batch: list[Resource] = []
        for i in range(n - len(have)):
            dept = rng.choice(depts)
            topic = rng.choice(TOPICS)
            items = [
                DataItem(seq=k, name=name, field_name=f"f{k}", grade="一般", sensitivity=1)
                for k, name in enumerate(rng.sample(ITEMS, 5), start=1)
            ]
            res = Resource(
                code=f"399{i % 1000:03d}/{i:06d}",
                category=f"399{i % 1000:03d}",
                name=f"{dept.short_name or dept.name}{topic}",
                kind="部门",
                department_id=dept.id,
                summary=f"{dept.name}在履职中产生的{topic}数据，按{rng.choice(['月', '季度', '年'])}更新",
                share_type=rng.choice(["无条件共享", "有条件共享", "不予共享"]),
                grade="一般",
                sensitivity=1,
                status="published",
                linked_codes=[],
                items=items,
            )
            search.reindex(res)
            batch.append(res)
            if len(batch) == 2000:
                session.add_all(batch)
                session.flush()
                session.expunge_all()
                batch = []
        session.add_all(batch)
    if backend == "postgresql":
        with node.db.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE catalog_resource")
    print(f"  {backend}: {n:,} resources ready in {time.perf_counter() - start:.0f}s", flush=True)
    actor = system_actor(frozenset({"catalog.view", "catalog.review", COUNTY_SCOPE}))
    results = []
    for label, like in (
        ("jieba FTS" + (" (FTS5)" if backend == "sqlite" else " (GIN)"), False),
        ("LIKE baseline", True),
    ):
        times: list[float] = []
        slow: list[tuple[float, str, str]] = []
        hits = 0
        with node.db.transaction() as session:
            for r in range(rounds):
                q = QUERIES[r % len(QUERIES)]
                flt = service.ResourceFilter(q=q, **FILTERS[r % len(FILTERS)])
                t0 = time.perf_counter()
                _rows, total = service.list_resources(session, actor=actor, flt=flt, limit=50, like=like)
                times.append(time.perf_counter() - t0)
                hits += total
                slow.append((times[-1], q, str(FILTERS[r % len(FILTERS)])))
        results.append((label, pct(times, 0.5), pct(times, 0.99), hits // rounds))
        worst = max(slow)
        print(f"  {backend} {label}: slowest {worst[0] * 1000:.0f} ms for {worst[1]!r} {worst[2]}", flush=True)
    node.db.engine.dispose()
    if url:
        drop_pg_database(url)
    shutil.rmtree(settings.data_dir, ignore_errors=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--resources", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    print(f"catalogue search, {args.resources:,} resources, {args.rounds} queries each (page of 50 + exact total)")
    rows = []
    for backend in args.backends.split(","):
        rows += [(backend, *r) for r in run(backend, args.resources, args.rounds)]
    print(f"\n{'backend':<12}{'method':<22}{'p50 ms':>9}{'p99 ms':>9}{'avg hits':>10}")
    for backend, label, p50, p99, hits in rows:
        print(f"{backend:<12}{label:<22}{p50:>9.1f}{p99:>9.1f}{hits:>10,}")


if __name__ == "__main__":
    main()
