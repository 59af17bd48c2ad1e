"""Signing in to the citizen realm: name + 身份证号 + phone, checked against the population base (核验 through
the exchange), then a one-time six-digit code sent to the phone.

Step one answers the same whether or not the number exists or matches: a code row is written either way
(``id_index`` empty on a mismatch) and the code is sent only on a match. Limits live in the database so every
worker agrees: codes expire after ``CODE_MINUTES``, each takes ``CODE_ATTEMPTS`` tries, and each ID number and
each address may ask for a few codes an hour.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from zhixian.clock import utcnow
from zhixian.errors import Invalid, TooManyRequests
from zhixian.exchange import service as exchange_service
from zhixian.platform import audit
from zhixian.platform.audit import AuditContext
from zhixian.platform.crypto import FieldCipher, mask_phone
from zhixian.services.licences import service as licences
from zhixian.services.portal.models import Citizen, CitizenCode
from zhixian.services.settings import CODES_PER_HOUR, CODES_PER_HOUR_IP, SMS_SENDER
from zhixian.settings import Settings


def token_hash(token: str) -> str:
    """SHA-256 of a secret, as stored (the platform's session tokens are kept the same way)."""
    return hashlib.sha256(token.encode()).hexdigest()


CODE_MINUTES = 5
CODE_ATTEMPTS = 5
Sender = Callable[[Settings, str, str], None]


def _to_file(settings: Settings, phone: str, text: str) -> None:
    folder = Path(settings.data_dir) / "outbox"
    folder.mkdir(parents=True, exist_ok=True)
    line = {"at": utcnow().isoformat(), "to": mask_phone(phone), "text": text}
    with (folder / "sms.log").open("a", encoding="utf-8") as out:
        out.write(json.dumps(line, ensure_ascii=False) + "\n")


def _nowhere(settings: Settings, phone: str, text: str) -> None:
    """Sending switched off (a node whose citizens sign in elsewhere)."""


SENDERS: dict[str, Sender] = {"file": _to_file, "none": _nowhere}


def who(key: str, ip: str = "") -> AuditContext:
    """How the audit log names a person acting on the portal: never the full number."""
    return AuditContext(username=f"citizen:{licences.mask_key('person', key)}", ip=ip)


def _phone(raw: str) -> str:
    value = raw.strip().replace(" ", "").replace("-", "")
    if len(value) != 11 or not value.isdigit() or not value.startswith("1"):
        raise Invalid("请填写 11 位手机号码", field="phone")
    return value


def _limit(session: Session, column: InstrumentedAttribute[str], value: str, most: int, what: str) -> None:
    since = utcnow() - timedelta(hours=1)
    n = session.execute(
        select(func.count()).select_from(CitizenCode).where(column == value, CitizenCode.created_at >= since)
    ).scalar_one()
    if int(n) >= most:
        raise TooManyRequests(f"{what}获取验证码过于频繁，请一小时后再试", 3600)


@dataclass(frozen=True)
class Started:
    challenge: str
    phone_masked: str


def start(
    session: Session, *, settings: Settings, cipher: FieldCipher, name: str, id_number: str, phone: str, ip: str
) -> Started:
    """Step one. The caller shows the same page for every outcome; only the phone's owner learns the code."""
    key = licences.holder_key("person", id_number, "id_number")
    name = name.strip()
    if not name or len(name) > 50:
        raise Invalid("请填写姓名", field="name")
    number = _phone(phone)
    key_index = cipher.blind_index(key)
    _limit(session, CitizenCode.key_index, key_index, settings.declared(CODES_PER_HOUR), "该身份号码")
    _limit(session, CitizenCode.ip, ip[:64], settings.declared(CODES_PER_HOUR_IP), "本机")
    match = exchange_service.citizen_check(session, cipher=cipher, who=who(key, ip), id_number=key, name=name)
    code = f"{secrets.randbelow(1_000_000):06d}"
    challenge = secrets.token_urlsafe(32)
    now = utcnow()
    row = CitizenCode(
        challenge=challenge,
        code_hash=token_hash(f"{challenge}:{code}"),
        key_index=key_index,
        ip=ip[:64],
        created_at=now,
        expires_at=now + timedelta(minutes=CODE_MINUTES),
    )
    if match:
        row.id_index, row.id_enc, row.name, row.phone_enc = key_index, cipher.encrypt(key), name, cipher.encrypt(number)
        text = f"【{settings.county_name}一网通享】验证码 {code}，{CODE_MINUTES} 分钟内有效。请勿告诉他人。"
        SENDERS[settings.declared(SMS_SENDER)](settings, number, text)
    session.add(row)
    session.flush()
    audit.record(
        session,
        who(key, ip),
        action="services.citizen_code",
        object_type="services_citizen_code",
        object_id=row.id,
        result="成功" if match else "失败",
        detail={"phone": mask_phone(number), "match": match},
    )
    return Started(challenge, mask_phone(number))


@dataclass(frozen=True)
class Confirmed:
    citizen: Citizen | None
    error: str = ""
    locked: bool = False


def confirm(session: Session, *, cipher: FieldCipher, challenge: str, code: str, ip: str) -> Confirmed:
    """Step two: the code for this challenge. Returns (never raises) on a wrong code, so the request commits
    the spent attempt and its audit record; the fifth wrong try spends the code."""
    row = session.execute(select(CitizenCode).where(CitizenCode.challenge == challenge[:64])).scalar_one_or_none()
    now = utcnow()
    if row is None or row.used_at is not None or row.expires_at <= now:
        return Confirmed(None, "验证码已失效，请重新获取")
    if row.attempts >= CODE_ATTEMPTS:
        return Confirmed(None, "验证码错误次数过多，请重新获取", locked=True)
    row.attempts += 1
    good = hmac.compare_digest(row.code_hash, token_hash(f"{challenge}:{code.strip()}")) and bool(row.id_index)
    context = who(_key(cipher, row), ip) if row.id_index else AuditContext(username="citizen:?", ip=ip)
    if not good:
        session.flush()
        audit.record(
            session,
            context,
            action="services.citizen_sign_in",
            object_type="services_citizen_code",
            object_id=row.id,
            result="失败",
            detail={"attempts": row.attempts},
        )
        left = CODE_ATTEMPTS - row.attempts
        return Confirmed(None, f"验证码不正确，还可以再试 {left} 次" if left else "验证码错误次数过多，请重新获取")
    row.used_at = now
    key = _key(cipher, row)
    citizen = session.execute(select(Citizen).where(Citizen.id_index == row.id_index)).scalar_one_or_none()
    phone = cipher.decrypt(row.phone_enc) if row.phone_enc else ""
    if citizen is None:
        citizen = Citizen(id_index=row.id_index, id_enc=row.id_enc, id_masked=licences.mask_key("person", key), name="")
        session.add(citizen)
    citizen.name, citizen.phone_enc, citizen.phone_masked = row.name, row.phone_enc, mask_phone(phone)
    session.flush()
    audit.record(
        session,
        context,
        action="services.citizen_sign_in",
        object_type="services_citizen",
        object_id=citizen.id,
        detail={"phone": citizen.phone_masked},
    )
    return Confirmed(citizen)


def _key(cipher: FieldCipher, row: CitizenCode) -> str:
    return cipher.decrypt(row.id_enc, index=row.id_index)


def signed_out(session: Session, *, citizen_id: int, ip: str) -> None:
    """The sign-out, audited (the session row itself is ended by ``session.end_session``)."""
    citizen = session.get(Citizen, citizen_id)
    name = f"citizen:{citizen.id_masked}" if citizen else "citizen:?"
    audit.record(
        session,
        AuditContext(username=name, ip=ip),
        action="services.citizen_sign_out",
        object_type="services_citizen",
        object_id=citizen_id,
    )
