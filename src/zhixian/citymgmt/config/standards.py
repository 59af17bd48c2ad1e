"""Code tables from the digest (GB/T 30428.2 部件事件): the shipped defaults, editable afterwards.

``department`` is a department code; ``@属地`` sends the case to the township government of the
grid's street (属地兜底).
"""

from __future__ import annotations

from typing import Any

# (code, name, limit, unit, urgent limit, urgent unit, department, filing standard, closing standard)
ClassRow = tuple[str, str, float, str, float, str, str, str, str]

COMPONENT_MAJORS: dict[str, str] = {
    "B01": "公用设施",
    "B02": "道路交通",
    "B03": "市容环境",
    "B04": "园林绿化",
    "B05": "房屋土地",
    "B06": "其他设施",
}
EVENT_MAJORS: dict[str, str] = {
    "S01": "市容环境",
    "S02": "宣传广告",
    "S03": "施工管理",
    "S04": "突发事件",
    "S05": "街面秩序",
}

_COVER = "井盖缺失、破损、移位或下陷"
_COVER_CLOSE = "井盖复位或更换，路面平整无安全隐患"

COMPONENT_CLASSES: list[ClassRow] = [
    ("B0101", "上水井盖", 4, "hours", 1, "hours", "zjj", _COVER, _COVER_CLOSE),
    ("B0102", "污水井盖", 4, "hours", 1, "hours", "zjj", _COVER, _COVER_CLOSE),
    ("B0103", "雨水井盖", 4, "hours", 1, "hours", "zjj", _COVER, _COVER_CLOSE),
    ("B0104", "电力井盖", 8, "hours", 2, "hours", "zjj", _COVER, _COVER_CLOSE),
    ("B0105", "通信井盖", 8, "hours", 2, "hours", "zjj", _COVER, _COVER_CLOSE),
    ("B0106", "燃气井盖", 2, "hours", 1, "hours", "zjj", _COVER, _COVER_CLOSE),
    ("B0107", "消防栓", 8, "hours", 2, "hours", "zjj", "消防栓损坏、漏水或被圈占", "消防栓完好可用"),
    ("B0201", "路灯", 2, "days", 4, "hours", "zjj", "路灯不亮、灯杆倾斜或破损", "路灯正常亮灯，灯杆完好"),
    ("B0202", "交通信号灯", 4, "hours", 1, "hours", "gaj_jjdd", "信号灯不亮或故障", "信号灯运行正常"),
    ("B0203", "道路护栏", 2, "days", 4, "hours", "jtj", "护栏缺失、破损、倾倒", "护栏修复或更换"),
    ("B0204", "公交站亭", 2, "days", 8, "hours", "jtj", "站亭破损、污损", "站亭完好整洁"),
    ("B0205", "路名牌", 5, "days", 1, "days", "zjj", "路名牌缺失、破损、错误", "路名牌完好准确"),
    ("B0206", "桥梁", 1, "days", 2, "hours", "jtj", "桥梁栏杆、桥面破损", "桥梁设施修复"),
    ("B0301", "公共厕所", 1, "days", 4, "hours", "zfj", "公厕脏乱、设施损坏、未按时开放", "公厕整洁、设施完好"),
    ("B0302", "垃圾箱", 4, "hours", 2, "hours", "zfj", "垃圾箱满溢、破损、缺失", "垃圾箱清理或更换"),
    ("B0303", "广告牌匾", 2, "days", 4, "hours", "zfj", "牌匾破损、存在坠落隐患", "牌匾修复或拆除"),
    ("B0401", "行道树", 2, "days", 4, "hours", "zjj", "行道树倒伏、枯死、缺株", "行道树扶正、补植或清除"),
    ("B0402", "古树名木", 1, "days", 4, "hours", "zjj", "古树名木受损", "古树名木得到养护"),
    ("B0403", "绿地", 5, "days", 1, "days", "zjj", "绿地缺损、践踏、黄土裸露", "绿地修复补植"),
    ("B0501", "雕塑", 5, "days", 1, "days", "zjj", "城市雕塑破损、污损", "雕塑修复清洁"),
    ("B0601", "报刊亭", 2, "days", 1, "days", "zfj", "报刊亭破损或违规经营", "报刊亭完好、规范经营"),
]

