"""Signed play tokens and the media servers' authorisation hooks.

The platform never touches video: it gives a permitted user a short-lived token bound to that user and
that camera, and the media server (ZLMediaKit ``on_play``, MediaMTX external HTTP authentication) asks
before serving each viewer. The token is ``<payload>.<HMAC-SHA256>``; the key lives in the data
directory (``keys/play.key``), so every worker of a node signs and checks alike. Each check re-reads the
grant, so a revoked or ended grant stops new viewers at once, and every decision lands on the view row
and in the audit log.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhixian.clock import utcnow
from zhixian.errors import NotFound, NotPermitted
from zhixian.perception.cameras import service
from zhixian.perception.cameras.models import Camera, View
from zhixian.perception.cameras.schemas import PlayTicket
from zhixian.platform import audit
from zhixian.platform import service as platform
from zhixian.platform.actor import Actor
from zhixian.platform.audit import AuditContext
from zhixian.platform.crypto import b64url, unb64url


def key_file(data_dir: Path) -> Path:
    return data_dir / "keys" / "play.key"


def load_key(data_dir: Path) -> bytes:
    """The node's play-token key, made on first use (0600); several workers racing create it once."""
    path = key_file(data_dir)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "wb") as f:
                f.write(secrets.token_bytes(32))
    key = path.read_bytes()
    if len(key) < 32:
        raise RuntimeError(f"播放令牌密钥文件 {path} 损坏（少于 32 字节）")
    return key


def sign(key: bytes, *, nonce: str, user_id: int, camera_id: int, mode: str, expires: datetime) -> str:
    payload = f"{nonce}:{user_id}:{camera_id}:{mode}:{int(expires.timestamp())}".encode()
    return f"{b64url(payload)}.{b64url(hmac.new(key, payload, hashlib.sha256).digest())}"


@dataclass(frozen=True)
class Claims:
    nonce: str
    user_id: int
    camera_id: int
    mode: str
    expires: int


def verify(key: bytes, token: str) -> Claims | str:
    """The token's claims, or why it is refused (tampered, malformed)."""
    try:
        payload_text, sig_text = token.split(".", 1)
        payload, sig = unb64url(payload_text), unb64url(sig_text)
    except ValueError:
        return "令牌格式错误"
    if not hmac.compare_digest(sig, hmac.new(key, payload, hashlib.sha256).digest()):
        return "令牌签名无效"
    try:
        nonce, user, camera, mode, exp = payload.decode().split(":")
        return Claims(nonce, int(user), int(camera), mode, int(exp))
    except ValueError:
        return "令牌格式错误"


def issue(
    session: Session, *, actor: Actor, camera_id: int, mode: str, key: bytes, seconds: int, url_template: str
) -> PlayTicket:
    """A play URL for a user whose department runs the camera or holds a grant for it now."""
    actor.require(service.PLAY)
    camera = service.get_camera(session, actor=actor, camera_id=camera_id)
    reason = service.may_use(session, department_path=actor.department_path, camera=camera, mode=mode)
    if reason:
        audit.record(
            session,
            actor.audit,
            action="perception.play_issue",
            object_type="pv_camera",
            object_id=camera.id,
            result="拒绝",
            detail={"mode": mode, "reason": reason},
        )
        raise NotPermitted(reason)
    grant = service.grant_for(session, department_path=actor.department_path, camera=camera, mode=mode)
    now = utcnow()
    expires = now + timedelta(seconds=seconds)
    if grant is not None:
        expires = min(expires, grant.valid_until)
    nonce = secrets.token_hex(12)
    token = sign(key, nonce=nonce, user_id=actor.user_id, camera_id=camera.id, mode=mode, expires=expires)
    view = View(
        nonce=nonce,
        camera_id=camera.id,
        user_id=actor.user_id,
        username=actor.username,
        department_path=actor.department_path,
        mode=mode,
        grant_id=grant.id if grant else None,
        issued_at=now,
        expires_at=expires,
    )
    session.add(view)
    session.flush()
    audit.record(
        session,
        actor.audit,
        action="perception.play_issue",
        object_type="pv_camera",
        object_id=camera.id,
        detail={"mode": mode, "view_id": view.id, "grant_id": view.grant_id},
    )
    url = url_template.format(app=camera.app, stream=camera.gb_id, token=token)
    relay_url = f"/perception/relay/{camera.id}/index.m3u8?token={token}" if camera.source_url else ""
    return PlayTicket(
        url=url,
        relay_url=relay_url,
        token=token,
        expires_at=expires,
        camera_id=camera.id,
        stream=camera.gb_id,
        app=camera.app,
    )


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str
    view_id: int | None = None


