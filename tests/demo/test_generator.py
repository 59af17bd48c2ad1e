"""The demo county generator is deterministic, structurally valid and produces checksum-valid codes."""

from __future__ import annotations

import random
import re
from collections import Counter
from datetime import date, timedelta

import pytest
from stdnum.cn import ric
from stdnum.cn import uscc as stdnum_uscc

from zhixian.demo import names
from zhixian.demo.county import DEPARTMENT_KINDS, ROLES, DemoCounty, generate

ADMIN_ROLES = ("sysadmin", "secadmin", "auditor")
# Real division codes in stdnum's database, all existing since 1990.
AREA_CODES = ("330421", "110105", "440305", "510104")


@pytest.fixture(scope="module")
def county() -> DemoCounty:
    return generate()


# ---------------------------------------------------------------------------------------------------------
# Determinism
# ---------------------------------------------------------------------------------------------------------


def test_same_seed_gives_identical_county() -> None:
    assert generate(seed=7) == generate(seed=7)
    assert generate() == generate()


def test_different_seed_changes_names_but_not_structure() -> None:
    a, b = generate(seed=1), generate(seed=2)
    assert [d.code for d in a.divisions] == [d.code for d in b.divisions]
    assert [d.code for d in a.departments] == [d.code for d in b.departments]
    assert [(u.username, u.roles, u.department_code) for u in a.users] == [
        (u.username, u.roles, u.department_code) for u in b.users
    ]
    assert [d.name for d in a.divisions] != [d.name for d in b.divisions]
    assert [u.full_name for u in a.users] != [u.full_name for u in b.users]
    assert [u.phone for u in a.users] != [u.phone for u in b.users]


def test_name_helpers_are_seeded_and_leave_global_random_alone() -> None:
    def draw(seed: int) -> list[str]:
        rng = random.Random(seed)
        return [
            names.person_name(rng),
            names.mobile(rng),
            names.uscc(rng, area_code="330421"),
            names.id_number(rng, area_code="330421", birth=date(1990, 1, 1), male=True),
            names.company_name(rng, "嘉善县"),
            names.village_name(rng),
            names.community_name(rng),
            names.street_name(rng),
            names.town_name(rng, "街道"),
        ]

    random.seed(123)
    before = random.getstate()
    assert draw(5) == draw(5)
    assert draw(5) != draw(6)
    assert random.getstate() == before


# ---------------------------------------------------------------------------------------------------------
# Codes
# ---------------------------------------------------------------------------------------------------------


def test_id_numbers_are_valid() -> None:
    rng = random.Random(11643)
    start = date(1990, 1, 1)
    for _ in range(1000):
        male = rng.random() < 0.5
        area = rng.choice(AREA_CODES)
        birth = start + timedelta(days=rng.randrange(17 * 365))
        number = names.id_number(rng, area_code=area, birth=birth, male=male)
        assert ric.is_valid(number), number
        assert number[:6] == area
        assert ric.get_birth_date(number) == birth
        assert int(number[16]) % 2 == (1 if male else 0)
        assert number[14:17] != "000"


def test_ric_check_char_known_value() -> None:
    # stdnum's documented example: 360426199101010071.
    assert names.ric_check_char("36042619910101007") == "1"
    with pytest.raises(ValueError, match="17 digits"):
        names.ric_check_char("123")


def test_id_number_rejects_bad_area_code() -> None:
    with pytest.raises(ValueError, match="6-digit"):
        names.id_number(random.Random(1), area_code="3304", birth=date(1990, 1, 1), male=True)


def test_usccs_are_valid() -> None:
    rng = random.Random(32100)
    kinds: tuple[names.OrgKind, ...] = ("enterprise", "individual", "coop", "agency", "institution")
    prefixes = {"enterprise": "91", "individual": "92", "coop": "93", "agency": "11", "institution": "12"}
    for i in range(1000):
        kind = kinds[i % len(kinds)]
        area = rng.choice(AREA_CODES)
        code = names.uscc(rng, area_code=area, kind=kind)
        assert stdnum_uscc.is_valid(code), code
        assert code[:2] == prefixes[kind]
        assert code[2:8] == area
        # The embedded GB 11714 organisation code carries its own check character.
        assert names.org_code_check_char(code[8:16]) == code[16], code


def test_company_pairs_are_valid() -> None:
    rng = random.Random(9)
    for _ in range(200):
        name, code = names.company(rng, county_name="嘉善县", area_code="330421")
        assert stdnum_uscc.is_valid(code)
        if name.endswith("专业合作社"):
            assert code.startswith("93")
        elif name.endswith("公司"):
            assert code.startswith("91")
        else:
            assert code.startswith("92")


