"""`zhixian perception …`: the ingest worker process, the demo simulator, and the jobs run once."""

from __future__ import annotations

import signal
import threading
import time
from typing import Annotated

import typer

from zhixian.app import Node

app = typer.Typer(help="城市感知：传感器接入进程、演示模拟器", no_args_is_help=True)


def _node() -> Node:
    """The CLI's own node builder: settings errors become Chinese messages and exit code 2."""
    from zhixian.cli import _node as build

    return build()


@app.command()
def ingest(
    client_id: Annotated[str | None, typer.Option(help="MQTT 客户端标识；同一标识重启可续接未确认的消息")] = None,
    report_every: Annotated[int, typer.Option(help="每隔多少秒打印一次统计（0 不打印）")] = 30,
) -> None:
    """启动一个接入进程：以共享订阅接收设备消息，批量校验入库并运行告警规则。可在多台服务器上各起一个。"""
    from zhixian.perception import settings as conf
    from zhixian.perception.sensors.mqtt import IngestWorker, subscription

    node = _node()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    worker = IngestWorker(node.db, node.settings, client_id=client_id).start()
    host = f"{node.settings.declared(conf.MQTT_HOST)}:{node.settings.declared(conf.MQTT_PORT)}"
    typer.echo(f"接入进程 {worker.client_id} 已连接 {host}，订阅 {subscription(node.settings)}")
    last = time.monotonic()
    try:
        while not stop.wait(1.0):
            if report_every and time.monotonic() - last >= report_every:
                last = time.monotonic()
                s = worker.stats
                typer.echo(
                    f"消息 {s.messages}，接收读数 {s.accepted}，拒收 {s.refused}，告警变化 {s.alarms}，批次 {s.batches}"
                )
            if not worker.alive:
                typer.secho("接入线程意外退出", fg="red", err=True)
                raise typer.Exit(1)
    finally:
        worker.stop()
        node.db.engine.dispose()
    typer.echo(f"接入进程已停止：共处理 {worker.stats.messages} 条消息")


@app.command()
def simulate(
    interval: Annotated[float, typer.Option(help="每台设备的上报间隔（秒）")] = 10.0,
    duration: Annotated[float, typer.Option(help="运行多少秒（0 表示一直运行）")] = 0.0,
    events: Annotated[str, typer.Option(help="要演示的事件，逗号分隔：rain,leak,tilt,fire；空表示全部")] = "",
) -> None:
    """为演示县的传感器经 MQTT 发布逼真的读数：日变化、噪声、一场暴雨、一次燃气泄漏、一个被撞歪的井盖。"""
    from sqlalchemy import select

    from zhixian.perception.sensors import simulate as sim
    from zhixian.perception.sensors.models import Device, Profile

    node = _node()
    with node.db.transaction() as session:
        rows = session.execute(
            select(Device.code, Profile.code)
            .join(Profile, Profile.id == Device.profile_id)
            .where(Device.active.is_(True))
            .order_by(Device.code)
        ).all()
    node.db.engine.dispose()
    devices = [
        (code, profile) for code, profile in rows if profile in sim.DEMO_PREFIX and code[:2] == sim.DEMO_PREFIX[profile]
    ]
    if not devices:
        typer.secho("没有演示设备：先运行 zhixian demo", fg="red", err=True)
        raise typer.Exit(1)
    chosen = {e.strip() for e in events.split(",") if e.strip()} or None
    typer.echo(f"模拟 {len(devices)} 台演示设备，每 {interval:g} 秒上报一次；按 Ctrl+C 停止")
    try:
        sim.publish_loop(node.settings, devices, interval=interval, duration=duration, events=chosen, echo=typer.echo)
    except KeyboardInterrupt:
        typer.echo("模拟器已停止")


@app.command("jobs")
def run_jobs() -> None:
    """立即运行一次告警升级、离线检查、案件同步与数据保留清理（通常由服务进程定时运行）。"""
    from zhixian.perception import tasks

    node = _node()
    try:
        typer.echo(f"告警升级：{tasks.escalate(node)}")
        typer.echo(f"数据保留：{tasks.retention(node)}")
    finally:
        node.db.engine.dispose()
