"""A deterministic synthetic county: divisions, departments and users for every platform role.

Structure (codes, department codes, usernames, roles) is fixed so docs and tests can name them;
the seed only varies the human-facing text (place names, people's names, phone numbers).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Literal

from zhixian.demo import names

__all__ = [
    "DEPARTMENT_KINDS",
    "ROLES",
    "DemoCounty",
    "DepartmentRow",
    "DivisionRow",
    "UserRow",
    "generate",
]

DivisionLevel = Literal["county", "town", "village"]

ROLES: dict[str, str] = {
    "sysadmin": "系统管理员",
    "secadmin": "安全管理员",
    "auditor": "审计管理员",
    "data_authority": "政务数据主管部门",
    "dept_data_officer": "部门数据专员",
    "leader": "县领导",
    "acceptor": "受理员",
    "shift_lead": "值班长",
    "dispatcher": "派遣员",
    "inspector": "监督员",
    "handler": "处置人员",
    "staff": "普通用户",
    "duty_officer": "值班员",
    "window_clerk": "窗口人员",
    "approver": "审批人员",
    "service_head": "部门负责人",
}
"""Role code → Chinese label; the codes are what ``UserRow.roles`` holds."""

DEPARTMENT_KINDS: tuple[str, ...] = ("党政机关", "政府组成部门", "直属机构", "乡镇街道", "事业单位")
"""Every value ``DepartmentRow.kind`` can take (units under a department count as 直属机构 or 事业单位)."""


@dataclass(frozen=True)
class DivisionRow:
    """One administrative division with its 12-digit statistical division code (统计用区划代码)."""

    code: str
    name: str
    level: DivisionLevel
    kind: str  # 县/县级市/区/旗…, 街道/镇/乡, 社区/村
    parent_code: str | None


@dataclass(frozen=True)
class DepartmentRow:
    """One organisation in the county's department tree; ``code`` is short, ASCII and seed-independent."""

    code: str
    name: str
    short_name: str
    parent_code: str | None
    kind: str  # one of DEPARTMENT_KINDS
    division_code: str | None  # the town's 12-digit code for township governments, else None


@dataclass(frozen=True)
class UserRow:
    """One demo login; ``username`` and ``roles`` are seed-independent, name and phone are not."""

    username: str
    full_name: str
    department_code: str
    roles: tuple[str, ...]
    phone: str


@dataclass(frozen=True)
class DemoCounty:
    """The generated county; lists are in a stable order (parents before children)."""

    code: str
    name: str
    divisions: list[DivisionRow]
    departments: list[DepartmentRow]
    users: list[UserRow]

    def division(self, code: str) -> DivisionRow:
        """Look up a division by its 12-digit code (KeyError when absent)."""
        for row in self.divisions:
            if row.code == code:
                return row
        raise KeyError(code)

    def department(self, code: str) -> DepartmentRow:
        """Look up a department by its short code (KeyError when absent)."""
        for row in self.departments:
            if row.code == code:
                return row
        raise KeyError(code)

    def user(self, username: str) -> UserRow:
        """Look up a user by username (KeyError when absent)."""
        for row in self.users:
            if row.username == username:
                return row
        raise KeyError(username)


# ---------------------------------------------------------------------------------------------------------
# Divisions
# ---------------------------------------------------------------------------------------------------------

TownKind = Literal["街道", "镇", "乡"]

# (3-digit town part, kind, number of 社区, number of 村): 3 街道, 6 镇, 1 乡; 150 villages in all.
_TOWN_PLAN: tuple[tuple[str, TownKind, int, int], ...] = (
    ("001", "街道", 12, 2),
    ("002", "街道", 11, 3),
    ("003", "街道", 10, 4),
    ("101", "镇", 2, 16),
    ("102", "镇", 1, 15),
    ("103", "镇", 2, 14),
    ("104", "镇", 1, 15),
    ("105", "镇", 3, 13),
    ("106", "镇", 2, 15),
    ("201", "乡", 0, 9),
)
_COMMUNITY_FIRST = 1  # 居委会 codes run 001–199
_VILLAGE_FIRST = 201  # 村委会 codes run 200–399


