"""Rules of the storefronts extension; it reaches 数字城管 only through its service, schemas and hooks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import shapely
from shapely.geometry import Point
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session
from stdnum.cn import uscc as uscc_check
from stdnum.exceptions import ValidationError as StdnumError

from zhixian.citymgmt import service as citymgmt
from zhixian.citymgmt.schemas import CaseIntake, CaseRead, ClassRead
from zhixian.errors import Conflict, FieldError, Invalid, NotFound
from zhixian.extensions.storefronts.models import Shop, ShopCase, ShopNotice
from zhixian.extensions.storefronts.schemas import NoticeRead, ShopDetail, ShopList, ShopRead, ShopRow
from zhixian.platform import audit
from zhixian.platform.actor import Actor
from zhixian.platform.crypto import FieldCipher, mask_phone
from zhixian.subsystems import CaseCategory

if TYPE_CHECKING:
    from zhixian.citymgmt.models import Case  # the hook's argument type only

CATEGORIES = [
    CaseCategory(
        code="S0601",
        major="S06",
        major_name="扩展事件·商铺店面",
        kind="event",
        name="门前三包不落实",
        filing_standard="责任区内有垃圾、占道堆放或乱摆卖",
        closing_standard="责任区整洁，物品归店",
        limit_value=1,
        limit_unit="days",
        urgent_value=4,
        urgent_unit="hours",
        department_code="zfj",
        source="storefronts",
    ),
    CaseCategory(
        code="S0602",
        major="S06",
        major_name="扩展事件·商铺店面",
        kind="event",
        name="店招店牌破损",
        filing_standard="店招店牌破损、有坠落隐患",
        closing_standard="店招修复或拆除",
        limit_value=2,
        limit_unit="days",
        urgent_value=4,
        urgent_unit="hours",
        department_code="zfj",
        source="storefronts",
    ),
]


def check_uscc(value: str) -> str:
    try:
        return str(uscc_check.validate(value))
    except StdnumError as exc:
        raise Invalid(
            "统一社会信用代码无效", [FieldError("应为 18 位且校验位正确的统一社会信用代码", field="uscc")]
        ) from exc


def create_shop(
    session: Session,
    *,
    actor: Actor,
    cipher: FieldCipher,
    name: str,
    uscc: str,
    address: str,
    lon: float,
    lat: float,
    contact_name: str,
    contact_phone: str,
    zone_m: float = 15.0,
) -> Shop:
    actor.require("storefronts.manage")
    code = check_uscc(uscc)
    if session.execute(select(Shop.id).where(Shop.uscc == code)).first():
        raise Conflict(f"统一社会信用代码 {code} 已登记")
    citymgmt.locate(session, lon, lat)  # inside the county, or a clear error
    deg = zone_m / 111_000.0
    zone = Point(lon, lat).buffer(deg, cap_style="square")
    minx, miny, maxx, maxy = zone.bounds
    shop = Shop(
        name=name,
        uscc=code,
        address=address,
        lon=lon,
        lat=lat,
        contact_name=contact_name,
        contact_phone_enc=cipher.encrypt(contact_phone) if contact_phone else None,
        contact_phone_masked=mask_phone(contact_phone) if contact_phone else "",
        zone_wkt=zone.wkt,
        min_lon=minx,
        min_lat=miny,
        max_lon=maxx,
        max_lat=maxy,
    )
    session.add(shop)
    session.flush()
    audit.record(
        session,
        actor.audit,
        action="storefronts.shop_create",
        object_type="sf_shop",
        object_id=shop.id,
        detail={"uscc": code},
    )
    return shop


def shop_at(session: Session, lon: float, lat: float) -> Shop | None:
    rows = session.execute(
        select(Shop).where(Shop.min_lon <= lon, Shop.max_lon >= lon, Shop.min_lat <= lat, Shop.max_lat >= lat)
    ).scalars()
    for shop in rows:
        if shapely.from_wkt(shop.zone_wkt).covers(Point(lon, lat)):
            return shop
    return None


def on_case_created(session: Session, case: Case, context: dict[str, Any]) -> None:
    """Hook called by the case hub: a case at a shop (or inside its zone) is linked and its contact told."""
    shop = session.get(Shop, context["shop_id"]) if context.get("shop_id") else shop_at(session, case.lon, case.lat)
    if shop is None:
        return
    session.add(
        ShopCase(shop_id=shop.id, case_id=case.id, how="reported_at_shop" if context.get("shop_id") else "inside_zone")
    )
    session.add(
        ShopNotice(
            shop_id=shop.id,
            case_id=case.id,
            recipient=f"{shop.contact_name} {shop.contact_phone_masked}".strip(),
            message=f"【{shop.name}】门前三包责任区内有问题待处理（案件 {case.number}），请及时整改。",
        )
    )
    session.flush()


def get_shop(session: Session, shop_id: int) -> Shop:
    shop = session.get(Shop, shop_id)
    if shop is None:
        raise NotFound("商铺不存在")
    return shop


def linked_cases(session: Session, shop_id: int) -> list[CaseRead]:
    """Cases linked to the shop, newest first."""
    ids = list(session.execute(select(ShopCase.case_id).where(ShopCase.shop_id == shop_id)).scalars())
    return citymgmt.case_reads(session, ids)


def notices(session: Session, shop_id: int, *, newest_first: bool = False) -> list[ShopNotice]:
    order = ShopNotice.id.desc() if newest_first else ShopNotice.id
    return list(session.execute(select(ShopNotice).where(ShopNotice.shop_id == shop_id).order_by(order)).scalars())


def case_counts(session: Session) -> dict[int, int]:
    rows = session.execute(select(ShopCase.shop_id, func.count()).group_by(ShopCase.shop_id)).all()
    return {int(shop_id): int(n) for shop_id, n in rows}


def shop_read(shop: Shop, cases: int = 0) -> ShopRead:
    return ShopRead(
        id=shop.id,
        name=shop.name,
        uscc=shop.uscc,
        address=shop.address,
        lon=shop.lon,
        lat=shop.lat,
        contact_name=shop.contact_name,
        contact_phone=shop.contact_phone_masked,
        zone_wkt=shop.zone_wkt,
        cases=cases,
    )


def list_shops(session: Session) -> list[ShopRead]:
    """Every shop with its linked-case count, by id (the API's full list)."""
    counts = case_counts(session)
    return [shop_read(s, counts.get(s.id, 0)) for s in session.execute(select(Shop).order_by(Shop.id)).scalars()]


def shop_detail(session: Session, shop_id: int) -> ShopDetail:
    shop = get_shop(session, shop_id)
    cases = linked_cases(session, shop_id)
    return ShopDetail(
        **shop_read(shop, len(cases)).model_dump(),
        case_ids=[c.id for c in cases],
        case_numbers=[c.number for c in cases],
        notices=[
            NoticeRead(case_id=n.case_id, recipient=n.recipient, message=n.message, at=n.at.isoformat())
            for n in notices(session, shop_id)
        ],
    )


PAGE_SIZE = 20


def search_shops(session: Session, *, q: str = "", page: int = 1, size: int = PAGE_SIZE) -> ShopList:
    """One page of shops by name; ``q`` matches name, credit code, address or contact (not the phone: encrypted)."""
    stmt = select(Shop)
    text = q.strip()
    if text:
        stmt = stmt.where(
            or_(
                Shop.name.contains(text, autoescape=True),
                Shop.uscc.contains(text.upper(), autoescape=True),
                Shop.address.contains(text, autoescape=True),
                Shop.contact_name.contains(text, autoescape=True),
            )
        )
    total = int(session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one())
    shops = session.execute(stmt.order_by(Shop.name, Shop.id).offset((page - 1) * size).limit(size)).scalars().all()
    counts = case_counts(session)
    rows = [
        ShopRow(
            id=s.id,
            name=s.name,
            uscc=s.uscc,
            contact_name=s.contact_name,
            contact_phone_masked=s.contact_phone_masked,
            cases=counts.get(s.id, 0),
        )
        for s in shops
    ]
    return ShopList(rows=rows, total=total, page=page, size=size, q=text)


def report_classes(session: Session) -> list[ClassRead]:
    """The case classes a shop report may use: those this extension contributed."""
    return citymgmt.case_classes(session, source="storefronts")


def report_at_shop(
    session: Session, *, actor: Actor, options: citymgmt.IntakeOptions, shop_id: int, class_code: str, description: str
) -> Case:
    actor.require("storefronts.report")
    shop = get_shop(session, shop_id)
    data = CaseIntake(
        source="storefront",
        class_code=class_code,
        lon=shop.lon,
        lat=shop.lat,
        description=description,
        address=shop.address,
    )
    options.context["shop_id"] = shop.id
    return citymgmt.intake(session, actor=actor, data=data, options=options)
