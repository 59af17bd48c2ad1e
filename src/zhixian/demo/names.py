"""Seeded generators of plausible Chinese names, ID numbers, phone numbers and company codes.

Every function takes a caller-owned ``random.Random`` so demo data is reproducible from one seed
and never disturbs (or depends on) the global PRNG.
"""

from __future__ import annotations

import itertools
import random
from datetime import date
from typing import Literal

__all__ = [
    "CompanyKind",
    "OrgKind",
    "community_name",
    "company",
    "company_name",
    "id_number",
    "mobile",
    "org_code_check_char",
    "person_name",
    "ric_check_char",
    "street_name",
    "town_name",
    "uscc",
    "uscc_check_char",
    "village_name",
]

CompanyKind = Literal["enterprise", "individual", "coop"]
"""Market entities a county registers: 企业, 个体工商户, 农民专业合作社."""

OrgKind = Literal["enterprise", "individual", "coop", "agency", "institution"]
"""Entities that carry a USCC; agencies (机关) and institutions (事业单位) are registered by 编办."""


def _words(text: str) -> tuple[str, ...]:
    """Split a space-separated word table; keeps long Chinese lists compact and diff-friendly."""
    return tuple(text.split())


def _weighted(text: str) -> tuple[tuple[str, int], ...]:
    """Parse ``王710 李700`` style tokens into (word, weight) pairs."""
    return tuple((tok.rstrip("0123456789"), int(tok[len(tok.rstrip("0123456789")) :])) for tok in text.split())


# ---------------------------------------------------------------------------------------------------------
# Person names
# ---------------------------------------------------------------------------------------------------------

# Approximate share (per ten thousand people) of the most common surnames, so demo rosters look natural;
# the trailing 复姓 are rare but should appear now and then.
_SURNAME_WEIGHTS: tuple[tuple[str, int], ...] = _weighted(
    "王710 李700 张670 刘540 陈450 杨310 黄220 赵220 吴200 周190 徐130 孙120 "
    "马120 朱120 胡110 郭110 何100 高100 林100 罗90 郑80 梁80 谢70 宋60 唐60 "
    "许60 韩55 冯55 邓55 曹50 彭50 曾50 肖50 田45 董45 袁40 潘40 于40 蒋40 蔡40 "
    "余40 杜38 叶38 程37 苏35 魏35 吕34 丁33 任33 沈32 姚30 卢30 姜29 崔28 钟28 "
    "谭27 陆27 汪26 范26 金25 石25 廖24 贾24 夏23 韦23 付22 方22 白21 邹21 孟20 "
    "熊20 秦20 邱20 江19 尹19 薛18 闫18 段17 雷17 侯16 龙16 史16 陶15 黎15 贺15 "
    "顾14 毛14 郝14 龚13 邵13 万13 钱12 严12 覃12 武12 戴12 莫11 孔11 向11 汤10 "
    "欧阳3 司马1 上官1 诸葛1"
)
_SURNAMES: tuple[str, ...] = tuple(s for s, _ in _SURNAME_WEIGHTS)
_SURNAME_CUM: tuple[int, ...] = tuple(itertools.accumulate(w for _, w in _SURNAME_WEIGHTS))
# Single-character surnames only, for 张记面馆 and 钱家村 style names.
_PLAIN_SURNAMES: tuple[str, ...] = tuple(s for s in _SURNAMES if len(s) == 1)