EVENT_CLASSES: list[ClassRow] = [
    (
        "S0101",
        "私搭乱建",
        4,
        "hours",
        2,
        "hours",
        "zfj",
        "未经批准搭建建(构)筑物",
        "停止施工并拆除（拆除另计 20 个工作日）",
    ),
    ("S0102", "暴露垃圾", 4, "hours", 2, "hours", "zfj", "道路、广场等公共场所有成堆暴露垃圾", "垃圾清理干净"),
    ("S0103", "建筑垃圾渣土", 2, "days", 4, "hours", "zfj", "渣土、建筑垃圾乱倒或运输抛洒", "渣土清运完毕"),
    ("S0104", "道路不洁", 2, "hours", 1, "hours", "zfj", "路面有明显污渍、油渍、垃圾", "路面清扫干净"),
    ("S0105", "绿地脏乱", 5, "days", 1, "days", "@属地", "绿地内有垃圾杂物、枯枝", "绿地整洁"),
    ("S0106", "焚烧垃圾树叶", 2, "hours", 1, "hours", "sthj", "露天焚烧垃圾、树叶", "火源熄灭、残留清理"),
    ("S0201", "非法小广告", 1, "days", 4, "hours", "@属地", "张贴、涂写、刻画非法小广告", "小广告清除"),
    ("S0202", "违规散发", 4, "hours", 2, "hours", "zfj", "街头违规散发宣传品", "散发行为制止"),
    ("S0203", "违规户外广告", 5, "days", 1, "days", "zfj", "未经审批设置户外广告", "户外广告整改或拆除"),
    ("S0301", "施工噪声", 4, "hours", 1, "hours", "sthj", "夜间或超标施工噪声扰民", "噪声停止或达标"),
    ("S0302", "占道施工", 1, "days", 4, "hours", "jtj", "未经批准占用道路施工", "办理手续或恢复道路"),
    ("S0303", "扬尘", 4, "hours", 2, "hours", "sthj", "工地或道路扬尘污染", "扬尘得到控制"),
    ("S0304", "施工废弃物", 2, "days", 4, "hours", "zjj", "施工废弃物乱堆乱放", "废弃物清运"),
    ("S0401", "爆管", 2, "hours", 1, "hours", "zjj", "供水、排水管道爆裂", "管道修复、恢复通水"),
    ("S0402", "路面塌陷", 4, "hours", 2, "hours", "jtj", "路面塌陷、坑洼影响通行", "路面修复、设置警示"),
    ("S0403", "积水", 4, "hours", 2, "hours", "slj", "道路、下穿通道积水", "积水排除"),
    ("S0404", "火灾", 1, "hours", 0.5, "hours", "yjj", "公共场所火情", "火情扑灭并移交"),
    ("S0501", "无照经营游商", 4, "hours", 2, "hours", "zfj", "无照流动摊贩经营", "游商劝离"),
    ("S0502", "占道经营", 4, "hours", 2, "hours", "zfj", "店外经营、占用人行道", "占道物品清除"),
    ("S0503", "乞讨", 1, "days", 4, "hours", "mzj", "街头乞讨、流浪", "救助或劝离"),
    ("S0504", "非法营运", 1, "days", 4, "hours", "jtj", "非法营运车辆揽客", "非法营运查处"),
]

DEFAULT_CONFIG: dict[str, Any] = {
    "yellow_ratio": 0.2,  # yellow light when less than this share of the time limit remains
    "duplicate_distance_m": 50.0,
    "duplicate_hours": 24.0,
    "photo_max_bytes": 5 * 1024 * 1024,
    "filing_limit_hours": 1.0,  # 按时立案: filed within this working time of the report
    "verify_limit_hours": 1.0,  # 按时核实
    "check_limit_hours": 2.0,  # 按时核查
    "weights": {"ontime_close_rate": 0.5, "close_rate": 0.3, "no_rework_rate": 0.2},
    "open311_api_keys": [],  # empty: open to any citizen app; otherwise POST must carry one of these api_key values
    "open311_reports_per_hour": 60,  # per source address (IPv6: per /64), so one script cannot flood the case hub
    # the sources whose cases Open311 reads publish (anonymously); the rest answer 404 like missing numbers
    "open311_public_sources": ["open311", "portal"],
}

SOURCES: dict[str, str] = {
    "inspector": "监督员上报",
    "hotline": "12345热线",
    "open311": "市民上报",
    "sensor": "物联感知",
    "video": "视频智能分析",
    "referral": "上级转办",
    "leader": "领导交办",
    "storefront": "商铺店面",
    "portal": "市民随手拍",
}
PUBLIC_SOURCES = ("hotline", "open311", "portal")  # first reports by the public count as 漏报 of the grid's inspector

STATUS_LABELS: dict[str, str] = {
    "reported": "待受理",
    "verifying": "核实中",
    "dispatching": "待派遣",
    "handling": "处置中",
    "checking": "待核查",
    "closed": "已结案",
    "rejected": "不予立案",
    "on_hold": "挂账缓办",
    "merged": "已合并",
}
OPEN_STATUSES = ("reported", "verifying", "dispatching", "handling", "checking", "on_hold")
FINAL_STATUSES = ("closed", "rejected", "merged")