def test_check_chars_match_known_codes() -> None:
    # stdnum's documented example 91110000600037341L: organisation code 60003734-1.
    assert names.org_code_check_char("60003734") == "1"
    assert names.uscc_check_char("91110000600037341") == "L"


def test_mobiles_look_real() -> None:
    rng = random.Random(13)
    pattern = re.compile(r"^1(3\d|5[0-35-9]|7[35678]|8\d|9[1356789])\d{8}$")
    for _ in range(1000):
        assert pattern.fullmatch(names.mobile(rng))


def test_names_are_plausible() -> None:
    rng = random.Random(4)
    people = [names.person_name(rng) for _ in range(2000)]
    assert all(2 <= len(p) <= 4 for p in people)
    surnames = Counter(p[0] for p in people)
    assert surnames.most_common(1)[0][0] in "王李张刘陈"
    assert all(names.village_name(rng).endswith("村") for _ in range(100))
    assert all(names.community_name(rng).endswith("社区") for _ in range(100))
    assert all(re.search(r"(路|街|大道)$", names.street_name(rng)) for _ in range(100))
    assert all(names.town_name(rng, "镇").endswith("镇") for _ in range(100))
    assert all(names.town_name(rng, "乡").endswith("乡") for _ in range(100))
    companies = [names.company_name(rng, "嘉善县") for _ in range(300)]
    assert any(c.startswith("嘉善县") and c.endswith("有限公司") for c in companies)
    assert any("记" in c for c in companies)
    assert any(c.endswith("专业合作社") for c in companies)


# ---------------------------------------------------------------------------------------------------------
# Divisions
# ---------------------------------------------------------------------------------------------------------


def test_division_codes_follow_the_statistical_scheme(county: DemoCounty) -> None:
    by_code = {d.code: d for d in county.divisions}
    assert len(by_code) == len(county.divisions)
    assert all(re.fullmatch(r"\d{12}", code) for code in by_code)

    (root,) = [d for d in county.divisions if d.level == "county"]
    assert root.code == "330421000000"
    assert root.name == "嘉善县"
    assert root.parent_code is None

    for town in (d for d in county.divisions if d.level == "town"):
        assert town.parent_code == root.code
        assert town.code.startswith("330421")
        assert town.code.endswith("000")
        part = int(town.code[6:9])
        expected = {"街道": range(1, 100), "镇": range(100, 200), "乡": range(200, 300)}[town.kind]
        assert part in expected, town
        assert town.name.endswith(town.kind)

    for village in (d for d in county.divisions if d.level == "village"):
        assert village.parent_code is not None
        parent = by_code[village.parent_code]
        assert parent.level == "town"
        assert village.code.startswith(parent.code[:9])
        part = int(village.code[9:])
        expected = {"社区": range(1, 200), "村": range(200, 400)}[village.kind]
        assert part in expected, village
        assert village.name.endswith(village.kind)


def test_division_counts_and_mix(county: DemoCounty) -> None:
    towns = [d for d in county.divisions if d.level == "town"]
    villages = [d for d in county.divisions if d.level == "village"]
    assert 9 <= len(towns) <= 12
    assert 140 <= len(villages) <= 160
    kinds = Counter(t.kind for t in towns)
    assert kinds["街道"] >= 2
    assert kinds["镇"] >= 5
    for town in towns:
        children = Counter(v.kind for v in villages if v.parent_code == town.code)
        if town.kind == "街道":
            assert children["社区"] > children["村"], town
        else:
            assert children["村"] > children["社区"], town


def test_division_names_are_unique(county: DemoCounty) -> None:
    division_names = [d.name for d in county.divisions]
    assert len(set(division_names)) == len(division_names)


# ---------------------------------------------------------------------------------------------------------
# Departments and users
# ---------------------------------------------------------------------------------------------------------


def test_departments(county: DemoCounty) -> None:
    codes = [d.code for d in county.departments]
    assert len(set(codes)) == len(codes)
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", c) for c in codes)
    county_level = [d for d in county.departments if d.kind != "乡镇街道"]
    assert len(county_level) >= 20
    assert {"xwb", "zfb", "gaj", "zfj", "szcg", "zjj", "jtj", "sthj", "slj", "sjb", "rx12345"} <= set(codes)
    assert county.department("szcg").parent_code == "zfj"
    assert county.department("gaj_jjdd").parent_code == "gaj"
    assert any(d.parent_code == "gaj" and d.short_name.endswith("派出所") for d in county.departments)
    assert all(d.kind in DEPARTMENT_KINDS for d in county.departments)

    # Parents come first so rows can be inserted in order.
    seen: set[str] = set()
    for dept in county.departments:
        assert dept.parent_code is None or dept.parent_code in seen
        seen.add(dept.code)

    towns = {d.code: d for d in county.divisions if d.level == "town"}
    governments = [d for d in county.departments if d.kind == "乡镇街道"]
    assert sorted(d.division_code for d in governments if d.division_code) == sorted(towns)
    for gov in governments:
        assert gov.division_code is not None
        assert gov.name.startswith(towns[gov.division_code].name)
    assert all(d.division_code is None for d in county.departments if d.kind != "乡镇街道")


