"""Demo shops along the urban grids, each with a valid USCC and a 15 m 门前三包 zone."""

from __future__ import annotations

from typing import Any

import shapely
from sqlalchemy import select
from sqlalchemy.orm import Session
from stdnum.cn import uscc

from zhixian.citymgmt import service as citymgmt
from zhixian.extensions.storefronts import service
from zhixian.extensions.storefronts.models import Shop
from zhixian.platform.actor import system_actor

KINDS = ("便利店", "面馆", "五金店", "水果店", "理发店", "药房", "早餐店", "服装店", "奶茶店", "烟酒店")
SURNAMES = ("王", "李", "张", "刘", "陈", "杨", "沈", "钱", "孙", "周")


def seed(session: Session, ctx: Any) -> None:
    citymgmt.add_case_classes(session, service.CATEGORIES)
    if session.execute(select(Shop.id).limit(1)).first():
        return
    rng = ctx.rng("storefronts")
    grids = citymgmt.grid_outlines(session)
    urban = [g for g in grids if g[0][9] == "0"][:: max(1, len(grids) // 80)]
    actor = system_actor(frozenset({"storefronts.manage", "platform.scope.county"}))
    for i, (_code, wkt) in enumerate(urban[:60]):
        p = shapely.from_wkt(wkt).representative_point()
        body = f"9133042{1 + i % 9}MA2{rng.randint(10000000, 99999999):08d}"[:17]
        body = body[:8] + "".join(c if c.isdigit() or c in "ABCDEFGHJKLMNPQRTUWXY" else "A" for c in body[8:])
        code = body + uscc.calc_check_digit(body)
        phone = f"13{rng.randint(0, 9)}{rng.randint(10000000, 99999999)}"
        name = f"{rng.choice(SURNAMES)}记{rng.choice(KINDS)}"
        service.create_shop(
            session,
            actor=actor,
            cipher=ctx.cipher,
            name=name,
            uscc=code,
            address=f"{name}门前",
            lon=p.x,
            lat=p.y,
            contact_name=rng.choice(SURNAMES) + "老板",
            contact_phone=phone,
        )
    session.flush()
