"""GB/T 43697-2024 grades and the vocabularies of the catalogue.

一般数据 is split into sensitivity levels 1–4 (Annex H); counties confirm the split locally, so the
number of levels is the catalogue's declared setting ``general_levels`` (``ZHIXIAN_CATALOG_GENERAL_LEVELS``,
default 4), read from the node's settings: schema validators have no node at hand.
"""

from __future__ import annotations

import re

from zhixian import settings
from zhixian.catalog.settings import GENERAL_LEVELS

GRADES = ("一般", "重要", "核心")
SHARE_TYPES = ("无条件共享", "有条件共享", "不予共享")
SHARE_METHODS = ("接口", "库表", "文件")
OPEN_TYPES = ("无条件开放", "有条件开放", "不予开放")
UPDATE_CYCLES = ("实时", "每日", "每周", "每月", "每季度", "每半年", "每年", "不定期")
CYCLE_DAYS = {"实时": 1, "每日": 1, "每周": 7, "每月": 31, "每季度": 92, "每半年": 183, "每年": 366}
KINDS = ("基础", "主题", "部门")
BASE_LIBRARIES = ("", "人口", "法人", "地理")
STATUSES = ("draft", "review", "published", "withdrawn")
STATUS_LABELS = {"draft": "草稿", "review": "待审核", "published": "已发布", "withdrawn": "已撤回"}
DATA_TYPES = ("字符串", "整数", "数值", "日期", "日期时间", "布尔")
RULES = ("", "身份证号", "统一社会信用代码", "手机号", "电话", "行政区划代码", "性别")
BUILDER_LEVELS = ("部建", "省建", "市建", "县建")
ACCESS_STATUSES = ("none", "applied", "granted", "local_copy")
ACCESS_LABELS = {"none": "未获取", "applied": "已向上申请", "granted": "已授权", "local_copy": "本地留存"}

# 信息资源分类: 类 (1 digit: 1 基础 2 主题 3 部门), 项 (2), 目 (3), 细目 (variable), then "/" and a sequence code
CATEGORY_RE = re.compile(r"^([1-3])(\d{2})(\d{3})?(\d{1,6})?$")
RESOURCE_CODE_RE = re.compile(r"^([1-3]\d{2}(?:\d{3}(?:\d{1,6})?)?)/(\d{4,6})$")
KIND_BY_CLASS = {"1": "基础", "2": "主题", "3": "部门"}


def general_levels() -> int:
    """How many sensitivity levels 一般数据 has in this county."""
    return settings.current().declared(GENERAL_LEVELS)


def grade_rank(grade: str, sensitivity: int | None) -> int:
    """One ordering over all grades: 一般 level 1 lowest, 核心 highest."""
    if grade == "核心":
        return general_levels() + 2
    if grade == "重要":
        return general_levels() + 1
    return sensitivity or 1


def grade_label(grade: str, sensitivity: int | None) -> str:
    return f"一般数据（{sensitivity}级）" if grade == "一般" and sensitivity else f"{grade}数据"


def check_grade(grade: str, sensitivity: int | None) -> str | None:
    """Chinese message if the pair is not a valid grade, else None."""
    if grade not in GRADES:
        return f"分级必须是 {'、'.join(GRADES)} 之一"
    if grade == "一般":
        levels = general_levels()
        if sensitivity is None or not 1 <= sensitivity <= levels:
            return f"一般数据须注明敏感级别 1–{levels}"
    elif sensitivity is not None:
        return f"{grade}数据不再细分敏感级别，请留空"
    return None


def check_category(category: str, kind: str) -> str | None:
    m = CATEGORY_RE.match(category)
    if not m:
        return "信息资源分类代码格式应为 类(1位)+项(2位)+目(3位)+细目，例如 101001"
    if KIND_BY_CLASS[m.group(1)] != kind:
        return f"分类代码首位 {m.group(1)} 表示{KIND_BY_CLASS[m.group(1)]}信息资源，与目录类型“{kind}”不符"
    return None


def check_code(code: str, category: str) -> str | None:
    m = RESOURCE_CODE_RE.match(code)
    if not m:
        return "信息资源代码格式应为 分类代码/顺序码，例如 101001/000001"
    if m.group(1) != category:
        return f"信息资源代码前段 {m.group(1)} 与分类代码 {category} 不一致"
    return None
