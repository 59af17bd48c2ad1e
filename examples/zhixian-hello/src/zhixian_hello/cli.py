"""`zhixian hello ...`: a subsystem's own sub-commands (Subsystem.cli)."""

from __future__ import annotations

import typer

from zhixian.settings import Settings
from zhixian_hello.settings import GREETING

app = typer.Typer(help="示例扩展", no_args_is_help=True)


@app.command()
def greeting() -> None:
    """显示本县配置的问候语。"""
    typer.echo(Settings().declared(GREETING))