def _unique(rng: random.Random, make: Callable[[random.Random], str], seen: set[str]) -> str:
    """Draw names until one is new, so no two divisions share a name."""
    for _ in range(10_000):
        name = make(rng)
        if name not in seen:
            seen.add(name)
            return name
    raise RuntimeError("name pool exhausted")  # pragma: no cover - pools are far larger than the county


# The division kind (GB/T 2260 names) of a county-level division, by the ending of its name; the longer
# endings first, so 自治县 is not read as 县. A name with none of them is taken for a 县.
_COUNTY_KINDS: tuple[tuple[str, str], ...] = (
    ("自治县", "自治县"),
    ("自治旗", "自治旗"),
    ("林区", "林区"),
    ("特区", "特区"),
    ("县", "县"),
    ("市", "县级市"),
    ("区", "区"),
    ("旗", "旗"),
)


def _county_kind(county_name: str) -> str:
    """The county row's division kind: 县, 自治县, 县级市 (a name ending in 市), 区, 旗, 自治旗, 林区, 特区."""
    return next((kind for ending, kind in _COUNTY_KINDS if county_name.endswith(ending)), "县")


def _county_word(county_name: str) -> str:
    """The one character a county calls itself in short names: 县委办, 市政府办, 区委办, 旗委办."""
    last = county_name[-1:]
    return last if last in ("县", "区", "市", "旗") else "县"


def _divisions(rng: random.Random, county_code: str, county_name: str) -> list[DivisionRow]:
    """The county row, its towns, then each town's communities and villages."""
    county12 = county_code + "000000"
    rows = [DivisionRow(county12, county_name, "county", _county_kind(county_name), None)]
    seen_towns: set[str] = {county_name, county_name[:-1] + "镇", county_name[:-1] + "街道"}
    towns: list[tuple[str, str, TownKind, int, int]] = []
    for part, kind, n_community, n_village in _TOWN_PLAN:
        name = _unique(rng, partial(names.town_name, kind=kind), seen_towns)
        code = f"{county_code}{part}000"
        rows.append(DivisionRow(code, name, "town", kind, county12))
        towns.append((code, name, kind, n_community, n_village))

    seen_villages: set[str] = set()
    for town_code, town, kind, n_community, n_village in towns:
        prefix = town_code[:9]
        for i in range(n_community):
            seat = town.removesuffix(kind) + "社区"
            if i == 0 and kind != "街道" and seat not in seen_villages:
                seen_villages.add(seat)  # a 镇's first community usually carries the town's name
                name = seat
            else:
                name = _unique(rng, names.community_name, seen_villages)
            rows.append(DivisionRow(f"{prefix}{_COMMUNITY_FIRST + i:03d}", name, "village", "社区", town_code))
        for i in range(n_village):
            name = _unique(rng, names.village_name, seen_villages)
            rows.append(DivisionRow(f"{prefix}{_VILLAGE_FIRST + i:03d}", name, "village", "村", town_code))
    return rows


# ---------------------------------------------------------------------------------------------------------
# Departments
# ---------------------------------------------------------------------------------------------------------

