"""The `zhixian` command. Subsystems attach their own sub-commands through their Subsystem.cli."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from sqlalchemy import select

from zhixian import migrate, subsystems
from zhixian.app import Node, build_node
from zhixian.errors import DomainError
from zhixian.platform.actor import Actor, system_actor
from zhixian.settings import Settings

app = typer.Typer(help="智县 zhixian：县域智慧城市运行平台", no_args_is_help=True, add_completion=False)
db_app = typer.Typer(help="数据库迁移", no_args_is_help=True)
user_app = typer.Typer(help="账号管理（以“系统”身份执行并记入审计）", no_args_is_help=True)
audit_app = typer.Typer(help="审计日志", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
app.add_typer(audit_app, name="audit")


def _node() -> Node:
    try:
        node = build_node(Settings())
    except ValidationError as exc:
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"]) or "配置"
            typer.secho(f"配置错误 {where}：{err['msg']}", fg="red", err=True)
        raise typer.Exit(2) from None
    except ValueError as exc:
        typer.secho(f"配置错误：{exc}", fg="red", err=True)
        raise typer.Exit(2) from None
    return node


@contextlib.contextmanager
def _opened() -> Iterator[Node]:
    """A node for one command; its database files are released when the command ends."""
    node = _node()
    try:
        yield node
    finally:
        node.db.engine.dispose()


def _fail(message: str) -> None:
    typer.secho(message, fg="red", err=True)
    raise typer.Exit(1)


# --- database


@db_app.command("upgrade")
def db_upgrade() -> None:
    """把所有已启用子系统的表结构升级到最新版本。"""
    with _opened() as node:
        migrate.upgrade(node.registry, node.settings.effective_database_url)
        typer.echo("数据库已是最新版本")


@db_app.command("revision")
def db_revision(
    subsystem: Annotated[str, typer.Option(help="子系统代码")], message: Annotated[str, typer.Option("-m", help="说明")]
) -> None:
    """为某个子系统自动生成迁移（只包含它自己的表）。"""
    with _opened() as node:
        migrate.revision(node.registry, node.settings.effective_database_url, subsystem=subsystem, message=message)


# --- init and demo


def initialise(node: Node) -> list[tuple[str, str, str]]:
    """Migrate, seed roles, and create the three bootstrap administrators once (passwords shown once)."""
    from zhixian.platform import accounts, auth
    from zhixian.platform.models import Department, Division, Role, User

    migrate.upgrade(node.registry, node.settings.effective_database_url)
    created: list[tuple[str, str, str]] = []
    with node.db.transaction() as session:
        accounts.sync_builtin_roles(session, registry=node.registry)
        settings = node.settings
        if session.get(Division, settings.county_code + "000000") is None:
            session.add(
                Division(
                    code=settings.county_code + "000000",
                    name=settings.county_name,
                    level="county",
                    kind="县",
                    parent_code=None,
                )
            )
            session.flush()
        if session.execute(select(User.id).limit(1)).first() is None:
            dept = session.execute(select(Department).where(Department.code == "sjb")).scalar_one_or_none()
            if dept is None:
                dept = Department(
                    code="sjb",
                    name=f"{settings.county_name}大数据发展管理中心",
                    short_name="政务数据办",
                    kind="政府直属机构",
                    path="/",
                )
                session.add(dept)
                session.flush()
                dept.path = f"/{dept.id}/"
            for username, full_name, role in (
                ("sysadmin", "系统管理员", "sysadmin"),
                ("secadmin", "安全管理员", "secadmin"),
                ("auditor", "审计管理员", "auditor"),
            ):
                password = auth.generate_password()
                user = User(
                    username=username,
                    full_name=full_name,
                    department_id=dept.id,
                    password_hash=auth.hash_password(password),
                    must_change_password=True,
                )
                user.roles = [r for r in [session.get(Role, role)] if r is not None]
                session.add(user)
                created.append((username, role, password))
            session.flush()
            from zhixian.platform import audit

            # the bootstrap of the three administrators is the break-glass path of 三权分立: audited
            audit.record(
                session,
                system_actor().audit,
                action="break_glass",
                object_type="admin_duty",
                detail={"what": "初始化三员账号", "accounts": [u for u, _, _ in created]},
            )
    return created


@app.command()
def init() -> None:
    """初始化：建表、内置角色、三个初始管理员账号（首次登录须改密码）。"""
    with _opened() as node:
        created = initialise(node)
        typer.echo(
            f"已初始化 {node.settings.county_name}（{node.settings.county_code}），数据目录 {node.settings.data_dir}"
        )
        for username, role, password in created:
            typer.echo(f"  初始账号 {username:<10} 角色 {role:<10} 密码 {password}   （只显示这一次）")


@app.command()
def demo(
    seed: Annotated[int, typer.Option(help="随机种子，相同种子生成相同的县")] = 20261121,
    password: Annotated[str | None, typer.Option(help="所有演示账号的密码；默认随机生成")] = None,
) -> None:
    """创建或刷新演示县：区划、部门、各角色用户，以及各子系统的演示数据。"""
    from zhixian.demo import seed as demo_seed

    with _opened() as node:
        initialise(node)
        password = password or ("Demo-" + secrets.token_urlsafe(6) + "7a")
        try:
            accounts = demo_seed.run(node, seed=seed, password=password)
        except DomainError as exc:
            _fail(f"演示数据生成失败：{exc.detail}")
            return
        out = node.settings.data_dir / "demo-accounts.txt"
        lines = [f"{u:<14} {r:<18} {d}" for u, r, d in accounts]
        out.write_text(f"演示账号（密码均为 {password}）\n" + "\n".join(lines) + "\n")
        out.chmod(0o600)
        typer.echo(f"演示县已就绪：{node.settings.county_name}。演示账号密码均为：{password}")
        for line in lines[:16]:
            typer.echo("  " + line)
        typer.echo(f"  ……全部 {len(lines)} 个账号见 {out}")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="监听地址")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="端口")] = 8000,
    workers: Annotated[int, typer.Option(help="进程数（SQLite 建议 1）")] = 1,
) -> None:
    """启动 Web 服务（含后台作业）。"""
    import uvicorn

    with _opened() as node:
        typer.echo(f"智县已启动：http://{host}:{port}/   接口文档：http://{host}:{port}/api/docs")
        uvicorn.run(
            "zhixian.app:serve_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            proxy_headers=True,
            forwarded_allow_ips=node.settings.trusted_proxies,
            log_level="info",
            access_log=False,
            # slow clients: an idle keep-alive connection is closed after keep_alive_seconds; a request
            # reaches the app only with complete headers, and its body is read with a deadline before
            # the app runs (web.middleware.BodyLimit); beyond max_connections uvicorn answers 503.
            # Slow-header timeouts belong to the TLS reverse proxy (nginx client_header_timeout).
            timeout_keep_alive=node.settings.keep_alive_seconds,
            limit_concurrency=node.settings.max_connections,
            timeout_graceful_shutdown=30,
        )


@app.command("subsystems")
def list_subsystems() -> None:
    """列出核心与扩展子系统及其状态。"""
    with _opened() as node:
        for sub in node.registry.available.values():
            kind = "规定动作" if sub.kind == "core" else "自选动作"
            typer.echo(f"{sub.code:<14} {sub.name:<10} {kind}  {node.registry.state(sub.code)}")


# --- users


def _system_actor() -> Actor:
    return system_actor(frozenset({"platform.scope.county", "platform.users.read", "platform.users.manage"}))


@user_app.command("create")
def user_create(
    username: Annotated[str, typer.Option()],
    full_name: Annotated[str, typer.Option()],
    department: Annotated[str, typer.Option(help="部门代码")],
    role: Annotated[list[str] | None, typer.Option(help="角色代码，可重复")] = None,
) -> None:
    """新建用户，打印一次性初始密码。"""
    from zhixian.platform import accounts, service
    from zhixian.platform.schemas import UserCreate

    with _opened() as node:
        try:
            with node.db.transaction() as session:
                dept = service.department_by_code(session, department)
                if dept is None:
                    _fail(f"部门代码 {department} 不存在")
                    return
                data = UserCreate(username=username, full_name=full_name, department_id=dept.id, roles=role or [])
                user, password = accounts.create_user(
                    session,
                    actor=_system_actor(),
                    data=data,
                    settings=node.settings,
                    cipher=node.cipher,
                )
        except (DomainError, ValidationError) as exc:
            _fail(f"创建失败：{exc}")
            return
        typer.echo(f"已创建 {user.username}，初始密码 {password}（只显示这一次，首次登录须修改）")


def _user_id(node: Node, username: str) -> int:
    from zhixian.platform.models import User

    with node.db.transaction() as session:
        found = session.execute(select(User.id).where(User.username == username)).scalar_one_or_none()
    if found is None:
        _fail(f"用户 {username} 不存在")
    return int(found or 0)


@user_app.command("reset-password")
def user_reset(username: str) -> None:
    """重置密码并解锁，打印一次性初始密码。"""
    from zhixian.platform import accounts

    with _opened() as node:
        uid = _user_id(node, username)
        with node.db.transaction() as session:
            password, _ = accounts.reset_password(session, actor=_system_actor(), user_id=uid, settings=node.settings)
        typer.echo(f"{username} 的新初始密码：{password}（只显示这一次，登录后须修改）")


@user_app.command("disable")
def user_disable(username: str) -> None:
    """停用账号并结束其全部会话。"""
    from zhixian.platform import accounts
    from zhixian.platform.schemas import UserUpdate

    with _opened() as node:
        uid = _user_id(node, username)
        with node.db.transaction() as session:
            accounts.update_user(
                session,
                actor=_system_actor(),
                user_id=uid,
                data=UserUpdate(active=False),
                cipher=node.cipher,
            )
        typer.echo(f"已停用 {username}")


# --- backup


@app.command()
def backup(out: Annotated[Path, typer.Option(help="备份文件路径（.tar.gz）")]) -> None:
    """备份数据库（SQLite）、密钥、审计锚点与全部上传文件（照片、数据源文件）到一个带签名清单的归档。"""
    from zhixian import backup as backups

    with _opened() as node:
        manifest = backups.create(node.settings, out)
        typer.echo(f"已备份 {len(manifest['files'])} 个文件到 {out}（{manifest['database']}）")
        typer.echo(
            f"备份密钥 {backups.key_path(node.settings)} 不在归档中：请另行离线保存，"
            "恢复到空的数据目录时用 --key-file 指定"
        )


@app.command()
def restore(
    archive: Path,
    force: Annotated[bool, typer.Option(help="覆盖现有数据库")] = False,
    key_file: Annotated[
        Path | None, typer.Option(help="离线保存的备份密钥（数据目录中没有 keys/backup.key 时）")
    ] = None,
) -> None:
    """从备份恢复；先核对清单签名并逐个校验 SM3，全部通过后才写入。恢复前请先停止服务。"""
    import tarfile

    from zhixian import backup as backups

    settings = Settings()
    try:
        manifest = backups.restore(settings, archive, force=force, key_file=key_file)
    except (ValueError, OSError, tarfile.TarError) as exc:
        _fail(f"恢复失败：{exc}")
        return
    typer.echo(f"已恢复 {manifest['created_at']} 的备份；请运行 zhixian audit verify 核对审计日志")


# --- audit


@audit_app.command("verify")
def audit_verify() -> None:
    """校验审计日志哈希链与锚点；发现篡改、删除（含末尾截断）或插入时以非零状态退出。校验通过后写入检查点。"""
    from zhixian.platform import audit

    with _opened() as node:
        with node.db.transaction() as session:
            result = audit.verify(session, stop_at_first=False, checkpoint=True)
        for note in result.notes:
            typer.secho(f"注意：{note}", fg="yellow", err=True)
        if result.ok:
            typer.echo(f"审计日志完整：已校验 {result.checked} 条记录，已写入锚点检查点")
            return
        for problem in result.problems[:20]:
            typer.secho(f"审计日志被篡改：{problem}", fg="red", err=True)
        typer.secho(f"（已校验 {result.checked} 条，发现 {len(result.problems)} 处问题）", fg="red", err=True)
        raise typer.Exit(1)


def main() -> None:
    for sub in subsystems.discover().values():
        if sub.cli is not None:
            app.add_typer(sub.cli, name=sub.code)
    app(prog_name="zhixian")


if __name__ == "__main__":
    main()
