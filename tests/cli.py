"""Runs the `zhixian` command in-process (a subprocess costs seconds of imports per call)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from typer.testing import CliRunner

from zhixian.cli import app


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


def run_cli(data_dir: Path, *args: str) -> Result:
    env = {"ZHIXIAN_DATA_DIR": str(data_dir), "ZHIXIAN_DATABASE_URL": ""}
    result = CliRunner().invoke(app, list(args), env=env, catch_exceptions=False)
    return Result(result.exit_code, result.stdout, result.stderr)
