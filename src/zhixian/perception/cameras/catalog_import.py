"""Readers for a video platform's catalogue: GB/T 28181 Catalog XML, CSV/Excel and wvp-GB28181-pro's JSON.

Each reader turns its input into ``Entry`` rows numbered as the sender sees them (Item n, line n), so a
refusal can say which row is wrong. XML is parsed with the standard library after refusing any DTD or
entity declaration: that closes XXE and entity expansion without another dependency.
"""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

from python_calamine import CalamineWorkbook

from zhixian.errors import Invalid

MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 50_000


@dataclass
class Entry:
    row: int
    gb_id: str
    name: str = ""
    civil_code: str = ""
    parent_id: str = ""
    business_group_id: str = ""
    manufacturer: str = ""
    model: str = ""
    address: str = ""
    lon: float | None = None
    lat: float | None = None
    status: str = "OFF"
    ptz_type: int = 0
    problems: list[str] = field(default_factory=list)


def _float(value: Any, what: str, entry: Entry) -> float | None:
    if value in (None, ""):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        entry.problems.append(f"{what}“{str(value)[:20]}”不是数字")
        return None
    return number


def _status(value: Any) -> str:
    text = str(value).strip().upper()
    return "ON" if text in ("ON", "1", "TRUE", "在线", "ONLINE") else "OFF"


def _int(value: Any) -> int:
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return 0


def _entry(row: int, get: Any) -> Entry:
    e = Entry(row=row, gb_id=str(get("gb_id") or "").strip())
    e.name = str(get("name") or "").strip()[:100]
    e.civil_code = str(get("civil_code") or "").strip()
    e.parent_id = str(get("parent_id") or "").strip()
    e.business_group_id = str(get("business_group_id") or "").strip()
    e.manufacturer = str(get("manufacturer") or "").strip()[:100]
    e.model = str(get("model") or "").strip()[:100]
    e.address = str(get("address") or "").strip()[:200]
    e.lon = _float(get("lon"), "经度", e)
    e.lat = _float(get("lat"), "纬度", e)
    if (e.lon is not None and not -180 <= e.lon <= 180) or (e.lat is not None and not -90 <= e.lat <= 90):
        e.problems.append("经纬度超出范围")
    e.status = _status(get("status") or "")
    e.ptz_type = _int(get("ptz_type"))
    if not e.gb_id:
        e.problems.append("缺少国标编码")
    return e


# --- GB/T 28181 Catalog XML

_XML_FIELDS = {
    "gb_id": "DeviceID",
    "name": "Name",
    "civil_code": "CivilCode",
    "parent_id": "ParentID",
    "business_group_id": "BusinessGroupID",
    "manufacturer": "Manufacturer",
    "model": "Model",
    "address": "Address",
    "lon": "Longitude",
    "lat": "Latitude",
    "status": "Status",
}
_DECL = re.compile(rb"^\s*<\?xml[^>]*?encoding=[\"']([A-Za-z0-9_-]+)[\"'][^>]*\?>", re.I)


def _decode_xml(content: bytes) -> str:
    """Bytes → text in the declared encoding (GB2312/GBK are common and expat cannot read them itself)."""
    match = _DECL.match(content)
    encoding = match.group(1).decode().lower() if match else "utf-8"
    if encoding in ("gb2312", "gbk", "gb18030"):
        encoding = "gb18030"
    try:
        text = content.decode(encoding)
    except (LookupError, UnicodeDecodeError) as exc:
        raise Invalid(f"目录文件无法按 {encoding} 解码", field="file") from exc
    return re.sub(r"^\s*<\?xml[^>]*\?>", "", text, count=1)


def parse_catalog_xml(content: bytes) -> list[Entry]:
    """One or several ``<Response><CmdType>Catalog</CmdType>…<DeviceList>`` messages (big catalogues come split)."""
    if len(content) > MAX_BYTES:
        raise Invalid("目录文件过大", field="file")
    text = _decode_xml(content)
    if re.search(r"<!(DOCTYPE|ENTITY)", text, re.I):
        raise Invalid("目录 XML 不得包含 DOCTYPE 或实体声明（安全原因拒收）", field="file")
    try:
        root = ET.fromstring(f"<Batch>{text}</Batch>")  # noqa: S314 -- DTD and entities refused just above
    except ET.ParseError as exc:
        raise Invalid(f"目录 XML 格式错误：{exc}", field="file") from exc
    responses = [r for r in root if r.tag in ("Response", "Notify")]
    if not responses:
        raise Invalid("不是 GB/T 28181 目录应答：缺少 <Response>", field="file")
    entries: list[Entry] = []
    for response in responses:
        if (response.findtext("CmdType") or "").strip() != "Catalog":
            raise Invalid("不是 GB/T 28181 目录应答：CmdType 应为 Catalog", field="file")
        device_list = response.find("DeviceList")
        if device_list is None:
            raise Invalid("目录应答缺少 <DeviceList>", field="file")
        for item in device_list.iter("Item"):
            if item.find("DeviceID") is None:
                continue
            values = {k: (item.findtext(tag) or "").strip() for k, tag in _XML_FIELDS.items()}
            values["ptz_type"] = (item.findtext("Info/PTZType") or item.findtext("PTZType") or "").strip()
            entries.append(_entry(len(entries) + 1, values.get))
            if len(entries) > MAX_ROWS:
                raise Invalid(f"目录条目超过 {MAX_ROWS} 条，请分批导入", field="file")
    return entries


