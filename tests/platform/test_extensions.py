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
from zhixian.subsystems import Subsystem

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


def test_example_contributes_every_kind_and_each_takes_effect(
    installed_example: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Home card, menu entry, declared setting, case class, intake channel and case hook of the hello package."""
    from zhixian_hello.subsystem import subsystem as hello

    for kind in (hello.home_cards, hello.case_categories, hello.case_hooks, hello.intake_sources, hello.settings):
        assert len(kind) == 1
    monkeypatch.setenv("ZHIXIAN_HELLO_GREETING", "您好")  # the declared setting, as env ZHIXIAN_<CODE>_<NAME>
    monkeypatch.setenv("ZHIXIAN_CITYMGMT_DEMO_CASES", "0")
    node = make_node(tmp_path, "sqlite", enabled_extensions=["hello"])
    try:
        registry = node.registry
        assert [s.code for s in registry.contributed("intake_sources")][-1] == "hello"
        assert "H0101" in {c.code for c in registry.contributed("case_categories")}
        live = LiveServer(node)
        with Client(base_url=live.url) as staff:
            assert staff.login("staff").status_code == 200
            home = staff.get("/", headers={"accept": "text/html"}).text
            assert 'href="/hello/"' in home  # menu entry and home card both link there
            assert "问候（您好）" in home  # home card, titled with the setting's value
            assert "嘉善县您好" in staff.get("/hello/").text  # the seed read the setting
            point = {"lon": 120.92, "lat": 30.84, "description": "示例渠道上报"}
            assert staff.post("/api/v1/hello/reports", json=point).status_code == 403  # staff lacks hello.report
        with Client(base_url=live.url) as inspector:
            assert inspector.login("inspector01").status_code == 200
            made = inspector.post("/api/v1/hello/reports", json=point)
            assert made.status_code == 201, made.text
            assert made.json()["source"] == "hello"  # the contributed intake channel
            with Client(base_url=live.url) as acceptor:
                acceptor.login("acceptor")
                case = acceptor.get(f"/api/v1/citymgmt/cases/{made.json()['case_id']}").json()
                assert case["class_code"] == "H0101"  # the contributed case class
            page = inspector.get("/hello/").text
            assert f"案件 {made.json()['number']} 已由示例渠道上报" in page  # the case hook fired
        live.stop()
    finally:
        dispose_node(node)


def test_a_misspelt_contribution_or_setting_fails_at_once(
    installed_example: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(TypeError, match="home_card"):
        Subsystem(code="x", name="x", kind="extension", home_card=[])  # type: ignore[call-arg]
    with pytest.raises(KeyError, match="case_created"):
        subsystems.load(Settings(data_dir=tmp_path)).contributed("case_created")  # type: ignore[call-overload]
    with pytest.raises(ValueError, match=r"\[subsystems.hello\] 中的 greetng"):
        subsystems.load(
            Settings(data_dir=tmp_path, enabled_extensions=["hello"], subsystems={"hello": {"greetng": "x"}})
        )
    subsystems.load(Settings(data_dir=tmp_path, subsystems={"hello": {"greetng": "x"}}))  # not enabled: not checked
    monkeypatch.setenv("ZHIXIAN_HELLO_GREETNG", "x")
    with pytest.raises(ValueError, match=r"ZHIXIAN_HELLO_GREETNG.*ZHIXIAN_HELLO_GREETING"):
        subsystems.load(Settings(data_dir=tmp_path, enabled_extensions=["hello"]))
    monkeypatch.delenv("ZHIXIAN_HELLO_GREETNG")
    monkeypatch.setenv("ZHIXIAN_CITYMGMT_DEMO_CASES", "许多")
    with pytest.raises(ValueError, match="ZHIXIAN_CITYMGMT_DEMO_CASES 的值 '许多' 无效"):
        subsystems.load(Settings(data_dir=tmp_path))


def test_declared_settings_come_from_env_then_toml_table_then_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from zhixian.catalog.settings import GENERAL_LEVELS

    monkeypatch.delenv("ZHIXIAN_CATALOG_GENERAL_LEVELS", raising=False)
    assert Settings(data_dir=tmp_path).declared(GENERAL_LEVELS) == 4
    assert Settings(data_dir=tmp_path, subsystems={"catalog": {"general_levels": 3}}).declared(GENERAL_LEVELS) == 3
    monkeypatch.setenv("ZHIXIAN_CATALOG_GENERAL_LEVELS", "5")
    assert Settings(data_dir=tmp_path, subsystems={"catalog": {"general_levels": 3}}).declared(GENERAL_LEVELS) == 5
    monkeypatch.setenv("ZHIXIAN_CATALOG_GENERAL_LEVELS", "12")
    with pytest.raises(ValueError, match="超出范围 1–9"):
        Settings(data_dir=tmp_path).declared(GENERAL_LEVELS)