_MALE_GIVEN_1 = "伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊帆旭宁龙林建国志文海峰亮成东晨博轩昊睿哲诚振"
_FEMALE_GIVEN_1 = "芳娜敏静丽艳娟霞秀英玲丹萍红婷雪琳颖倩洁慧燕莉蓉佳欣怡悦琪梦晓瑶妍萱雅晶露兰凤梅"
_MALE_GIVEN_2 = _words(
    "建国 建华 志强 志明 国强 国庆 海波 海涛 俊杰 子轩 浩然 宇航 家豪 "
    "明轩 文博 天佑 思远 晨阳 一鸣 振华 永强 春华 立新 卫东 建军 晓东 "
    "晓峰 伟民 德胜 国平 学军 金龙 云飞 鹏飞 宏伟 文杰 志刚 新民 嘉诚 "
    "子豪 梓睿 睿泽 皓轩 宇辰 逸飞 俊熙 博文 正阳 兴旺 锦程 泽宇 明杰"
)
_FEMALE_GIVEN_2 = _words(
    "秀英 桂英 秀兰 玉兰 丽娟 美玲 晓燕 晓红 春梅 雪梅 海燕 丽华 淑珍 "
    "慧敏 静怡 欣怡 梓涵 诗涵 雨萱 思琪 梦瑶 佳怡 语嫣 可馨 若曦 雅婷 "
    "婉婷 佳慧 晓琳 丹丹 婷婷 莉莉 文静 红霞 艳萍 小芳 玉洁 月华 彩霞 "
    "凤英 一诺 梓萱 欣妍 紫涵 雨桐 佳琪"
)


def _surname(rng: random.Random) -> str:
    """Draw a surname with realistic frequency."""
    return rng.choices(_SURNAMES, cum_weights=_SURNAME_CUM)[0]


def person_name(rng: random.Random, *, male: bool | None = None) -> str:
    """A plausible full name: weighted surname plus a one- or two-character given name.

    ``male`` picks gendered given names so a name can match an ID number's sex digit;
    ``None`` chooses the sex at random.
    """
    if male is None:
        male = rng.random() < 0.5
    surname = _surname(rng)
    if rng.random() < 0.25:
        given = rng.choice(_MALE_GIVEN_1 if male else _FEMALE_GIVEN_1)
    else:
        given = rng.choice(_MALE_GIVEN_2 if male else _FEMALE_GIVEN_2)
    return surname + given


# ---------------------------------------------------------------------------------------------------------
# 公民身份号码 (GB 11643-1999)
# ---------------------------------------------------------------------------------------------------------

_RIC_WEIGHTS: tuple[int, ...] = tuple(pow(2, 17 - i, 11) for i in range(17))


def ric_check_char(body: str) -> str:
    """ISO 7064 MOD 11-2 check character for the first 17 digits of an ID number."""
    if len(body) != 17 or not body.isascii() or not body.isdigit():
        raise ValueError("ID number body must be 17 digits")
    total = sum(int(c) * w for c, w in zip(body, _RIC_WEIGHTS, strict=True))
    value = (12 - total % 11) % 11
    return "X" if value == 10 else str(value)


def id_number(rng: random.Random, *, area_code: str, birth: date, male: bool) -> str:
    """A valid 18-character 身份证号.

    The 17th digit is odd for men and even for women. Validators such as ``stdnum.cn.ric`` also check
    that ``area_code`` is a real division that existed in the birth year, so pass a real code.
    """
    if len(area_code) != 6 or not area_code.isascii() or not area_code.isdigit():
        raise ValueError("area_code must be a 6-digit administrative division code")
    sequence = f"{rng.randrange(100):02d}{rng.choice('13579' if male else '02468')}"
    if sequence == "000":  # sequence 000 is never issued
        sequence = "100"
    body = f"{area_code}{birth:%Y%m%d}{sequence}"
    return body + ric_check_char(body)


# ---------------------------------------------------------------------------------------------------------
# Mobile numbers
# ---------------------------------------------------------------------------------------------------------

# Real mainland mobile number segments of the three carriers and China Broadnet.
_MOBILE_PREFIXES: tuple[str, ...] = (
    *(f"13{d}" for d in range(10)),
    *(f"15{d}" for d in (0, 1, 2, 3, 5, 6, 7, 8, 9)),
    "173",
    "175",
    "176",
    "177",
    "178",
    *(f"18{d}" for d in range(10)),
    "191",
    "193",
    "195",
    "196",
    "197",
    "198",
    "199",
)


