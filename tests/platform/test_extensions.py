"""The 9+28 model: a third-party extension installed with pip plugs in only when the county enables it."""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect

from tests.conftest import PASSWORD, Client, LiveServer, dispose_node, make_node
from zhixian import subsystems
from zhixian.settings import Settings

EXAMPLE = Path(__file__).parents[2] / "examples" / "zhixian-hello"


@pytest.fixture(scope="module")
def installed_example(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(EXAMPLE),
        ],
        check=True,
    )
    sys.path.insert(0, str(target))
    importlib.invalidate_caches()
    yield target
    sys.path.remove(str(target))
    importlib.invalidate_caches()


def test_core_subsystems_are_always_on_and_extensions_off_by_default(tmp_path: Path) -> None:
    registry = subsystems.load(Settings(data_dir=tmp_path))
    assert {"platform", "catalog", "integration", "citymgmt"} <= set(registry.enabled)
    assert registry.state("storefronts") == "未启用"
    assert next(iter(registry.enabled)) == "platform"  # dependencies come first


def test_enabling_an_extension_that_is_not_installed_fails_fast(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="未安装：nosuch"):
        subsystems.load(Settings(data_dir=tmp_path, enabled_extensions=["nosuch"]))


def test_installed_example_extension_is_discovered_migrated_seeded_and_served(
    installed_example: Path, tmp_path: Path
) -> None:
    assert "hello" in subsystems.discover()
    off = subsystems.load(Settings(data_dir=tmp_path / "off"))
    assert off.state("hello") == "未启用"

    node = make_node(tmp_path / "on", "sqlite", enabled_extensions=["hello"])
    try:
        assert "hello_greeting" in inspect(node.db.engine).get_table_names()
        live = LiveServer(node)
        with Client(base_url=live.url) as client:
            login = client.post("/api/v1/auth/login", json={"username": "staff", "password": PASSWORD})
            assert login.status_code == 200
            status = client.get("/api/v1/hello/status").json()
            assert status == {"subsystem": "hello", "greetings": 1, "user": "staff"}
            home = client.get("/", headers={"accept": "text/html"})
            assert 'href="/hello/"' in home.text
            assert "嘉善县欢迎你" in client.get("/hello/").text
            # a role without the extension's permission is refused
            client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": login.json()["csrf_token"]})
            client.post("/api/v1/auth/login", json={"username": "auditor", "password": PASSWORD})
            assert client.get("/api/v1/hello/status").status_code == 403
        live.stop()
    finally:
        dispose_node(node)


def test_disabled_extension_serves_nothing(installed_example: Path, tmp_path: Path) -> None:
    node = make_node(tmp_path, "sqlite", seed_demo=False)
    try:
        assert "hello_greeting" not in inspect(node.db.engine).get_table_names()
        live = LiveServer(node)
        with Client(base_url=live.url) as client:
            assert client.get("/api/v1/hello/status").status_code == 404
        live.stop()
    finally:
        dispose_node(node)
