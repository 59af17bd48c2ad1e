"""`zhixian integration …`: demo source files, runs from the command line, the scheduler tick."""

from __future__ import annotations

import random
from pathlib import Path

import typer

app = typer.Typer(help="数据整合", no_args_is_help=True)


@app.command("demo-files")
def demo_files(
    people: int = typer.Option(200_000, help="人口记录条数"),
    legal: int = typer.Option(20_000, help="法人记录条数"),
    out: Path = typer.Option(Path("demo-files"), help="输出目录"),
    seed: int = typer.Option(20261121, help="随机种子"),
    excel: bool = typer.Option(default=False, help="同时生成 Excel（.xlsx）版本（较慢）"),
) -> None:
    """生成带“脏数据”的演示源文件（人口、法人；CSV，可选 Excel 与 GBK 编码版本）。"""
    from zhixian.app import build_node
    from zhixian.integration import demo

    node = build_node()
    with node.db.transaction() as session:
        villages = demo.villages(session)
    area = node.settings.county_code

    def rng(purpose: str) -> random.Random:
        return random.Random(f"{seed}:{purpose}")  # noqa: S311 - synthetic demo data, reproducible by seed

    written = [
        demo.write_file(
            out / "people.csv", demo.PEOPLE_COLUMNS, demo.people_rows(rng("people"), people, villages, area)
        ),
        demo.write_file(
            out / "people_gbk.csv",
            demo.PEOPLE_COLUMNS,
            demo.people_rows(rng("people-gbk"), min(people, 20_000), villages, area),
            encoding="gb18030",
        ),
        demo.write_file(out / "legal.csv", demo.LEGAL_COLUMNS, demo.legal_rows(rng("legal"), legal, villages, area)),
    ]
    if excel:
        rows = demo.people_rows(rng("people-x"), people, villages, area)
        written.append(demo.write_file(out / "people.xlsx", demo.PEOPLE_COLUMNS, rows))
    for path in written:
        typer.echo(f"{path}  {path.stat().st_size // 1024} KB")


@app.command("run")
def run(
    source_id: int = typer.Argument(..., help="数据源编号"),
    resume: bool = typer.Option(default=False, help="继续未完成的运行"),
) -> None:
    """以“系统”身份立即运行一个数据源（或继续其未完成的运行）。"""
    from sqlalchemy import select

    from zhixian.app import build_node
    from zhixian.integration import pipeline, tasks, worker
    from zhixian.integration.models import Run
    from zhixian.platform import outbound

    node = build_node()
    with node.db.transaction() as session:
        pending = session.execute(
            select(Run.id).where(Run.source_id == source_id, Run.status.in_(("queued", "running", "failed")))
        ).scalar()
    run_id = pending if resume and pending else tasks.start_system_run(node, source_id, trigger="manual")
    with node.db.transaction() as session:
        status = session.execute(select(Run.status).where(Run.id == run_id)).scalar()
    if status == "queued" and not worker.claim(node.db, run_id):  # claimed: no server worker runs it as well
        typer.echo(f"运行 #{run_id} 已由服务器的后台任务执行，请在页面查看进度")
        raise typer.Exit(1)
    pipeline.execute(
        node.db,
        node.cipher,
        run_id,
        county_code=node.settings.county_code,
        progress=lambda r: typer.echo(f"已处理 {r.checkpoint} 行"),
        policy=outbound.Policy.of(node.settings),
        data_dir=node.settings.data_dir,
    )
    with node.db.transaction() as session:
        r = session.get(Run, run_id)
        assert r is not None
        typer.echo(
            f"运行 #{r.id}：读取 {r.read}，新增 {r.loaded}，更新 {r.updated}，未变 {r.unchanged}，"
            f"隔离 {r.quarantined}，重复 {r.duplicates}，同键异值 {r.key_conflicts}，与他部门冲突字段 {r.conflicts}"
        )
