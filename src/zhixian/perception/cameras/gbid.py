"""GB/T 28181 20-digit device IDs and civil codes, checked against the county they must belong to.

中心编码 8 (GB/T 2260 county code + 2-digit grassroots unit) · 行业编码 2 · 类型编码 3 · 网络标识 1 · 序号 6.
Every refusal names the part that is wrong, so a row of an imported catalogue can be fixed by whoever sent it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

INDUSTRIES = {
    "00": "社会治安路面",
    "01": "社会治安社区",
    "02": "社会治安内部",
    "03": "社会治安其他",
    "04": "交通路面",
    "05": "交通卡口",
    "06": "交通内部",
    "07": "交通其他",
    "08": "城市管理",
    "09": "卫生环保",
    "10": "商检海关",
    "11": "教育部门",
}
TYPES = {
    "111": "DVR",
    "112": "视频服务器",
    "113": "编码器",
    "114": "解码器",
    "115": "视频切换矩阵",
    "116": "音频切换矩阵",
    "117": "报警控制器",
    "118": "NVR",
    "131": "摄像机",
    "132": "网络摄像机（IPC）",
    "133": "显示器",
    "134": "报警输入设备",
    "135": "报警输出设备",
    "136": "语音输入设备",
    "137": "语音输出设备",
    "138": "移动传输设备",
    "139": "其他外围设备",
    "200": "中心信令控制服务器",
    "215": "业务分组",
    "216": "虚拟组织",
    "300": "中心用户",
    "400": "终端用户",
}
NETWORKS = {
    "0": "监控报警专网",
    "1": "监控报警专网",
    "2": "监控报警专网",
    "3": "监控报警专网",
    "4": "监控报警专网",
    "5": "公安信息网",
    "6": "政务网",
    "7": "互联网",
    "8": "社会资源接入网",
}
GROUP_TYPES = ("215", "216")
_DIGITS20 = re.compile(r"^\d{20}$")
_CIVIL = re.compile(r"^(\d{2}|\d{4}|\d{6}|\d{8})$")


@dataclass(frozen=True)
class GbId:
    value: str

    @property
    def centre(self) -> str:
        return self.value[:8]

    @property
    def industry(self) -> str:
        return self.value[8:10]

    @property
    def type_code(self) -> str:
        return self.value[10:13]

    @property
    def network(self) -> str:
        return self.value[13]

    @property
    def type_name(self) -> str:
        return TYPES.get(self.type_code, f"类型 {self.type_code}")


def industry_name(code: str) -> str:
    if code in INDUSTRIES:
        return INDUSTRIES[code]
    n = int(code)
    return "企业" if 40 <= n <= 79 else "居民自建" if 80 <= n <= 89 else "其他"


def problem(value: str, county_code: str) -> str | None:
    """Why ``value`` is not a device ID of this county, or None when it is one."""
    if not _DIGITS20.match(value):
        return f"编码“{value[:40]}”应为 20 位数字（现为 {len(value)} 位）"
    gb = GbId(value)
    if not value.startswith(county_code):
        return f"中心编码 {gb.centre} 不属于本县（应以县级行政区划代码 {county_code} 开头）"
    industry = int(gb.industry)
    if 12 <= industry <= 39:
        return f"行业编码 {gb.industry} 为标准预留值，不能使用"
    code = int(gb.type_code)
    if not (111 <= code <= 499) or (gb.type_code not in TYPES and not (119 <= code <= 130 or 140 <= code <= 199)):
        return f"类型编码 {gb.type_code} 不是 GB/T 28181 规定的设备类型"
    if gb.network not in NETWORKS:
        return f"网络标识 {gb.network} 无效（应为 0–8）"
    return None


def civil_problem(value: str, county_code: str) -> str | None:
    """A region's civil code must be the county, one of its ancestors, or one of its townships."""
    if not _CIVIL.match(value):
        return f"行政区划编码“{value[:40]}”应为 2、4、6 或 8 位数字"
    if len(value) <= 6 and not county_code.startswith(value):
        return f"行政区划 {value} 不是本县（{county_code}）或其上级"
    if len(value) == 8 and not value.startswith(county_code):
        return f"行政区划 {value} 不在本县（{county_code}）内"
    return None


def is_id(value: str) -> bool:
    return bool(_DIGITS20.match(value))


def is_civil(value: str) -> bool:
    return bool(_CIVIL.match(value))