def mobile(rng: random.Random) -> str:
    """A valid-looking 11-digit mainland mobile number on a real carrier segment."""
    return rng.choice(_MOBILE_PREFIXES) + f"{rng.randrange(100_000_000):08d}"


# ---------------------------------------------------------------------------------------------------------
# 统一社会信用代码 (GB 32100-2015) and its embedded 组织机构代码 (GB 11714-1997)
# ---------------------------------------------------------------------------------------------------------

_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I, O, S, V, Z
_USCC_WEIGHTS: tuple[int, ...] = tuple(pow(3, i, 31) for i in range(17))
_ORG_WEIGHTS: tuple[int, ...] = (3, 7, 9, 10, 5, 8, 4, 2)
_USCC_PREFIX: dict[str, str] = {
    "enterprise": "91",  # 工商 / 企业
    "individual": "92",  # 工商 / 个体工商户
    "coop": "93",  # 工商 / 农民专业合作社
    "agency": "11",  # 机构编制 / 机关
    "institution": "12",  # 机构编制 / 事业单位
}


def org_code_check_char(body: str) -> str:
    """GB 11714 check character for the 8-character body of an organisation code."""
    if len(body) != 8 or any(c not in _USCC_ALPHABET for c in body):
        raise ValueError("organisation code body must be 8 characters of the USCC alphabet")
    total = sum((int(c) if c.isdigit() else ord(c) - 55) * w for c, w in zip(body, _ORG_WEIGHTS, strict=True))
    value = 11 - total % 11
    return {10: "X", 11: "0"}.get(value, str(value))


def uscc_check_char(body: str) -> str:
    """GB 32100 mod-31 check character for the first 17 characters of a USCC."""
    if len(body) != 17 or any(c not in _USCC_ALPHABET for c in body):
        raise ValueError("USCC body must be 17 characters of the USCC alphabet")
    total = sum(_USCC_ALPHABET.index(c) * w for c, w in zip(body, _USCC_WEIGHTS, strict=True))
    return _USCC_ALPHABET[-total % 31]


def uscc(rng: random.Random, *, area_code: str, kind: OrgKind = "enterprise") -> str:
    """A valid 18-character 统一社会信用代码 registered in ``area_code``.

    Post-2015 registrations get ``MA``-prefixed organisation codes, older ones all-digit codes, as in
    real registers; both the organisation code and the whole code carry correct check characters.
    """
    if len(area_code) != 6 or not area_code.isascii() or not area_code.isdigit():
        raise ValueError("area_code must be a 6-digit administrative division code")
    if rng.random() < 0.6:
        org_body = "MA" + "".join(rng.choice(_USCC_ALPHABET) for _ in range(6))
    else:
        org_body = f"{rng.randrange(10_000_000, 100_000_000):08d}"
    body = _USCC_PREFIX[kind] + area_code + org_body + org_code_check_char(org_body)
    return body + uscc_check_char(body)


# ---------------------------------------------------------------------------------------------------------
# Company and shop names
# ---------------------------------------------------------------------------------------------------------

_TRADE_NAMES = _words(
    "华信 鑫源 永盛 恒达 金诚 宏达 天成 瑞丰 嘉禾 新宇 凯旋 德润 博远 "
    "锦程 浩瀚 联创 盛世 万顺 荣昌 兴业 富强 长青 顺发 汇通 恒昌 东润 "
    "佳美 利民 鸿运 振兴 天润 银河 腾飞 明珠 亿丰 晨光 众诚 宝丰"
)
_INDUSTRIES = _words(
    "五金制造 纺织 服饰 木业 电子科技 机械制造 食品 新型建材 物流 建筑工程 "
    "塑料制品 包装材料 家具 光电科技 新材料科技 环保科技 农业开发 商贸 "
    "餐饮管理 物业管理 精密机械 汽车配件 智能科技 印染"
)
_SHOPS = _words(
    "面馆 小吃店 五金店 便利店 水果店 理发店 烟酒店 超市 快餐店 汽修店 "
    "干洗店 日杂店 茶馆 早餐店 烧烤店 粮油店 建材店 馄饨店 包子铺 花店"
)
_COOP_PRODUCTS = _words("果蔬 水产养殖 粮油 葡萄 黄桃 甲鱼 蘑菇 花卉苗木 生猪养殖 蜂业 茶叶 稻米")


