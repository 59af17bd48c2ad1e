"""Lookups the county publishes to people about themselves (住房公积金, 机动车违章): read through the exchange
under the grant the portal's department holds on the owner's resource, only with the person's consent for that
lookup — each one an audited exchange call that the person then sees in "who used my data"."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from zhixian.catalog import service as catalog_service
from zhixian.errors import Conflict, NotFound
from zhixian.exchange import service as exchange_service
from zhixian.exchange.schemas import DepartmentRead
from zhixian.platform.crypto import FieldCipher
from zhixian.services.matters import service as matters
from zhixian.services.portal import consents, mydata
from zhixian.services.portal.models import Citizen
from zhixian.services.settings import PORTAL_DEPARTMENT
from zhixian.settings import Settings

if TYPE_CHECKING:
    from zhixian.services.portal.sessions import CitizenActor


def lookup(
    session: Session, *, settings: Settings, cipher: FieldCipher, citizen: CitizenActor, code: str
) -> DepartmentRead:
    if code not in consents.LOOKUPS:
        raise NotFound("没有这项查询")
    name, resource_code, _ = consents.LOOKUPS[code]
    if not consents.has(session, citizen_id=citizen.citizen_id, scope=f"lookup:{code}"):
        raise Conflict(f"请先同意“查询我的{name}”")
    resource = catalog_service.resource_by_code(session, resource_code)
    dept = matters.Departments(session).by_code.get(settings.declared(PORTAL_DEPARTMENT))
    if resource is None or dept is None:
        raise NotFound(f"{name}查询暂未开通")
    person = session.get(Citizen, citizen.citizen_id)
    if person is None:
        raise NotFound("请重新登录")
    return exchange_service.citizen_lookup(
        session,
        settings=settings,
        cipher=cipher,
        who=mydata.who(citizen),
        department_id=dept.id,
        resource_id=resource.id,
        id_number=cipher.decrypt(person.id_enc, index=person.id_index),
        reason=f"一网通享：本人查询{name}",
    )
