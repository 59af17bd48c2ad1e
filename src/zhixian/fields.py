"""Pydantic field types shared by every feature's schemas: one definition of a clean name or code.

Route parameters built on them (``IdPath``, ``IdQuery``) are in ``zhixian.web.params``: FastAPI stays out of schemas.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints

from zhixian.clock import LOCAL_TZ

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _no_control(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("包含不可见的控制字符")
    return value


def _strip(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


Name = Annotated[
    str, BeforeValidator(_strip), StringConstraints(min_length=1, max_length=100), AfterValidator(_no_control)
]
ShortText = Annotated[str, BeforeValidator(_strip), StringConstraints(max_length=200), AfterValidator(_no_control)]
LongText = Annotated[str, StringConstraints(max_length=4000), AfterValidator(_no_control)]
Code = Annotated[str, BeforeValidator(_strip), StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,32}$")]
Username = Annotated[str, BeforeValidator(_strip), StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_.-]{2,63}$")]
DivisionCode = Annotated[str, BeforeValidator(_strip), StringConstraints(pattern=r"^\d{12}$")]


def _mobile(value: str) -> str:
    digits = value.replace(" ", "").replace("-", "")
    if digits.startswith("+86"):
        digits = digits[3:]
    if not re.fullmatch(r"1[3-9]\d{9}", digits):
        raise ValueError("不是有效的手机号码（11 位，以 13–19 开头）")
    return digits


Mobile = Annotated[str, BeforeValidator(_strip), AfterValidator(_mobile)]
Email = Annotated[
    str, BeforeValidator(_strip), StringConstraints(max_length=120, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
]

# Database integer keys: anything outside this range cannot exist, so it is a 422, not a query
# (an id past 2^63 would otherwise overflow the driver's bind and answer 500).
ID_MAX = 2**31 - 1
Id = Annotated[int, Field(ge=1, le=ID_MAX, description="记录编号")]  # inside bodies

# Dates people and systems send: the range keeps every conversion (to UTC, ± a period, working-day
# arithmetic) inside what Python and the databases can hold; year 1 at +14:00 is not a time in UTC.
DATE_MIN = date(1900, 1, 1)
DATE_MAX = date(2199, 12, 31)
_RANGE = f"{DATE_MIN.isoformat()} 至 {DATE_MAX.isoformat()}"


def _day(value: date) -> date:
    if not DATE_MIN <= value <= DATE_MAX:
        raise ValueError(f"日期须在 {_RANGE} 之间")
    return value


def _moment(value: datetime) -> datetime:
    aware = value if value.tzinfo is not None else value.replace(tzinfo=LOCAL_TZ)  # naive = Beijing time
    try:
        utc = aware.astimezone(UTC)
    except (OverflowError, ValueError):
        raise ValueError(f"时间须在 {_RANGE} 之间") from None
    if not DATE_MIN <= utc.date() <= DATE_MAX:
        raise ValueError(f"时间须在 {_RANGE} 之间")
    return value


Day = Annotated[date, AfterValidator(_day)]
Moment = Annotated[datetime, AfterValidator(_moment)]

# Plain numbers: finite and small enough for every database column and for arithmetic on them.
NUMBER_MAX = 10**15
Number = Annotated[float, Field(ge=-NUMBER_MAX, le=NUMBER_MAX, allow_inf_nan=False)]
Count = Annotated[int, Field(ge=0, le=ID_MAX)]
Longitude = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False, description="经度")]
Latitude = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False, description="纬度")]
