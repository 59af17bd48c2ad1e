"""`zhixian exchange federation …`: node keys, registration with the upstream node, approval of a
downstream node, catalogue publishing, the outbox and a status summary. Each command acts as 系统 and
what it changes is audited like any other action."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Annotated

import typer

from zhixian.app import Node
from zhixian.errors import DomainError
from zhixian.exchange.federation import catalog_sync, joining, keys, peers, transport
from zhixian.exchange.federation.models import Message
from zhixian.platform.actor import system_actor

app = typer.Typer(help="节点联邦（上下贯通）：密钥、注册、目录发布、消息队列", no_args_is_help=True)
RESULTS = {"queued": "排队中", "delivered": "已送达", "accepted": "已接收", "refused": "被拒绝", "failed": "未送达"}


@contextlib.contextmanager
def _node() -> Iterator[Node]:
    """The command's node; its database is released when the command ends."""
    from zhixian.cli import _opened

    with _opened() as node:
        yield node


def _fail(message: str) -> None:
    typer.secho(message, fg="red", err=True)
    raise typer.Exit(1)


def _key(node: Node) -> keys.NodeKey:
    try:
        return keys.load(node.settings.data_dir)
    except keys.KeyMissing as exc:
        _fail(str(exc))
        raise


@app.command()
def keygen(
    node_id: Annotated[str | None, typer.Option(help="节点标识；默认 zx-<行政区划代码>")] = None,
    name: Annotated[str | None, typer.Option(help="节点名称；默认本县名称")] = None,
    force: Annotated[bool, typer.Option(help="替换已有密钥（对方节点须重新核对指纹）")] = False,
) -> None:
    """生成本节点的签名密钥对（Ed25519），保存在数据目录的 keys/ 下。"""
    with _node() as node:
        settings = node.settings
        try:
            key = keys.generate(
                settings.data_dir,
                node_id=node_id or f"zx-{settings.county_code}",
                name=name or settings.county_name,
                force=force,
            )
        except (ValueError, FileExistsError) as exc:
            _fail(str(exc))
            return
        typer.echo(f"已生成节点 {key.node_id}（{key.name}）的 {key.algorithm} 密钥")
        typer.echo(f"  公钥指纹 {key.fingerprint}   请通过电话或公文告知对方节点管理员核对")


@app.command()
def identity() -> None:
    """打印本节点标识和公钥指纹（一行，以空格分隔；供脚本和核对使用）。"""
    with _node() as node:
        key = _key(node)
    typer.echo(f"{key.node_id} {key.fingerprint}")


@app.command()
def register(
    url: Annotated[str, typer.Option(help="上级节点地址，如 https://city.example.gov.cn")],
    self_url: Annotated[str, typer.Option(help="本节点供上级回送消息的地址")],
    expect: Annotated[str, typer.Option(help="上级管理员告知的公钥指纹（建议填写）")] = "",
) -> None:
    """向上级节点注册：交换节点标识与公钥；上级数据主管部门核对指纹并批准后生效。"""
    with _node() as node:
        key = _key(node)
        try:
            result = joining.register(node.settings, key, url=url, self_url=self_url, expect=expect)
        except joining.JoinFailed as exc:
            _fail(f"注册失败：{exc}")
            return
        try:
            with node.db.transaction() as session:
                peers.pin_upstream(
                    session,
                    node_id=result["node_id"],
                    name=result["name"],
                    base_url=result["base_url"],
                    algorithm=result["algorithm"],
                    public_key=result["public_key"],
                    expect=expect,
                )
        except DomainError as exc:
            _fail(f"注册失败：{exc.detail}")
            return
        typer.echo(f"已向 {result['name']}（{result['node_id']}）注册：{result.get('note', '')}")
        typer.echo(f"  上级公钥指纹 {result['fingerprint']}（已固定）")
        typer.echo(f"  本节点公钥指纹 {key.fingerprint}：请告知上级管理员核对后批准")


@app.command()
def approve(
    node_id: Annotated[str, typer.Argument(help="下级节点标识")],
    fingerprint: Annotated[str, typer.Option(help="对方管理员告知的公钥指纹")] = "",
) -> None:
    """批准下级节点的注册（固定其公钥）。"""
    with _node() as node:
        actor = system_actor(frozenset({"exchange.authority"}))
        try:
            with node.db.transaction() as session:
                peer = peers.by_node(session, node_id)
                if peer is None:
                    _fail(f"没有登记节点 {node_id}")
                    return
                peer = peers.approve(session, actor=actor, peer_id=peer.id, fingerprint=fingerprint)
                name, fp = peer.name, peer.fingerprint
        except DomainError as exc:
            _fail(f"批准失败：{exc.detail}")
            return
        typer.echo(f"已批准 {name}（{node_id}），公钥指纹 {fp}")


@app.command()
def publish(
    peer: Annotated[str | None, typer.Option(help="接收目录的节点标识；默认上级节点")] = None,
    full: Annotated[bool, typer.Option(help="全量重发（对方按摘要去重，不会重复登记）")] = False,
) -> None:
    """向节点发布本节点目录的变更（增量）；对方不可达时排队，之后自动重试。"""
    with _node() as node:
        key = _key(node)
        try:
            with node.db.transaction() as session:
                target = peers.by_node(session, peer) if peer else peers.upstream(session)
                if target is None:
                    _fail(f"没有登记节点 {peer}")
                    return
                message = catalog_sync.publish(session, key=key, peer=target, full=full)
                message_id, peer_id = (message.id if message else None), target.id
        except DomainError as exc:
            _fail(f"发布失败：{exc.detail}")
            return
        if message_id is None:
            typer.echo("目录自上次发布以来没有变化")
            return
        transport.deliver(node.db, settings=node.settings, key=key, peer_id=peer_id, force=True)
        with node.db.transaction() as session:
            row = session.get(Message, message_id)
            if row is not None:
                typer.echo(f"目录消息 {message_id}：{RESULTS.get(row.result, row.result)}，{row.note}")


@app.command()
def deliver() -> None:
    """立即重试所有排队中的消息。"""
    with _node() as node:
        sent = transport.deliver(node.db, settings=node.settings, key=_key(node), force=True)
        with node.db.transaction() as session:
            state = transport.queue_state(session)
        typer.echo(f"已送达 {sent} 条；仍在排队 {state['queued']} 条")


@app.command()
def status() -> None:
    """本节点标识、联邦节点及其状态、排队中的消息与最近的消息记录。"""
    with _node() as node:
        key = _key(node)
        typer.echo(f"本节点 {key.node_id}（{key.name}） {key.algorithm} 公钥指纹 {key.fingerprint}")
        with node.db.transaction() as session:
            for p in peers.list_peers(session):
                role = "上级" if p.role == "upstream" else "下级"
                state = {"pending": "待批准", "active": "已生效", "revoked": "已撤销"}.get(p.status, p.status)
                typer.echo(f"  {role} {p.node_id:<16} {p.name:<12} {state:<4} 指纹 {p.fingerprint}  {p.base_url}")
            queue = transport.queue_state(session)
            typer.echo(f"排队中的消息 {queue['queued']} 条（其中重试中 {queue['retrying']} 条）")
            for m in peers.recent_messages(session, limit=10):
                way = "发出" if m.direction == "out" else "收到"
                typer.echo(
                    f"  {m.at:%Y-%m-%d %H:%M:%S} {way} {m.peer_node:<16} {m.type:<16} "
                    f"{RESULTS.get(m.result, m.result)} {m.note}"
                )
