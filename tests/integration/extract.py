"""A held-out messy departmental extract, made in the test with known outcomes row by row.

Dirt: exact duplicates, a duplicate that only matches after normalisation (full-width ID, +86 phone,
gender 女/2), same ID number with other values (in-file conflicts, one of them repeated), a wrong
check digit (twice, identical), a date that does not exist, Excel serial dates (text in CSV, a number
cell in Excel), a real date cell, Chinese text that needs GB18030.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import datetime

from openpyxl import Workbook

from tests.integration.helpers import FULL, csv_bytes, ids
from zhixian.integration.demo import PEOPLE_COLUMNS

VILLAGE = "330421001001"


@dataclass
class Extract:
    rows: list[list[object]]
    counts: dict[str, int]
    conflicts: dict[int, tuple[int, set[str]]]  # row → (the row it repeats, fields that differ)
    invalid: dict[int, str]  # row → reason fragment
    ids: list[str] = field(default_factory=list)
    phones: dict[str, tuple[str, str]] = field(default_factory=dict)  # p4's phone in row 6 and row 14

    def csv_gb18030(self) -> bytes:
        return csv_bytes(self.rows, encoding="gb18030")

    def xlsx(self) -> bytes:
        """Dates as Excel keeps them: a serial number cell and a date cell, not text."""
        wb = Workbook()
        ws = wb.active
        assert ws is not None
        ws.append(PEOPLE_COLUMNS)
        for row in self.rows:
            cells = list(row)
            if cells[3] == "32874":
                cells[3] = 32874
            elif cells[3] == "1981/2/3":
                cells[3] = datetime(1981, 2, 3)
            ws.append(cells)
        buf = io.BytesIO()
        wb.save(buf)
        return buf.getvalue()


def messy_extract(seed: str = "held-out") -> Extract:
    p = ids(seed, 12)
    bad_check = p[10][:17] + ("1" if p[10][17] != "1" else "2")
    phone_a, phone_b = "13812340004", "13987650004"
    rows: list[list[object]] = [
        [p[0], "张三丰", "1", "1960-01-01", "13812340000", "罗星街道一号", VILLAGE],  # 2
        [p[1].translate(FULL), "李秀英", "女", "1961-02-02", "13912340001", "魏塘街道二号", VILLAGE],  # 3
        [p[2], "王建国", "男", "32874", "13712340002", "惠民街道三号", VILLAGE],  # 4 Excel serial
        [p[3], "赵淑珍", "2", "1981/2/3", "13612340003", "西塘镇四号", VILLAGE],  # 5
        [p[4], "钱德明", "1", "1964-05-05", phone_a, "姚庄镇五号", VILLAGE],  # 6
        [p[5], "孙美玲", "2", "1965-06-06", "13512340005", "陶庄镇六号", VILLAGE],  # 7
        [p[6], "周志强", "1", "1966-07-07", "13412340006", "干窑镇七号", VILLAGE],  # 8
        [p[7], "吴桂芳", "2", "1967-08-08", "", "天凝镇八号", VILLAGE],  # 9
        [p[8], "郑国栋", "1", "1968年9月9日", "", "大云镇九号", VILLAGE],  # 10
        [p[9], "冯丽娟", "2", "19691010", "", "罗星街道十号", VILLAGE],  # 11
        [p[0], "张三丰", "1", "1960-01-01", "13812340000", "罗星街道一号", VILLAGE],  # 12 exact duplicate of 2
        [p[1], "李秀英", "2", "1961/2/2", "+86 139 1234 0001", "魏塘街道二号", VILLAGE],  # 13 same as 3 once normalised
        [p[4], "钱德明", "1", "1964-05-05", phone_b, "姚庄镇五号", VILLAGE],  # 14 conflict with 6: phone
        [p[5], "孙美玲", "2", "1965-06-06", "13512340005", "陶庄镇六十号", VILLAGE],  # 15 conflict with 7: address
        [p[4], "钱德明", "1", "1964-05-05", phone_b, "姚庄镇五号", VILLAGE],  # 16 duplicate of 14
        [bad_check, "陈国华", "1", "1970-01-01", "13312340010", "罗星街道十一号", VILLAGE],  # 17 bad check digit
        [bad_check, "陈国华", "1", "1970-01-01", "13312340010", "罗星街道十一号", VILLAGE],  # 18 duplicate of 17
        [p[11], "褚建华", "1", "1990-13-45", "", "罗星街道十二号", VILLAGE],  # 19 date does not exist
        [p[6], "周智强", "1", "1966-07-07", "13412349999", "干窑镇七号", VILLAGE],  # 20 conflict with 8: name, phone
    ]
    counts = {
        "read": 19,
        "loaded": 10,
        "updated": 0,
        "unchanged": 0,
        "quarantined": 2,
        "key_conflicts": 3,
        "duplicates": 4,
    }
    return Extract(
        rows=rows,
        counts=counts,
        conflicts={14: (6, {"phone"}), 15: (7, {"address"}), 20: (8, {"name", "phone"})},
        invalid={17: "校验位错误", 19: "日期不存在"},
        ids=p,
        phones={"p4": (phone_a, phone_b)},
    )