# (code, name template, short name template, parent code, kind); {c} = county name, {k} = 县/区/市.
_DEPARTMENT_SPECS: tuple[tuple[str, str, str, str | None, str], ...] = (
    ("xwb", "中共{c}委办公室", "{k}委办", None, "党政机关"),
    ("zfb", "{c}人民政府办公室", "{k}政府办", None, "政府组成部门"),
    ("gaj", "{c}公安局", "公安局", None, "政府组成部门"),
    ("gaj_jjdd", "{c}公安局交通警察大队", "交警大队", "gaj", "直属机构"),
    ("zfj", "{c}综合行政执法局", "综合执法局", None, "政府组成部门"),
    ("szcg", "{c}数字城管指挥中心", "数字城管中心", "zfj", "事业单位"),
    ("yjj", "{c}应急管理局", "应急管理局", None, "政府组成部门"),
    ("zjj", "{c}住房和城乡建设局", "住建局", None, "政府组成部门"),
    ("zrj", "{c}自然资源和规划局", "自然资源规划局", None, "政府组成部门"),
    ("sthj", "{c}生态环境分局", "生态环境分局", None, "直属机构"),
    ("jtj", "{c}交通运输局", "交通运输局", None, "政府组成部门"),
    ("scj", "{c}市场监督管理局", "市场监管局", None, "政府组成部门"),
    ("rsj", "{c}人力资源和社会保障局", "人社局", None, "政府组成部门"),
    ("wjj", "{c}卫生健康局", "卫健局", None, "政府组成部门"),
    ("wjj_jkzx", "{c}疾病预防控制中心", "疾控中心", "wjj", "事业单位"),
    ("mzj", "{c}民政局", "民政局", None, "政府组成部门"),
    ("nyj", "{c}农业农村局", "农业农村局", None, "政府组成部门"),
    ("wglj", "{c}文化和广电旅游体育局", "文广旅体局", None, "政府组成部门"),
    ("jyj", "{c}教育局", "教育局", None, "政府组成部门"),
    ("slj", "{c}水利局", "水利局", None, "政府组成部门"),
    ("sjb", "{c}大数据发展管理中心", "政务数据办", None, "事业单位"),
    ("xfj", "{c}信访局", "信访局", None, "直属机构"),
    ("rx12345", "{c}12345热线中心", "12345热线中心", None, "事业单位"),
)
_POLICE_STATION_TOWNS = 5  # the first five towns (the 街道 and the larger 镇) get their own 派出所


def _township_code(town_code: str) -> str:
    """xz001, xz101, …: the department code of a town's government, derived from its division code."""
    return "xz" + town_code[6:9]


def _departments(county_name: str, towns: list[DivisionRow]) -> list[DepartmentRow]:
    """County departments (with a few child units), then one government per town."""
    k = _county_word(county_name)
    rows: list[DepartmentRow] = []
    for code, name, short, parent, kind in _DEPARTMENT_SPECS:
        rows.append(DepartmentRow(code, name.format(c=county_name, k=k), short.format(k=k), parent, kind, None))
        if code == "gaj_jjdd":  # keep the police stations next to their parent bureau
            for town in towns[:_POLICE_STATION_TOWNS]:
                root = town.name.removesuffix(town.kind)
                rows.append(
                    DepartmentRow(
                        f"gaj_pcs{town.code[6:9]}",
                        f"{county_name}公安局{root}派出所",
                        f"{root}派出所",
                        "gaj",
                        "直属机构",
                        None,
                    )
                )
    for town in towns:
        name = town.name + ("办事处" if town.kind == "街道" else "人民政府")
        rows.append(DepartmentRow(_township_code(town.code), name, town.name, None, "乡镇街道", town.code))
    return rows


# ---------------------------------------------------------------------------------------------------------
# Users
# ---------------------------------------------------------------------------------------------------------

# Departments whose 数据专员 can be named in docs; gaj_officer and zjj_officer are the documented ones.
_DATA_OFFICER_DEPTS: tuple[str, ...] = ("gaj", "zjj", "zfj", "scj", "wjj", "mzj", "jtj", "nyj", "sthj", "rsj")
# County departments that handle dispatched 城市管理 cases; zfj has two handlers.
_HANDLER_DEPTS: tuple[str, ...] = ("zfj", "zfj", "zjj", "jtj", "sthj", "slj")
_INSPECTORS_PER_TOWN = 2


