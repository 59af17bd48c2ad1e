"""Demo registry and catalogue: 107 business systems in Jiashan's proportions and ~300 resources.

Written straight to the tables (no per-row audit): it is the county's starting inventory, not
an officer's edit. The base resources (人口, 法人, 地理) are the ones integration loads into.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhixian.catalog import search
from zhixian.catalog.models import BusinessSystem, DataItem, Resource
from zhixian.platform.models import Department

# (builder level, how many, builder, deployment) — Jiashan county: 38 部建, 61 省建, 3 市建, 5 县建
_LEVELS = (
    ("部建", 38, "国家部委", "部委专网"),
    ("省建", 61, "省级部门", "省政务云"),
    ("市建", 3, "市级部门", "市政务云"),
    ("县建", 5, "本县", "县政务云"),
)
_SYSTEM_WORDS = {
    "gaj": ["人口信息管理系统", "治安管理信息系统", "交通管理综合应用平台", "出入境管理系统", "警务综合平台"],
    "scj": ["企业信用信息公示系统", "市场主体登记系统", "食品安全追溯平台", "特种设备监管系统"],
    "rsj": ["社会保险信息系统", "就业管理服务系统", "人事考试系统"],
    "wjj": ["全民健康信息平台", "妇幼保健信息系统", "疫苗接种管理系统", "基层卫生信息系统"],
    "mzj": ["社会救助信息系统", "婚姻登记管理系统", "养老服务管理系统", "殡葬管理系统"],
    "zjj": ["建筑市场监管平台", "房屋交易管理系统", "物业管理平台", "燃气安全监管系统"],
    "zrj": ["不动产登记系统", "国土空间基础信息平台", "耕地保护监管系统"],
    "jtj": ["道路运输管理系统", "公路养护管理系统", "治超信息系统"],
    "sthj": ["排污许可管理系统", "环境质量监测平台", "固废管理信息系统"],
    "nyj": ["农村集体资产管理系统", "农业补贴发放系统", "动物防疫系统"],
    "jyj": ["学籍管理系统", "教育资助系统", "教师管理信息系统"],
    "slj": ["水资源管理系统", "河湖长制平台", "防汛指挥系统"],
    "yjj": ["安全生产监管系统", "应急指挥平台", "危化品监管系统"],
    "zfj": ["综合行政执法办案系统", "数字城管信息系统"],
    "sjb": ["公共数据平台", "一网通办受理平台", "基层治理四平台"],
    "xfj": ["信访信息系统"],
    "rx12345": ["12345政务服务热线系统"],
}
TOPICS = [  # also the bench's vocabulary
    "行政许可",
    "行政处罚",
    "监督检查",
    "统计报表",
    "业务台账",
    "资金发放",
    "证照信息",
    "投诉举报",
    "年度报告",
    "档案目录",
    "服务对象",
    "设施设备",
]
_CYCLES = ["每日", "每周", "每月", "每月", "每季度", "每年", "实时"]


def _item(seq: int, name: str, field: str, **kw: Any) -> DataItem:
    base: dict[str, Any] = {"data_type": "字符串", "share_type": "无条件共享", "grade": "一般", "sensitivity": 1}
    base.update(kw)
    return DataItem(seq=seq, name=name, field_name=field, **base)


def person_items() -> list[DataItem]:
    return [
        _item(
            1,
            "公民身份号码",
            "id_number",
            rule="身份证号",
            required=True,
            length=18,
            sensitivity=4,
            share_type="有条件共享",
            masking="身份证号",
        ),
        _item(2, "姓名", "name", required=True, length=50, sensitivity=3, masking="姓名"),
        _item(3, "性别", "gender", rule="性别", length=1),
        _item(4, "出生日期", "birth_date", data_type="日期"),
        _item(
            5, "联系电话", "phone", rule="手机号", length=11, sensitivity=4, share_type="有条件共享", masking="手机号"
        ),
        _item(6, "住址", "address", length=200, sensitivity=3, masking="地址"),
        _item(7, "户籍地区划代码", "division_code", rule="行政区划代码", length=12),
    ]


def legal_items() -> list[DataItem]:
    return [
        _item(1, "统一社会信用代码", "uscc", rule="统一社会信用代码", required=True, length=18),
        _item(2, "名称", "name", required=True, length=200),
        _item(3, "法定代表人", "legal_rep", length=50, sensitivity=2),
        _item(4, "住所", "address", length=200),
        _item(5, "成立日期", "established", data_type="日期"),
        _item(6, "注册资本（万元）", "capital", data_type="数值", min_value=0, max_value=10_000_000),
        _item(
            7, "联系电话", "phone", rule="手机号", length=11, sensitivity=3, share_type="有条件共享", masking="手机号"
        ),
        _item(8, "所在区划代码", "division_code", rule="行政区划代码", length=12),
    ]


def seed(session: Session, ctx: Any) -> None:
    if session.execute(select(Resource.id).limit(1)).first():
        return
    rng = ctx.rng("catalog")
    depts = {d.code: d for d in session.execute(select(Department)).scalars()}
    county_name = ctx.settings.county_name
    owners = [c for c in _SYSTEM_WORDS if c in depts]
    systems: list[BusinessSystem] = []
    n = 0
    for level, count, builder, deployment in _LEVELS:
        for i in range(count):
            dept = owners[(n * 7 + i) % len(owners)]
            words = _SYSTEM_WORDS[dept]
            title = words[i % len(words)]
            prefix = {"部建": "全国", "省建": "浙江省", "市建": "嘉兴市", "县建": county_name}[level]
            status = rng.choices(
                ["none", "applied", "granted", "local_copy"],
                {"部建": [5, 2, 2, 1], "省建": [3, 2, 4, 1], "市建": [1, 1, 2, 1], "县建": [0, 0, 0, 1]}[level],
            )[0]
            n += 1
            sys = BusinessSystem(
                code=f"SYS{n:03d}",
                name=f"{prefix}{title}" + (f"（{i // len(words) + 1}期）" if i >= len(words) else ""),
                department_id=depts[dept].id,
                builder_level=level,
                builder=f"{builder}（{depts[dept].short_name}条线）",
                deployment=deployment,
                data_held=f"{title.removesuffix('系统').removesuffix('平台')}业务数据",
                access_status=status,
                access_scope="本县范围内业务数据只读" if status == "granted" else "",
                access_expires=date(2027, 12, 31) if status == "granted" else None,
            )
            systems.append(sys)
    session.add_all(systems)
    session.flush()
    by_dept: dict[int, list[BusinessSystem]] = {}
    for s in systems:
        by_dept.setdefault(s.department_id, []).append(s)

    resources: list[Resource] = []
    today = date(2026, 11, 1)

    def add(**kw: Any) -> Resource:
        res = Resource(
            status="published",
            submitted_by="datahub",
            reviewer="datahub",
            linked_codes=[],
            publish_date=today - timedelta(days=rng.randint(10, 400)),
            **kw,
        )
        resources.append(res)
        return res

    add(
        code="101001/000001",
        category="101001",
        name="人口基础信息",
        kind="基础",
        base_library="人口",
        department_id=depts["gaj"].id,
        summary="本县户籍和常住人口的身份、户籍、联系方式等基础信息",
        share_type="有条件共享",
        share_condition="用于政务服务与基层治理，按最小必要原则申请字段",
        share_method="接口",
        update_cycle="每日",
        grade="一般",
        sensitivity=4,
        key_field="id_number",
        items=person_items(),
        format="数据库",
        maintainer="公安局",
    )
    add(
        code="102001/000001",
        category="102001",
        name="法人基础信息",
        kind="基础",
        base_library="法人",
        department_id=depts["scj"].id,
        summary="本县企业、个体工商户、社会组织的登记信息",
        share_type="无条件共享",
        update_cycle="每日",
        grade="一般",
        sensitivity=3,
        key_field="uscc",
        items=legal_items(),
        maintainer="市场监管局",
    )
    for seq, (name, url) in enumerate(
        (
            ("网格划分信息", "/api/v1/citymgmt/grids"),
            ("标准地址信息", "/api/v1/citymgmt/addresses"),
            ("社区与街道边界", "/api/v1/citymgmt/areas.geojson"),
        ),
        start=1,
    ):
        add(
            code=f"103001/00000{seq}",
            category="103001",
            name=name,
            kind="基础",
            base_library="地理",
            department_id=depts["sjb"].id if "sjb" in depts else depts["gaj"].id,
            summary=f"{name}，由数字城管子系统维护（地理基础库），此处登记目录并指向其接口",
            share_type="无条件共享",
            update_cycle="每月",
            grade="一般",
            sensitivity=1,
            key_field="code",
            online_url=url,
            service_info="数字城管子系统接口",
            management_mode="数字城管子系统维护",
            items=[
                _item(1, "编码", "code", required=True),
                _item(2, "名称", "name"),
                _item(3, "所在区划代码", "division_code", rule="行政区划代码"),
            ],
        )
    seq = 0
    dept_codes = [c for c in depts if not c.startswith("xz")]
    while len(resources) < 300:
        code = dept_codes[seq % len(dept_codes)]
        department = depts[code]
        topic = TOPICS[(seq // len(dept_codes)) % len(TOPICS)]
        seq += 1
        grade_pick = rng.random()
        grade, level = ("重要", None) if grade_pick > 0.93 else ("一般", rng.choice([1, 1, 2, 2, 3]))  # type: ignore[assignment]
        share = rng.choices(["无条件共享", "有条件共享", "不予共享"], [6, 3, 1])[0]
        cond = {
            "无条件共享": "",
            "有条件共享": "限履职需要的部门使用，按字段申请",
            "不予共享": "依据《中华人民共和国保守国家秘密法》及行业规定不予共享",
        }[share]
        category = f"3{(seq % 90) + 10:02d}001"
        sys_list = by_dept.get(department.id)
        items = [
            _item(1, "业务编号", "record_no", required=True, sensitivity=1),
            _item(2, "事项名称", "title", sensitivity=1),
            _item(3, "办理日期", "handled_on", data_type="日期", sensitivity=1),
            _item(4, "相对人名称", "party", sensitivity=min(level or 2, 2)),
            _item(5, "所在区划代码", "division_code", rule="行政区划代码", sensitivity=1),
        ]
        if grade == "重要":
            for it in items:
                it.grade, it.sensitivity = "一般", it.sensitivity
        add(
            code=f"{category}/{seq:06d}",
            category=category,
            name=f"{department.short_name or department.name}{topic}",
            kind="部门",
            department_id=department.id,
            system_id=sys_list[seq % len(sys_list)].id if sys_list else None,
            summary=f"{department.name}在履职过程中产生的{topic}数据",
            share_type=share,
            share_condition=cond,
            share_method=rng.choice(["接口", "库表", "文件"]),
            update_cycle=rng.choice(_CYCLES),
            grade=grade,
            sensitivity=level,
            key_field="record_no",
            items=items,
            maintainer=department.short_name or department.name,
        )
    _person_lookups(depts, add)
    for res in resources:
        search.reindex(res)
    session.add_all(resources)
    session.flush()


def _person_lookups(depts: dict[str, Department], add: Any) -> None:
    """Two departmental resources keyed by ID number that the citizen portal publishes to each person about
    themselves (住房公积金, 机动车违章); integration loads their records, the exchange grants them to 政务数据办."""
    id_item: dict[str, Any] = {"rule": "身份证号", "required": True, "length": 18, "sensitivity": 4}
    id_item.update({"share_type": "有条件共享", "masking": "身份证号"})
    if "zjj" in depts:
        add(
            code="380001/900001", category="380001", name="住房公积金缴存信息", kind="部门",
            department_id=depts["zjj"].id, summary="职工住房公积金账户的缴存单位、月缴存额和余额",
            share_type="有条件共享", share_condition="限本人授权查询或法定用途", update_cycle="每月", grade="一般",
            sensitivity=4, key_field="id_number", maintainer="住房公积金管理",
            items=[_item(1, "公民身份号码", "id_number", **id_item), _item(2, "缴存单位", "unit", length=100),
                   _item(3, "月缴存额（元）", "monthly", data_type="数值"),
                   _item(4, "账户余额（元）", "balance", data_type="数值", sensitivity=2)],
        )  # fmt: skip
    if "gaj" in depts:
        add(
            code="380002/900001", category="380002", name="机动车交通违法信息", kind="部门",
            department_id=depts["gaj"].id, summary="本人名下机动车未处理的交通违法记录（交警大队）",
            share_type="有条件共享", share_condition="限本人授权查询或法定用途", update_cycle="每日", grade="一般",
            sensitivity=4, key_field="id_number", maintainer="公安局交通警察大队",
            items=[_item(1, "公民身份号码", "id_number", **id_item), _item(2, "号牌号码", "plate", length=10),
                   _item(3, "未处理违法（起）", "open_count", data_type="整数"),
                   _item(4, "罚款合计（元）", "fines", data_type="数值"),
                   _item(5, "最近违法地点", "last_place", length=100)],
        )  # fmt: skip
