"""A demo county may be a 县级市 or a 旗 (issue 9: `ZHIXIAN_COUNTY_NAME=清镇市` crashed on its kind)."""

from __future__ import annotations

import pytest

from zhixian.demo.county import generate
from zhixian.platform.schemas import DivisionIn


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
