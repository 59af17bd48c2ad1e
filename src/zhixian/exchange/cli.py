"""`zhixian exchange …`: the change feed's sweep and the subscriptions' deliveries, for worker processes."""

from __future__ import annotations

import time

import typer

app = typer.Typer(help="数据共享", no_args_is_help=True)


@app.command("deliver")
def deliver(
    loop: bool = typer.Option(default=False, help="持续运行（每隔 --every 秒一轮），按 Ctrl+C 停止"),
    every: float = typer.Option(5.0, min=0.5, help="持续运行时每轮的间隔秒数"),
    sweep: bool = typer.Option(default=True, help="先登记变更并为订阅排队（多个进程可只让一个做）"),
) -> None:
    """登记数据变更、为订阅排队，并推送到期的批次（可在多个进程中同时运行，同一批次只会被一个进程认领）。"""
    from zhixian.app import build_node
    from zhixian.exchange import tasks

    node = build_node()
    try:
        while True:
            if sweep:
                queued = tasks.feed_sweep(node)
                typer.echo(f"变更登记 {queued['logged']} 条，排队 {queued['queued']} 批")
            done = tasks.deliver(node)
            typer.echo(f"送达 {done['delivered']} 批，失败待重试 {done['failed']} 批，因授权暂停 {done['held']} 批")
            if not loop:
                break
            time.sleep(every)
    except KeyboardInterrupt:
        typer.echo("已停止")
    finally:
        node.db.engine.dispose()


@app.command("exports")
def run_exports(
    loop: bool = typer.Option(default=False, help="持续运行（每隔 --every 秒一轮），按 Ctrl+C 停止"),
    every: float = typer.Option(5.0, min=0.5, help="持续运行时每轮的间隔秒数"),
) -> None:
    """生成排队中的批量导出文件并删除过期文件（可在多个进程中同时运行，同一任务只会被一个进程认领）。"""
    from zhixian.app import build_node
    from zhixian.exchange import tasks

    node = build_node()
    try:
        while True:
            done = tasks.exports(node)
            typer.echo(f"导出完成 {done['done']} 个，失败 {done['failed']} 个，删除过期文件 {done['expired']} 个")
            if not loop:
                break
            time.sleep(every)
    except KeyboardInterrupt:
        typer.echo("已停止")
    finally:
        node.db.engine.dispose()