def _county_root(county_name: str) -> str:
    """嘉善县 → 嘉善, as used in trade names; two-character counties such as 沛县 keep the suffix."""
    if len(county_name) > 2 and county_name[-1] in "县区市旗":
        return county_name[:-1]
    return county_name


_INDIVIDUAL_TEMPLATES = ("{surname}记{shop}", "{root}{trade}{shop}", "{county}{old}{surname}{shop}")
_ENTERPRISE_TEMPLATES = (
    "{county}{trade}{industry}有限公司",
    "{root}{trade}{industry}有限公司",
    "{trade}{industry}（{root}）有限公司",
    "{county}{trade}{industry}股份有限公司",
)
_ENTERPRISE_TEMPLATE_WEIGHTS = (5, 3, 1, 1)


def company_name(rng: random.Random, county_name: str, *, kind: CompanyKind | None = None) -> str:
    """A plausible registered name of a company, 个体 shop or cooperative in ``county_name``.

    Examples: 嘉善县华信五金制造有限公司, 张记面馆, 嘉善县瑞丰果蔬专业合作社.
    """
    if kind is None:
        kind = rng.choices(("enterprise", "individual", "coop"), weights=(6, 3, 1))[0]
    parts = {"county": county_name, "root": _county_root(county_name), "trade": rng.choice(_TRADE_NAMES)}
    if kind == "individual":
        template = rng.choice(_INDIVIDUAL_TEMPLATES)
        parts |= {"shop": rng.choice(_SHOPS), "surname": rng.choice(_PLAIN_SURNAMES), "old": rng.choice("老小")}
    elif kind == "coop":
        template = "{county}{trade}{product}专业合作社"
        parts["product"] = rng.choice(_COOP_PRODUCTS)
    else:
        template = rng.choices(_ENTERPRISE_TEMPLATES, weights=_ENTERPRISE_TEMPLATE_WEIGHTS)[0]
        parts["industry"] = rng.choice(_INDUSTRIES)
    return template.format_map(parts)


def company(rng: random.Random, *, county_name: str, area_code: str) -> tuple[str, str]:
    """A (name, USCC) pair whose USCC category matches the kind of entity the name describes."""
    kind: CompanyKind = rng.choices(("enterprise", "individual", "coop"), weights=(6, 3, 1))[0]
    return company_name(rng, county_name, kind=kind), uscc(rng, area_code=area_code, kind=kind)


# ---------------------------------------------------------------------------------------------------------
# Place names
# ---------------------------------------------------------------------------------------------------------

