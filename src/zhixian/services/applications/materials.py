"""Satisfying an application's materials without asking the applicant for copies (免提交):
shared data read under the handling department's exchange grant, and electronic licences — both only
after the applicant's consent, each use audited — or, failing that, the document received at the window.
"""

from __future__ import annotations

from pathlib import PurePath

from sqlalchemy.orm import Session

from zhixian.errors import Conflict, Invalid, NotFound
from zhixian.exchange import service as exchange_service
from zhixian.platform import audit
from zhixian.platform.actor import Actor
from zhixian.platform.crypto import FieldCipher
from zhixian.services.applications import service as applications
from zhixian.services.licences import service as licences
from zhixian.services.models import ApplicationMaterial, MatterMaterial, ServiceApplication
from zhixian.services.schemas import PrefillRead
from zhixian.settings import Settings


def _material(row: ServiceApplication, material_row_id: int) -> ApplicationMaterial:
    found = next((m for m in row.materials if m.id == material_row_id), None)
    if found is None:
        raise NotFound("该办件没有这项材料")
    return found


def _consented(row: ServiceApplication) -> None:
    if not row.consent:
        raise Conflict("申请人尚未同意使用共享数据和电子证照，请先征得同意")


def _cite(
    session: Session, actor: Actor, row: ServiceApplication, item: ApplicationMaterial, licence_id: int, how: str
) -> None:
    spec = session.get(MatterMaterial, item.material_id)
    lic = licences.get_licence(session, licence_id)
    if lic.holder_index != row.applicant_index:
        raise NotFound("申请人没有这份电子证照")
    if spec is None or item.source != "licence" or lic.type_code != spec.licence_type:
        raise Invalid("这份电子证照不是该材料要求的证照类型", field="licence_id")
    now_state = licences.state(lic)
    if now_state != "valid":
        raise Conflict(f"电子证照{licences.STATE_LABELS[now_state]}，不能使用")
    item.state, item.licence_id, item.note = "licence", lic.id, f"{how}：{lic.number}"
    session.flush()
    audit.record(
        session,
        actor.audit,
        action="services.licence_use",
        object_type="services_licence",
        object_id=lic.id,
        detail={"application": row.id, "material": item.name, "type": lic.type_code, "number": lic.number},
    )


def cite_licence(
    session: Session, *, actor: Actor, application_id: int, material_row_id: int, licence_id: int
) -> ServiceApplication:
    """The window cites one of the applicant's licences instead of a copy."""
    row = applications.take_step(session, actor, application_id, "cite")
    _consented(row)
    item = _material(row, material_row_id)
    _cite(session, actor, row, item, licence_id, "引用电子证照")
    applications.log_event(session, actor, row, "cite", item.name, material=item.name)
    return row


def receive_upload(
    session: Session,
    *,
    actor: Actor,
    settings: Settings,
    application_id: int,
    material_row_id: int,
    file_name: str,
    content: bytes,
) -> ServiceApplication:
    """The applicant's own document, received (scanned) at the window and kept in the data directory."""
    row = applications.take_step(session, actor, application_id, "upload")
    item = _material(row, material_row_id)
    if not content:
        raise Invalid("材料文件是空的", field="file")
    suffix = PurePath(file_name).suffix.lower()[:10]
    folder = settings.data_dir / "services" / "materials" / str(row.id)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{item.id}{suffix}").write_bytes(content)
    item.state, item.file_name, item.note = "uploaded", PurePath(file_name).name[:200], "窗口收取"
    applications.log_event(
        session, actor, row, "upload", f"{item.name}：{item.file_name}", material=item.name, file=item.file_name
    )
    return row


def prefill(
    session: Session, *, actor: Actor, settings: Settings, cipher: FieldCipher, application_id: int
) -> PrefillRead:
    """After consent: every missing shared-data material read under the handling department's grant (refused,
    with the reason, when the grant is suspended or revoked), every licence material from the applicant's
    valid licences, the household from the population base where the matter asks for it."""
    row = applications.take_step(session, actor, application_id, "prefill")
    _consented(row)
    key = cipher.decrypt(row.applicant_enc, index=row.applicant_index)
    out = PrefillRead()
    calls: list[int] = []
    for item in row.materials:
        if item.state != "missing":
            continue
        spec = session.get(MatterMaterial, item.material_id)
        if spec is None:
            continue
        if item.source == "shared" and spec.resource_id:
            read = exchange_service.department_read(
                session,
                settings=settings,
                cipher=cipher,
                who=actor.audit,
                department_id=row.department_id,
                resource_id=spec.resource_id,
                key=key,
                items=list(spec.items),
                reason=f"办件 {applications.number(row)}：{item.name}"[:200],
                household=spec.household,
            )
            if read.call_id:
                calls.append(read.call_id)
            if read.refused:
                out.refused[item.name] = read.refused
                item.note = read.refused[:500]
                continue
            item.state, item.call_id, item.note = "shared", read.call_id, f"共享数据：{read.resource_name}"
            item.shared = {read.item_names.get(k, k): v for k, v in read.record.items()}
            if spec.household:
                row.household = [{read.item_names.get(k, k): v for k, v in m.items()} for m in read.members]
            out.filled.append(item.name)
        elif item.source == "licence" and spec.licence_type:
            held = [
                lic
                for lic in licences.held_by(session, holder_index=row.applicant_index, type_code=spec.licence_type)
                if licences.state(lic) == "valid"
            ]
            if not held:
                out.refused[item.name] = "申请人没有有效的该类电子证照"
                continue
            _cite(session, actor, row, item, held[0].id, "电子证照预填")
            out.filled.append(item.name)
    applications.log_event(
        session,
        actor,
        row,
        "prefill",
        f"已预填 {len(out.filled)} 项" + (f"，{len(out.refused)} 项未能预填" if out.refused else ""),
        filled=out.filled,
        refused=out.refused,
        calls=calls,
        household=len(row.household),
    )
    return out