# --- CSV / Excel

_HEADERS = {
    "gb_id": ("国标编码", "设备编码", "通道编码", "deviceid", "channelid", "gb_id"),
    "name": ("名称", "设备名称", "通道名称", "name"),
    "civil_code": ("行政区划", "行政区划编码", "civilcode", "civil_code"),
    "parent_id": ("上级编码", "父节点", "parentid", "parent_id"),
    "business_group_id": ("业务分组", "业务分组编码", "businessgroupid", "business_group_id"),
    "manufacturer": ("厂商", "manufacturer"),
    "model": ("型号", "model"),
    "address": ("安装地址", "地址", "address"),
    "lon": ("经度", "longitude", "lon"),
    "lat": ("纬度", "latitude", "lat"),
    "status": ("状态", "在线状态", "status"),
    "ptz_type": ("云台类型", "ptztype", "ptz_type"),
}


def _table(rows: list[list[Any]]) -> list[Entry]:
    if not rows:
        raise Invalid("文件为空", field="file")
    header = [str(h).strip().lower() for h in rows[0]]
    index: dict[str, int] = {}
    for key, names in _HEADERS.items():
        for name in names:
            if name.lower() in header:
                index[key] = header.index(name.lower())
                break
    if "gb_id" not in index:
        raise Invalid("表头缺少“国标编码”列", field="file")
    if len(rows) > MAX_ROWS + 1:
        raise Invalid(f"超过 {MAX_ROWS} 行，请分批导入", field="file")
    out = []
    for number, row in enumerate(rows[1:], start=2):
        if not any(str(c).strip() for c in row):
            continue
        cells = {k: (row[i] if i < len(row) else "") for k, i in index.items()}
        numeric = isinstance(cells.get("gb_id"), (int, float))
        if numeric:
            cells["gb_id"] = f"{cells['gb_id']:.0f}"
        entry = _entry(number, cells.get)
        if numeric:  # a 20-digit number has lost its last digits in the spreadsheet: refuse, never guess
            entry.problems.append("国标编码被 Excel 存成了数字，末几位已丢失；请把该列设为文本后重新填写")
        out.append(entry)
    return out


def parse_csv(content: bytes) -> list[Entry]:
    if len(content) > MAX_BYTES:
        raise Invalid("文件过大", field="file")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise Invalid("CSV 文件编码无法识别（请用 UTF-8 或 GBK）", field="file")
    return _table([list(r) for r in csv.reader(io.StringIO(text))])


def parse_excel(content: bytes) -> list[Entry]:
    if len(content) > MAX_BYTES:
        raise Invalid("文件过大", field="file")
    try:
        wb = CalamineWorkbook.from_filelike(io.BytesIO(content))
        rows = wb.get_sheet_by_index(0).to_python()
    except Exception as exc:  # calamine raises several types for non-workbooks
        raise Invalid("文件不是有效的 Excel 工作簿（.xlsx/.xls）", field="file") from exc
    return _table([list(r) for r in rows])


# --- wvp-GB28181-pro channel list (old and 2.7+ field names)

_WVP_FIELDS = {
    "gb_id": ("gbDeviceId", "channelId", "deviceId"),
    "name": ("gbName", "name"),
    "civil_code": ("gbCivilCode", "civilCode"),
    "parent_id": ("gbParentId", "parentId"),
    "business_group_id": ("gbBusinessGroupId", "businessGroupId"),
    "manufacturer": ("gbManufacturer", "manufacture", "manufacturer"),
    "model": ("gbModel", "model"),
    "address": ("gbAddress", "address"),
    "lon": ("gbLongitude", "longitude"),
    "lat": ("gbLatitude", "latitude"),
    "status": ("gbStatus", "status"),
    "ptz_type": ("gbPtzType", "ptzType"),
}


def parse_wvp_json(content: bytes) -> list[Entry]:
    """``{"code":0,"data":{"list":[…]}}`` as the channel query answers, or a bare list of channels."""
    try:
        doc = json.loads(content)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Invalid("不是有效的 JSON", field="file") from exc
    items: Any = doc
    if isinstance(doc, dict):
        data = doc.get("data", doc)
        items = data.get("list") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise Invalid("JSON 中没有通道列表（data.list）", field="file")
    if len(items) > MAX_ROWS:
        raise Invalid(f"通道超过 {MAX_ROWS} 条，请分批导入", field="file")
    out = []
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            e = Entry(row=number, gb_id="")
            e.problems.append("不是对象")
            out.append(e)
            continue

        def get(key: str, item: dict[str, Any] = item) -> Any:
            for name in _WVP_FIELDS[key]:
                if item.get(name) not in (None, ""):
                    return item[name]
            return None

        out.append(_entry(number, get))
    return out


PARSERS = {"catalog": parse_catalog_xml, "csv": parse_csv, "excel": parse_excel, "wvp": parse_wvp_json}