_VILLAGE_AUSPICIOUS = _words(
    "新联 红星 永丰 东升 光明 联合 胜利 友谊 和平 团结 民主 建新 勤俭 "
    "先锋 五星 红旗 幸福 富民 长丰 兴旺 丰收 新农 太平 大通 洪溪 双桥 "
    "南星 北港 金星 银湾 新丰 长生 永红 东风 群益 三星 翔胜 曙光"
)
_VILLAGE_FIRST = "新红永东西南北联光长民胜富丰和兴建群星金银双三大小横"
_VILLAGE_SECOND = "联星丰升明合利胜兴华民光旗荡港塘桥湾浜泾圩溪河"
_VILLAGE_SURNAME_SUFFIX: tuple[str, ...] = ("家", "家浜", "家桥", "家埭", "家港", "家湾", "庄", "家宅")
_COMMUNITY_ROOTS = _words(
    "文昌 阳光 东门 西门 南门 北门 花园 紫薇 银杏 桂花 锦绣 和谐 康城 "
    "新城 滨河 湖滨 翠竹 金桥 玉兰 春晖 怡景 枫林 府前 学院 世纪 明珠 "
    "嘉苑 中山 解放 健康 鑫都 华亭 梅园 秀水 亭桥 泗洲 施家 车站"
)
_COMMUNITY_FIRST = "文阳锦华康怡春翠嘉秀梅兰桂新宁泰安和"
_COMMUNITY_SECOND = "昌光苑城景园庭湾苑晖秀华庭都苑"
_STREET_BASES = _words(
    "人民 解放 中山 建设 胜利 和平 新华 文化 健康 体育 迎宾 环城 花园 "
    "车站 工业 科技 学府 振兴 长江 黄河 亭桥 施家 谈公 晋阳 归谷 罗星 "
    "善江 浦发 东方 世纪 友谊 阳光 梅园 银河 开发"
)
_STREET_JIEDAO_FIRST = "罗魏惠东西南北城文凤云龙锦阳晋"
_STREET_JIEDAO_SECOND = "星塘民湖城阳山溪安兴桥港门江"
_TOWN_FIRST = "西干天大下上洪新丁杨陶姚凤长永枫平石金白青黄柳莲"
_TOWN_SECOND = "塘窑凝云庄栅庙溪桥浦泾渡湾港店墩埠"
_XIANG_SECOND = "溪坑岙山田源坪岭"


def _pair(rng: random.Random, first: str, second: str) -> str:
    """Two distinct characters drawn from the two lists (avoids 安安-style doubles)."""
    a = rng.choice(first)
    b = rng.choice(second)
    while b == a:
        b = rng.choice(second)
    return a + b


def village_name(rng: random.Random) -> str:
    """An administrative village (村委会) name such as 钱家村, 沈家浜村 or 新联村."""
    pattern = rng.randrange(10)
    if pattern < 4:
        root = rng.choice(_PLAIN_SURNAMES) + rng.choice(_VILLAGE_SURNAME_SUFFIX)
    elif pattern < 7:
        root = rng.choice(_VILLAGE_AUSPICIOUS)
    else:
        root = _pair(rng, _VILLAGE_FIRST, _VILLAGE_SECOND)
    return root + "村"


def community_name(rng: random.Random) -> str:
    """An urban community (社区居委会) name such as 文昌社区."""
    if rng.random() < 0.6:
        return rng.choice(_COMMUNITY_ROOTS) + "社区"
    return _pair(rng, _COMMUNITY_FIRST, _COMMUNITY_SECOND) + "社区"


def street_name(rng: random.Random) -> str:
    """A road name such as 人民路, 解放东路 or 中山北路."""
    base = rng.choice(_STREET_BASES)
    roll = rng.random()
    if roll < 0.08:
        return base + "大道"
    direction = rng.choice("东西南北中") if rng.random() < 0.35 else ""
    return base + direction + ("街" if roll < 0.2 else "路")


def town_name(rng: random.Random, kind: Literal["街道", "镇", "乡"] = "镇") -> str:
    """A township-level name with its suffix: 罗星街道, 西塘镇, 姚庄镇 or 青溪乡."""
    if kind == "街道":
        return _pair(rng, _STREET_JIEDAO_FIRST, _STREET_JIEDAO_SECOND) + "街道"
    if kind == "乡":
        return _pair(rng, _TOWN_FIRST, _XIANG_SECOND) + "乡"
    if rng.random() < 0.25:
        return rng.choice(_PLAIN_SURNAMES) + "庄镇"
    return _pair(rng, _TOWN_FIRST, _TOWN_SECOND) + "镇"