def test_usernames_unique_and_ascii(county: DemoCounty) -> None:
    usernames = [u.username for u in county.users]
    assert len(set(usernames)) == len(usernames)
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", u) for u in usernames)
    phones = [u.phone for u in county.users]
    assert len(set(phones)) == len(phones)
    full_names = [u.full_name for u in county.users]
    assert len(set(full_names)) == len(full_names)


def test_admin_roles_are_separated(county: DemoCounty) -> None:
    holders = {role: [u.username for u in county.users if role in u.roles] for role in ADMIN_ROLES}
    assert all(len(h) == 1 for h in holders.values()), holders
    assert len({h[0] for h in holders.values()}) == 3
    for user in county.users:
        assert len(set(user.roles) & set(ADMIN_ROLES)) <= 1


def test_every_role_has_a_user_and_roles_are_known(county: DemoCounty) -> None:
    used = {r for u in county.users for r in u.roles}
    assert used == set(ROLES)
    inspectors = [u for u in county.users if "inspector" in u.roles]
    assert 15 <= len(inspectors) <= 30
    assert all(county.department(u.department_code).kind == "乡镇街道" for u in inspectors)
    handler_depts = {u.department_code for u in county.users if "handler" in u.roles}
    townships = {d.code for d in county.departments if d.kind == "乡镇街道"}
    assert {"zfj", "zjj", "jtj", "sthj", "slj"} | townships <= handler_depts


def test_every_referenced_department_exists(county: DemoCounty) -> None:
    codes = {d.code for d in county.departments}
    assert all(u.department_code in codes for u in county.users)
    assert all(d.parent_code is None or d.parent_code in codes for d in county.departments)
    division_codes = {d.code for d in county.divisions}
    assert all(d.division_code is None or d.division_code in division_codes for d in county.departments)


@pytest.mark.parametrize(
    ("username", "role", "department"),
    [
        ("sysadmin", "sysadmin", "sjb"),
        ("secadmin", "secadmin", "sjb"),
        ("auditor", "auditor", "sjb"),
        ("datahub", "data_authority", "sjb"),
        ("leader", "leader", "zfb"),
        ("acceptor", "acceptor", "szcg"),
        ("shiftlead", "shift_lead", "szcg"),
        ("dispatcher", "dispatcher", "szcg"),
        ("inspector01", "inspector", "xz001"),
        ("handler_zfj", "handler", "zfj"),
        ("gaj_officer", "dept_data_officer", "gaj"),
        ("zjj_officer", "dept_data_officer", "zjj"),
    ],
)
def test_well_known_users(county: DemoCounty, username: str, role: str, department: str) -> None:
    user = county.user(username)
    assert user.roles == (role,)
    assert user.department_code == department
    assert re.fullmatch(r"1\d{10}", user.phone)


def test_other_county_and_bad_input() -> None:
    district = generate(county_code="110105", county_name="朝阳区")
    assert district.divisions[0].kind == "区"
    assert district.department("xwb").name == "中共朝阳区委办公室"
    assert district.department("zfb").short_name == "区政府办"
    assert all(d.code.startswith("110105") for d in district.divisions)
    with pytest.raises(ValueError, match="6-digit"):
        generate(county_code="33042")
    with pytest.raises(ValueError, match="county-level"):
        generate(county_code="330400")
    with pytest.raises(KeyError):
        district.user("nobody")


def test_demo_people_live_in_households_that_share_an_address_and_village() -> None:
    from zhixian.integration.demo import people_rows

    rows = list(
        people_rows(random.Random(7), 600, [("330421001001", "罗星街道城西村"), ("330421101201", "惠民街道")], "330421")
    )
    homes = Counter((r[5], r[6]) for r in rows)
    shared = sum(n for n in homes.values() if n >= 2)
    assert shared >= len(rows) / 2  # household pre-fill has members to show in the demo
    assert max(homes.values()) <= 6
    by_address = {r[5] for r in rows}
    assert len({(a, c) for a, c in homes}) == len(by_address)  # one village per address