def check(
    session: Session, *, key: bytes, token: str, stream: str, server: str, ip: str = "", action: str = "read"
) -> Decision:
    """A media server asks whether ``token`` may watch ``stream``; the answer is recorded either way."""
    claims = verify(key, token) if token else "缺少播放令牌"
    view: View | None = None
    reason = ""
    now = utcnow()
    if isinstance(claims, str):
        reason = claims
    else:
        view = session.execute(select(View).where(View.nonce == claims.nonce)).scalar()
        camera = session.get(Camera, claims.camera_id)
        if view is None or camera is None or view.user_id != claims.user_id or view.camera_id != claims.camera_id:
            reason, view = "令牌不对应任何已签发的播放", None
        elif claims.expires < int(now.timestamp()):
            reason = "令牌已过期"
        elif stream != camera.gb_id and not stream.endswith(f"_{camera.gb_id}"):
            reason = "令牌与所播放的摄像机不符"
        elif action not in ("read", "playback", "play"):
            reason = "播放令牌不能用于推流或管理"
        elif action == "playback" and claims.mode != "playback":
            reason = "令牌只许实时视频，不含录像回放"
        else:
            reason = service.may_use(session, department_path=view.department_path, camera=camera, mode=claims.mode)
    ctx = AuditContext(view.user_id if view else None, view.username if view else "", None, ip)
    if view is not None:
        view.server, view.client_ip = server, ip[:64]
        if reason:
            view.refusals += 1
        else:
            view.plays += 1
            view.first_play_at = view.first_play_at or now
            view.last_play_at = now
    audit.record(
        session,
        ctx,
        action="perception.play_check",
        object_type="pv_camera",
        object_id=view.camera_id if view else "",
        result="拒绝" if reason else "成功",
        detail={"server": server, "stream": stream[:64], "view_id": view.id if view else None, "reason": reason},
    )
    session.flush()
    return Decision(allowed=not reason, reason=reason, view_id=view.id if view else None)


def relay_camera(session: Session, camera_id: int) -> Camera | None:
    """The camera a relay URL names; who may watch it is the token's business (``relay_check``)."""
    return session.get(Camera, camera_id)


RELAY_HOURS = 4  # a relayed view keeps going this long after its token first played, while the grant holds


def relay_check(  # noqa: PLR0911 -- one early answer per refusal reads best
    session: Session, *, key: bytes, token: str, camera: Camera, ip: str, segment: bool
) -> str:
    """'' when the platform's relay may serve this request, else why not.

    The first playlist request is the play decision (full check, audited, the token must be fresh); the
    playlist reloads and segments that follow continue that view while its grant holds, as a media server
    keeps serving a viewer it admitted once.
    """
    claims = verify(key, token) if token else "缺少播放令牌"
    if isinstance(claims, str):
        return claims
    if claims.camera_id != camera.id:
        return "令牌与所播放的摄像机不符"
    view = session.execute(select(View).where(View.nonce == claims.nonce)).scalar()
    if view is None:
        return "令牌不对应任何已签发的播放"
    if view.first_play_at is None:
        if segment:
            return "请先取播放列表"
        decision = check(session, key=key, token=token, stream=camera.gb_id, server="relay", ip=ip)
        return decision.reason
    if utcnow() - view.first_play_at > timedelta(hours=RELAY_HOURS):
        return "本次调阅已超过时长上限，请重新调阅"
    if segment:
        return ""
    view.last_play_at = utcnow()
    return service.may_use(session, department_path=view.department_path, camera=camera, mode=claims.mode)


def flow_report(session: Session, *, key: bytes, token: str, seconds: int) -> None:
    """ZLMediaKit's ``on_flow_report`` when a viewer leaves: how long the view lasted."""
    claims = verify(key, token)
    if isinstance(claims, str):
        return
    view = session.execute(select(View).where(View.nonce == claims.nonce)).scalar()
    if view is not None:
        view.seconds += max(0, min(seconds, 86_400))
        view.ended_at = utcnow()
        session.flush()


def views(session: Session, *, actor: Actor, camera_id: int) -> list[View]:
    """Who watched a camera: for the department that runs it (or county scope)."""
    camera = service.owned_camera(session, actor=actor, camera_id=camera_id)
    return list(
        session.execute(select(View).where(View.camera_id == camera.id).order_by(View.id.desc()).limit(500)).scalars()
    )


def viewer_names(session: Session, rows: list[View]) -> dict[str, str]:
    """Login name → full name of the people in a camera's viewing log, so the log reads as people, not logins
    (looked up as the platform, not the reader: the log's reader may not browse the user directory)."""
    reader = platform.system_actor(frozenset({"platform.users.read", platform.COUNTY_SCOPE}))
    names: dict[str, str] = {}
    for user_id, username in {(v.user_id, v.username) for v in rows}:
        try:
            names[username] = platform.get_user(session, actor=reader, user_id=user_id).full_name
        except NotFound:
            continue
    return names
