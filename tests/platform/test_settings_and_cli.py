"""Settings fail fast on bad values; the CLI bootstraps a node and manages accounts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from tests.cli import Result, run_cli
from zhixian.settings import Settings


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"secret_key": "changeme"}, "secret_key"),
        ({"secret_key": "short-but-not-default"}, "secret_key"),
        ({"county_code": "33042"}, "county_code"),
        ({"database_url": "mysql://x"}, "database_url"),
        ({"lockout_minutes": 1}, "lockout_minutes"),
        ({"session_idle_minutes": 60}, "session_idle_minutes"),
        ({"work_periods": [("13:00", "12:00")]}, "work_periods"),
    ],
)
def test_bad_settings_stop_the_node(tmp_path: Path, overrides: dict, fragment: str) -> None:
    with pytest.raises(ValidationError) as err:
        Settings(data_dir=tmp_path, **overrides)
    assert fragment in str(err.value)


def test_generated_secret_is_kept_outside_the_repo_with_owner_only_permissions(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    secret = settings.effective_secret_key
    path = tmp_path / "keys" / "secret.key"
    assert path.read_text() == secret
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert Settings(data_dir=tmp_path).effective_secret_key == secret


def _cli(data: Path, *args: str) -> Result:
    return run_cli(data, *args)


def test_init_creates_three_separate_bootstrap_administrators_once(tmp_path: Path) -> None:
    first = _cli(tmp_path, "init")
    assert first.returncode == 0, first.stderr
    assert first.stdout.count("只显示这一次") == 3
    for name in ("sysadmin", "secadmin", "auditor"):
        assert name in first.stdout
    second = _cli(tmp_path, "init")
    assert "只显示这一次" not in second.stdout
    created = _cli(tmp_path, "user", "create", "--username", "zhangsan", "--full-name", "张三", "--department", "sjb")
    assert created.returncode == 0, created.stderr
    assert "初始密码" in created.stdout
    dup = _cli(tmp_path, "user", "create", "--username", "zhangsan", "--full-name", "张三", "--department", "sjb")
    assert dup.returncode == 1
    assert "已存在" in dup.stderr
    assert _cli(tmp_path, "user", "disable", "zhangsan").returncode == 0
    assert _cli(tmp_path, "audit", "verify").returncode == 0


def test_cli_reports_bad_configuration_in_chinese(tmp_path: Path) -> None:
    env_run = subprocess.run(
        [sys.executable, "-m", "zhixian.cli", "subsystems"],
        env={**os.environ, "ZHIXIAN_DATA_DIR": str(tmp_path), "ZHIXIAN_COUNTY_CODE": "abc"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert env_run.returncode == 2
    assert "配置错误 county_code" in env_run.stderr
