"""The wheel carries the built front-end assets, templates and migrations: a server needs no Node.js."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (ROOT / "src/zhixian/web/static/vendor/htmx/htmx.min.js").exists():
        pytest.fail("front-end assets are not built: run scripts/setup")
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(out), str(ROOT)],
        check=True,
    )
    return next(out.glob("zhixian-*.whl"))


def test_wheel_contains_assets_templates_and_migrations(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in (
        "zhixian/web/static/vendor/htmx/htmx.min.js",
        "zhixian/web/static/vendor/echarts/echarts.min.js",
        "zhixian/web/static/vendor/leaflet/leaflet.js",
        "zhixian/web/static/vendor/leaflet-heat/leaflet-heat.js",
        "zhixian/web/static/vendor/swagger-ui/swagger-ui-bundle.js",
        "zhixian/web/static/css/zhixian.css",
        "zhixian/web/templates/base.html",
        "zhixian/platform/templates/platform/login.html",
        "zhixian/platform/migrations/0001_platform.py",
        "zhixian/migrations/env.py",
        "zhixian/migrations/script.py.mako",
    ):
        assert expected in names, expected
    assert not [n for n in names if "node_modules" in n or n.startswith("tests/")]


def test_installed_wheel_serves_its_assets_without_node(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)], check=True
    )
    script = (
        "import sys, zhixian\n"
        "assert zhixian.__file__.startswith(sys.argv[1]), zhixian.__file__\n"
        "from starlette.testclient import TestClient\n"
        "from zhixian.app import create_app\n"
        "from zhixian.settings import Settings\n"
        "client = TestClient(create_app(Settings(data_dir=sys.argv[2])))\n"
        "r = client.get('/static/vendor/htmx/htmx.min.js')\n"
        "assert r.status_code == 200 and len(r.content) > 10000, r.status_code\n"
        "print('ok')\n"
    )
    # the installed copy comes first on the path; the checkout (and its npm build) is not consulted
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(target), "HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", script, str(target), str(tmp_path / "data")],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