def _user_plan(departments: list[DepartmentRow]) -> list[tuple[str, str, tuple[str, ...]]]:
    """(username, department code, roles) for every demo user, in a fixed order."""
    plan: list[tuple[str, str, tuple[str, ...]]] = [
        # 三员 are three distinct people, as 等保 separation of duties requires.
        ("sysadmin", "sjb", ("sysadmin",)),
        ("secadmin", "sjb", ("secadmin",)),
        ("auditor", "sjb", ("auditor",)),
        ("datahub", "sjb", ("data_authority",)),
        ("leader", "zfb", ("leader",)),
        ("leader2", "zfb", ("leader",)),
        ("acceptor", "szcg", ("acceptor",)),
        ("acceptor02", "szcg", ("acceptor",)),
        ("acceptor03", "szcg", ("acceptor",)),
        ("shiftlead", "szcg", ("shift_lead",)),
        ("shiftlead02", "szcg", ("shift_lead",)),
        ("dispatcher", "szcg", ("dispatcher",)),
        ("dispatcher02", "szcg", ("dispatcher",)),
    ]
    plan.extend((f"{dept}_officer", dept, ("dept_data_officer",)) for dept in _DATA_OFFICER_DEPTS)
    townships = [d.code for d in departments if d.kind == "乡镇街道"]
    plan.extend(
        (f"inspector{i + 1:02d}", townships[i // _INSPECTORS_PER_TOWN], ("inspector",))
        for i in range(len(townships) * _INSPECTORS_PER_TOWN)
    )
    handler_counts: dict[str, int] = {}
    for dept in [*_HANDLER_DEPTS, *townships]:
        handler_counts[dept] = handler_counts.get(dept, 0) + 1
        suffix = "" if handler_counts[dept] == 1 else str(handler_counts[dept])
        plan.append((f"handler_{dept}{suffix}", dept, ("handler",)))
    plan.append(("staff", "zfb", ("staff",)))
    plan.extend((f"staff_{d.code}", d.code, ("staff",)) for d in departments)
    # appended last so every earlier account keeps its id and generated name
    plan.extend((f"duty{i:02d}", "szcg", ("duty_officer",)) for i in (1, 2))
    # 一网通办: the county hall's comprehensive windows (一窗受理), a township service point, approvers and heads
    plan.extend([("window01", "sjb", ("window_clerk",)), ("window02", "sjb", ("window_clerk",))])
    plan.append((f"window_{townships[3]}", townships[3], ("window_clerk",)))
    plan.extend((f"{dept}_approver", dept, ("approver",)) for dept in ("mzj", "scj", "gaj", "rsj", "zjj"))
    plan.extend((f"{dept}_head", dept, ("service_head",)) for dept in ("mzj", "scj"))
    return plan


def _users(rng: random.Random, departments: list[DepartmentRow]) -> list[UserRow]:
    """Give every planned user a unique realistic name and mobile number."""
    used_names: set[str] = set()
    used_phones: set[str] = set()
    rows: list[UserRow] = []
    for username, dept, roles in _user_plan(departments):
        full_name = _unique(rng, names.person_name, used_names)
        phone = _unique(rng, names.mobile, used_phones)
        rows.append(UserRow(username, full_name, dept, roles, phone))
    return rows


# ---------------------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------------------


def generate(*, seed: int = 20261121, county_code: str = "330421", county_name: str = "嘉善县") -> DemoCounty:
    """Build the demo county; the same arguments always give an identical result.

    Each section draws from its own PRNG derived from ``seed``, so adding users never renames villages.
    """
    if len(county_code) != 6 or not county_code.isascii() or not county_code.isdigit():
        raise ValueError("county_code must be a 6-digit administrative division code")
    if county_code.endswith("00"):
        raise ValueError("county_code must name a county-level division, not a prefecture or province")
    if not county_name:
        raise ValueError("county_name must not be empty")
    divisions = _divisions(random.Random(f"{seed}:divisions"), county_code, county_name)
    towns = [d for d in divisions if d.level == "town"]
    departments = _departments(county_name, towns)
    users = _users(random.Random(f"{seed}:users"), departments)
    return DemoCounty(county_code, county_name, divisions, departments, users)
