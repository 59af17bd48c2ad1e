"""`zhixian demo` works for every kind of county-level division: 县, 县级市, 旗 and 区 (and the 自治 ones)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from tests.conftest import PASSWORD
from zhixian.app import build_node
from zhixian.cli import app
from zhixian.demo.county import generate
from zhixian.platform.models import Department, Division
from zhixian.platform.schemas import DivisionIn
from zhixian.settings import Settings


@pytest.mark.parametrize(
    ("code", "name", "kind", "short"),
    [
        ("330421", "嘉善县", "县", "县政府办"),
        ("520181", "清镇市", "县级市", "市政府办"),
        ("150621", "达拉特旗", "旗", "旗政府办"),
        ("110105", "朝阳区", "区", "区政府办"),
    ],
)
def test_demo_command_seeds_a_county_of_each_kind(tmp_path: Path, code: str, name: str, kind: str, short: str) -> None:
    env = {
        "ZHIXIAN_DATA_DIR": str(tmp_path),
        "ZHIXIAN_DATABASE_URL": "",
        "ZHIXIAN_COUNTY_CODE": code,
        "ZHIXIAN_COUNTY_NAME": name,
    }
    result = CliRunner().invoke(app, ["demo", "--password", PASSWORD], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert f"演示县已就绪：{name}" in result.stdout
    node = build_node(Settings(data_dir=tmp_path, county_code=code, county_name=name))  # type: ignore[call-arg]
    try:
        with node.db.sessionmaker() as session:
            county = session.execute(select(Division).where(Division.level == "county")).scalar_one()
            assert (county.code, county.name, county.kind) == (code + "000000", name, kind)
            office = session.execute(select(Department).where(Department.code == "zfb")).scalar_one()
            assert office.name == f"{name}人民政府办公室"
            assert office.short_name == short
    finally:
        node.db.engine.dispose()


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("景宁畲族自治县", "自治县"),
        ("鄂温克族自治旗", "自治旗"),
        ("神农架林区", "林区"),
        ("六枝特区", "特区"),
        ("某地", "县"),
    ],
)
def test_county_kind_reads_the_longest_ending_of_the_name(name: str, kind: str) -> None:
    assert generate(county_code="330421", county_name=name).divisions[0].kind == kind


@pytest.mark.parametrize(
    ("code", "name", "kind"),
    [
        ("520181", "清镇市", "县级市"),
        ("152221", "科尔沁右翼前旗", "旗"),
        ("330421", "嘉善县", "县"),
        ("110105", "朝阳区", "区"),
    ],
)
def test_every_kind_of_county_level_division_loads(code: str, name: str, kind: str) -> None:
    county = generate(county_code=code, county_name=name)
    rows = [DivisionIn.model_validate(d, from_attributes=True) for d in county.divisions]
    assert rows[0].kind == kind
    assert rows[0].name == name
