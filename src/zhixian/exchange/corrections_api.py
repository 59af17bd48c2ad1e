"""JSON routes of 数据异议 under /api/v1/exchange/corrections: raise, list, read, accept, reject."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request

from zhixian.exchange import corrections, corrections_reads, reads
from zhixian.exchange.corrections_schemas import AcceptIn, CorrectionIn, CorrectionRead, RejectIn
from zhixian.platform.actor import Actor
from zhixian.platform.crypto import FieldCipher
from zhixian.web.auth import Require, SettingsDep
from zhixian.web.deps import SessionDep
from zhixian.web.pagination import Page, PageParams, page_params
from zhixian.web.params import IdPath

router = APIRouter(prefix="/api/v1/exchange/corrections", tags=["数据异议"])

Viewer = Annotated[Actor, Depends(Require("exchange.view"))]
Requester = Annotated[Actor, Depends(Require("exchange.request"))]
Approver = Annotated[Actor, Depends(Require("exchange.approve"))]
Paging = Annotated[PageParams, Depends(page_params)]


def _cipher(request: Request) -> FieldCipher:
    cipher: FieldCipher = request.app.state.cipher
    return cipher


@router.get("", summary="数据异议列表（本部门提出的、对本部门数据提出的、待我答复的）")
def list_corrections(
    actor: Viewer,
    session: SessionDep,
    paging: Paging,
    box: Literal["all", "mine", "provided", "todo"] = "all",
    status: Literal["", "open", "accepted", "rejected"] = "",
    light: Literal["", "green", "yellow", "red"] = "",
) -> Page[CorrectionRead]:
    rows, total = corrections.list_corrections(
        session, actor=actor, box=box, status=status, light=light, offset=paging.offset, limit=paging.size
    )
    names = reads.Names(session)
    items = [corrections_reads.read(session, actor, r, names) for r in rows]
    return Page(items=items, total=total, page=paging.page, size=paging.size)


@router.post("", status_code=201, summary="对网关返回的记录提出数据异议")
def submit_correction(
    request: Request, actor: Requester, session: SessionDep, settings: SettingsDep, data: CorrectionIn
) -> CorrectionRead:
    cipher = _cipher(request)
    corr = corrections.submit(session, actor=actor, settings=settings, cipher=cipher, data=data)
    return corrections_reads.read(session, actor, corr, settings=settings, cipher=cipher)


@router.get("/{correction_id}", summary="数据异议详情（含时间线）")
def get_correction(
    request: Request, actor: Viewer, session: SessionDep, settings: SettingsDep, correction_id: IdPath
) -> CorrectionRead:
    corr = corrections.get_correction(session, actor=actor, correction_id=correction_id)
    return corrections_reads.read(session, actor, corr, settings=settings, cipher=_cipher(request))


@router.post("/{correction_id}/accept", summary="采纳异议：通过数据整合更正记录（留存变更历史）")
def accept_correction(
    request: Request,
    actor: Approver,
    session: SessionDep,
    settings: SettingsDep,
    correction_id: IdPath,
    data: AcceptIn,
) -> CorrectionRead:
    cipher = _cipher(request)
    corr = corrections.accept(
        session, actor=actor, settings=settings, cipher=cipher, correction_id=correction_id, data=data
    )
    return corrections_reads.read(session, actor, corr, settings=settings, cipher=cipher)


@router.post("/{correction_id}/reject", summary="不予更正（须写明理由）")
def reject_correction(
    request: Request,
    actor: Approver,
    session: SessionDep,
    settings: SettingsDep,
    correction_id: IdPath,
    data: RejectIn,
) -> CorrectionRead:
    corr = corrections.reject(session, actor=actor, settings=settings, correction_id=correction_id, data=data)
    return corrections_reads.read(session, actor, corr, settings=settings, cipher=_cipher(request))
