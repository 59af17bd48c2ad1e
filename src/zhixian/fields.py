"""Pydantic field types shared by every feature's schemas: one definition of a clean name or code."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Path
from pydantic import AfterValidator, BeforeValidator, StringConstraints

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

# Database integer keys: anything outside this range cannot exist, so it is a 422, not a query.
ID_MAX = 2**31 - 1
IdPath = Annotated[int, Path(ge=1, le=ID_MAX, description="记录编号")]
