"""电子证照: licence types and the licences people and companies hold, found by the holder's blind index
(the ID number or USCC is never stored in clear here); an application cites one instead of a copy."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from stdnum.cn import ric, uscc

from zhixian.clock import local_today
from zhixian.errors import Conflict, Invalid, NotFound
from zhixian.platform import audit
from zhixian.platform.actor import Actor
from zhixian.platform.crypto import FieldCipher, mask_id_number
from zhixian.services.models import Licence, LicenceType
from zhixian.services.schemas import LicenceIn, LicenceRead

MANAGE, VIEW = "services.licence", "services.view"

TYPES: list[tuple[str, str, str, str]] = [
    ("sfz", "居民身份证", "person", "公安机关"),
    ("hkb", "居民户口簿", "person", "公安机关"),
    ("jhz", "结婚证", "person", "民政部门"),
    ("csz", "出生医学证明", "person", "卫生健康部门"),
    ("byz", "毕业证书", "person", "教育部门"),
    ("jsz", "机动车驾驶证", "person", "公安交通管理部门"),
    ("bdc", "不动产权证书", "person", "不动产登记机构"),
    ("cjz", "残疾人证", "person", "残疾人联合会"),
    ("yyzz", "营业执照", "legal", "市场监督管理部门"),
    ("spjy", "食品经营许可证", "legal", "市场监督管理部门"),
    ("jzzz", "建筑业企业资质证书", "legal", "住房和城乡建设部门"),
]


def seed_types(session: Session) -> None:
    """The licence types every county uses (the national 电子证照 catalogue's most common)."""
    have = set(session.execute(select(LicenceType.code)).scalars())
    for code, name, kind, issuer in TYPES:
        if code not in have:
            session.add(LicenceType(code=code, name=name, holder_kind=kind, issuer=issuer))
    session.flush()


def type_names(session: Session) -> dict[str, str]:
    return dict(session.execute(select(LicenceType.code, LicenceType.name)).all())


def holder_key(kind: str, raw: str, field: str) -> str:
    """The ID number or USCC as stored and indexed, or a 422 naming the field."""
    key = raw.strip().upper().replace(" ", "")
    if kind == "person":
        if len(key) != 18 or not ric.is_valid(key):
            raise Invalid("公民身份号码格式或校验位不正确", field=field)
    elif len(key) != 18 or not uscc.is_valid(key):
        raise Invalid("统一社会信用代码格式或校验位不正确", field=field)
    return key


def mask_key(kind: str, key: str) -> str:
    return mask_id_number(key) if kind == "person" else key[:6] + "********" + key[-4:]


def state(row: Licence, today: date | None = None) -> str:
    today = today or local_today()
    if row.status != "valid":
        return row.status
    return "expired" if row.valid_until is not None and row.valid_until < today else "valid"


STATE_LABELS = {"valid": "有效", "expired": "已过期", "revoked": "已注销"}


def licence_read(row: Licence, names: dict[str, str]) -> LicenceRead:
    out = LicenceRead.model_validate(row)
    out.type_name = names.get(row.type_code, row.type_code)
    out.state = state(row)
    return out


def load_licence(session: Session, *, actor: Actor, cipher: FieldCipher, data: LicenceIn) -> Licence:
    """A licence as the issuing system sends it (loaded through integration or the exchange in production)."""
    actor.require(MANAGE)
    kind = session.execute(select(LicenceType.holder_kind).where(LicenceType.code == data.type_code)).scalar()
    if kind is None:
        raise Invalid(f"证照类型 {data.type_code} 不存在", field="type_code")
    key = holder_key(kind, data.holder_key, "holder_key")
    if data.valid_until and data.issued_on and data.valid_until < data.issued_on:
        raise Invalid("有效期不能早于发证日期", field="valid_until")
    dup = session.execute(
        select(Licence.id).where(Licence.type_code == data.type_code, Licence.number == data.number)
    ).scalar()
    if dup:
        raise Conflict(f"证照编号 {data.number} 已存在")
    row = Licence(
        type_code=data.type_code,
        number=data.number,
        holder_kind=kind,
        holder_index=cipher.blind_index(key),
        holder_masked=mask_key(kind, key),
        holder_name=data.holder_name,
        issuer=data.issuer,
        issued_on=data.issued_on,
        valid_until=data.valid_until,
        loaded_by=actor.username,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor.audit,
        action="services.licence_load",
        object_type="services_licence",
        object_id=row.id,
        detail={"type": data.type_code, "number": data.number},
    )
    return row


def held_by(session: Session, *, holder_index: str, type_code: str = "") -> list[Licence]:
    """Licences of one holder (by blind index), newest first; the caller has already scoped the holder."""
    stmt = select(Licence).where(Licence.holder_index == holder_index)
    if type_code:
        stmt = stmt.where(Licence.type_code == type_code)
    return list(session.execute(stmt.order_by(Licence.id.desc())).scalars())


def get_licence(session: Session, licence_id: int) -> Licence:
    row = session.get(Licence, licence_id)
    if row is None:
        raise NotFound("电子证照不存在")
    return row


def list_licences(
    session: Session, *, actor: Actor, type_code: str = "", offset: int = 0, limit: int = 50
) -> tuple[list[Licence], int]:
    """The licence register (holders masked), for those who load and check licences."""
    actor.require(MANAGE)
    stmt = select(Licence)
    if type_code:
        stmt = stmt.where(Licence.type_code == type_code)
    total = int(session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one())
    rows = session.execute(stmt.order_by(Licence.id.desc()).offset(offset).limit(limit)).scalars()
    return list(rows), total
