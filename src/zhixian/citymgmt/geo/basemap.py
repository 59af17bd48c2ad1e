"""The maps' background: none (the default), an online tile service, or a local MBTiles/PMTiles file.

Decision: the browser never talks to the tile service. Every tile goes through the platform
(``/citymgmt/basemap/tiles/...``), which adds the service key, caches the tile and answers from the
same origin. So a 天地图 ``tk`` key is never in a page, a script or a URL the browser sees (it can't be
copied from the developer tools and used up elsewhere), the page's Content-Security-Policy stays
``'self'``, and a county on the 政务外网 needs only the server to reach the tile server. The price is
the server's bandwidth, which the tile cache keeps small; 天地图 needs a 服务端 key (bound to the
server's address) rather than a 浏览器端 one.

Tiles are authorised by a short-lived signed ticket in a cookie scoped to the tiles path (set when a
map asks for its basemap), so the tile route answers without a database round trip: a map view loads
dozens of tiles and on SQLite each would otherwise queue at the request gate.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from pydantic import Field
from sqlalchemy.orm import Session

from zhixian.citymgmt.geo import tiles
from zhixian.citymgmt.geo.index import bump_version, versions
from zhixian.citymgmt.models import Basemap
from zhixian.clock import utcnow
from zhixian.db import outside_gate
from zhixian.errors import FieldError, Invalid
from zhixian.platform import audit, outbound
from zhixian.platform.actor import Actor
from zhixian.platform.crypto import FieldCipher
from zhixian.platform.schemas import Input
from zhixian.settings import Settings

BASEMAP = 3  # cm_geo_version row bumped when the basemap changes: part of every tile URL
TICKET_COOKIE = "zx_tiles"
TICKET_PATH = "/citymgmt/basemap/"
TICKET_SECONDS = 30 * 60  # a ticket lives 30-60 minutes; the map asks for a new one when it lapses
LAYERS = ("base", "labels")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_ALLOWED = {"s", "x", "y", "z", "key"}

# 天地图 web-Mercator (``_w``) layers: CGCS2000 lines up with the platform's WGS 84 at map precision.
# Tile services in GCJ-02 (most commercial maps) would sit a few hundred metres off and are not offered.


def _tianditu(layer: str) -> str:
    return (
        f"https://t{{s}}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER={layer}"
        "&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk={key}"
    )


PRESETS: dict[str, dict[str, str]] = {
    "tianditu_vec": {
        "label": "天地图 矢量（道路、地名注记）",
        "url": _tianditu("vec"),
        "labels_url": _tianditu("cva"),
        "subdomains": "01234567",
        "attribution": "天地图",
    },
    "tianditu_img": {
        "label": "天地图 影像（含地名注记）",
        "url": _tianditu("img"),
        "labels_url": _tianditu("cia"),
        "subdomains": "01234567",
        "attribution": "天地图",
    },
}


class BasemapIn(Input):
    kind: Literal["none", "url", "file"] = Field(description="none 不显示底图；url 在线瓦片服务；file 本地瓦片文件")
    url: str = Field("", max_length=1000, description="瓦片地址模板，含 {z} {x} {y}，可含 {s} 与 {key}")
    labels_url: str = Field("", max_length=1000, description="注记图层地址模板（可空）")
    subdomains: str = Field("", pattern=r"^[0-9A-Za-z]{0,16}$", description="{s} 依次取的字符，如 01234567")
    key: str | None = Field(None, max_length=200, description="服务密钥（只写；留空则保留原密钥）")
    clear_key: bool = Field(default=False, description="删除已保存的密钥")
    file: str = Field("", max_length=200, description="瓦片目录中的底图文件名")
    labels_file: str = Field("", max_length=200, description="瓦片目录中的注记文件名（可空）")
    min_zoom: int = Field(1, ge=0, le=tiles.MAX_ZOOM)
    max_zoom: int = Field(18, ge=0, le=tiles.MAX_ZOOM)
    attribution: str = Field("", max_length=200, description="地图右下角显示的来源说明")


@dataclass(frozen=True)
class Active:
    """What the tile route needs, decrypted; cached per basemap version, never sent to a browser."""

    version: int
    kind: str
    urls: dict[str, str]  # layer → upstream template (kind url)
    files: dict[str, str]  # layer → file name (kind file)
    subdomains: str
    key: str
    min_zoom: int
    max_zoom: int
    attribution: str
    bounds: tuple[float, float, float, float] | None = None
    native_max_zoom: int | None = None  # a file's deepest level: Leaflet enlarges its tiles beyond it

    @property
    def layers(self) -> list[str]:
        chosen = self.urls if self.kind == "url" else self.files if self.kind == "file" else {}
        return [name for name in LAYERS if chosen.get(name)]


def tiles_dir(settings: Settings) -> Path:
    return settings.map_tiles_dir or settings.data_dir / "tiles"


def fingerprint(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def _row(session: Session) -> Basemap | None:
    return session.get(Basemap, 1)


def shown(session: Session) -> dict[str, Any]:
    """The setting as a page or the API may show it: the key only as set/unset and its fingerprint."""
    row = _row(session)
    if row is None:
        return {"kind": "none", "url": "", "labels_url": "", "subdomains": "", "key_set": False, "key_fingerprint": "",
                "file": "", "labels_file": "", "min_zoom": 1, "max_zoom": 18, "attribution": "",
                "updated_at": None, "updated_by": ""}  # fmt: skip
    return {
        "kind": row.kind,
        "url": row.url,
        "labels_url": row.labels_url,
        "subdomains": row.subdomains,
        "key_set": bool(row.key_enc),
        "key_fingerprint": row.key_fingerprint,
        "file": row.file,
        "labels_file": row.labels_file,
        "min_zoom": row.min_zoom,
        "max_zoom": row.max_zoom,
        "attribution": row.attribution,
        "updated_at": row.updated_at,
        "updated_by": row.updated_by,
    }


def sample_url(template: str, subdomains: str, key: str, z: int = 0, x: int = 0, y: int = 0) -> str:
    """The template filled in for one tile; the key is URL-quoted so it can't add parameters."""
    s = subdomains[(x + y) % len(subdomains)] if subdomains else ""
    values = {"s": s, "z": str(z), "x": str(x), "y": str(y), "key": quote(key, safe="")}
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)


def _check_template(field: str, template: str, subdomains: str, has_key: bool) -> list[FieldError]:
    errors = []
    names = set(_PLACEHOLDER.findall(template))
    if not template.startswith(("http://", "https://")):
        errors.append(FieldError("地址必须以 http:// 或 https:// 开头", field=field))
    missing = [n for n in ("z", "x", "y") if n not in names]
    if missing:
        errors.append(FieldError(f"地址模板缺少 {'、'.join('{' + n + '}' for n in missing)}", field=field))
    unknown = names - _ALLOWED
    if unknown:
        listed = "、".join("{" + n + "}" for n in sorted(unknown))
        errors.append(
            FieldError(f"地址模板中的 {listed} 无法识别（只支持 {{s}} {{x}} {{y}} {{z}} {{key}}）", field=field)
        )
    if "s" in names and not subdomains:
        errors.append(FieldError("地址含 {s}，请填写子域名字符（如 01234567）", field="subdomains"))
    if "key" in names and not has_key:
        errors.append(FieldError("地址含 {key}，请填写服务密钥", field="key"))
    if re.search(r"[?&](tk|key|ak|token)=[^{&]", template, re.IGNORECASE):
        errors.append(
            FieldError("请不要把密钥直接写在地址里：写成 {key}，密钥填在“服务密钥”中（只保存、不再显示）", field=field)
        )
    return errors


def _problems(data: BasemapIn, has_key: bool, settings: Settings) -> list[FieldError]:
    """Every problem at once, each beside its field."""
    errors: list[FieldError] = []
    if data.min_zoom > data.max_zoom:
        errors.append(FieldError("最小级别不能大于最大级别", field="min_zoom"))
    if data.kind == "url":
        if not data.url.strip():
            errors.append(FieldError("请填写瓦片地址模板", field="url"))
        for field, template in (("url", data.url.strip()), ("labels_url", data.labels_url.strip())):
            if template:
                errors += _check_template(field, template, data.subdomains, has_key)
    if data.kind == "file":
        if not data.file:
            errors.append(FieldError("请选择底图文件", field="file"))
        for field, name in (("file", data.file), ("labels_file", data.labels_file)):
            if name:
                try:
                    tiles.describe(tiles_dir(settings), name)
                except tiles.TileFileError as exc:
                    errors.append(FieldError(str(exc), field=field))
    return errors


def _check_hosts(session: Session, data: BasemapIn, settings: Settings) -> None:
    """The service's host may be reached (outbound policy); name resolution runs outside the database gate."""
    policy = outbound.Policy.of(settings)
    for field, template in (("url", data.url.strip()), ("labels_url", data.labels_url.strip())):
        if not template:
            continue
        target = sample_url(template, data.subdomains, "k")

        def check(url: str = target) -> list[str]:
            return outbound.check_url(url, policy)

        try:
            outside_gate(session, check)
        except outbound.Refused as exc:
            raise Invalid("底图设置有误，未保存", [FieldError(f"瓦片服务地址不可用：{exc}", field=field)]) from None


def save(session: Session, *, actor: Actor, data: BasemapIn, cipher: FieldCipher, settings: Settings) -> dict[str, Any]:
    """Checks everything a map would trip over later (template, host, file), then stores the setting."""
    actor.require("citymgmt.config")
    row = _row(session) or Basemap(id=1)
    key = (data.key or "").strip()
    if key and (len(key) < 8 or any(c.isspace() for c in key)):
        raise Invalid("服务密钥格式不正确", field="key")
    errors = _problems(data, bool(key) or (bool(row.key_enc) and not data.clear_key), settings)
    if errors:
        raise Invalid("底图设置有误，未保存", errors)
    if data.kind == "url":
        _check_hosts(session, data, settings)
    if key:
        row.key_enc, row.key_fingerprint = cipher.encrypt(key), fingerprint(key)
    elif data.clear_key:
        row.key_enc, row.key_fingerprint = None, ""
    row.kind = data.kind
    row.url, row.labels_url, row.subdomains = data.url.strip(), data.labels_url.strip(), data.subdomains
    row.file, row.labels_file = data.file, data.labels_file
    row.min_zoom, row.max_zoom, row.attribution = data.min_zoom, data.max_zoom, data.attribution.strip()
    row.updated_at, row.updated_by = utcnow(), actor.full_name or actor.username
    session.add(row)
    bump_version(session, BASEMAP)
    detail = {k: v for k, v in shown(session).items() if k not in ("updated_at", "updated_by")}
    audit.record(
        session, actor.audit, action="citymgmt.basemap", object_type="cm_basemap", object_id="1", detail=detail
    )
    session.flush()
    return shown(session)


_ACTIVE: dict[tuple[str, int], Active] = {}


def _db_key(session: Session) -> str:
    bind = session.get_bind()
    return str(bind.engine.url) if hasattr(bind, "engine") else str(id(bind))


def active(session: Session, cipher: FieldCipher, settings: Settings, version: int | None = None) -> Active:
    """The current basemap with its key decrypted, cached per version (a version is random per change)."""
    current = versions(session).get(BASEMAP, 0) if version is None else version
    cache_key = (_db_key(session), current)
    cached = _ACTIVE.get(cache_key)
    if cached is not None:
        return cached
    row = _row(session)
    if row is None or row.kind == "none":
        built = Active(current, "none", {}, {}, "", "", 1, 18, "")
    else:
        bounds, native = None, None
        if row.kind == "file":
            try:
                described = tiles.describe(tiles_dir(settings), row.file)
                bounds, native = described.bounds, described.max_zoom
            except tiles.TileFileError:
                pass
        built = Active(
            version=current,
            kind=row.kind,
            urls={"base": row.url, "labels": row.labels_url},
            files={"base": row.file, "labels": row.labels_file},
            subdomains=row.subdomains,
            key=cipher.decrypt(row.key_enc) if row.key_enc else "",
            min_zoom=row.min_zoom,
            max_zoom=row.max_zoom,
            attribution=row.attribution,
            bounds=bounds,
            native_max_zoom=native,
        )
    if len(_ACTIVE) > 64:
        _ACTIVE.clear()
    _ACTIVE[cache_key] = built
    return built


def cached(db_key: str, version: int) -> Active | None:
    return _ACTIVE.get((db_key, version))


def view(basemap: Active) -> dict[str, Any]:
    """What a map in the browser is told: platform URLs only, never the service or its key."""
    return {
        "version": basemap.version,
        "layers": [
            {
                "name": name,
                "url": f"/citymgmt/basemap/tiles/{name}/{{z}}/{{x}}/{{y}}?v={basemap.version}",
                "min_zoom": basemap.min_zoom,
                "max_zoom": basemap.max_zoom,
                "max_native_zoom": min(basemap.max_zoom, basemap.native_max_zoom or basemap.max_zoom),
            }
            for name in basemap.layers
        ],
        "attribution": basemap.attribution,
        "bounds": basemap.bounds,
        "gazetteer": bool(basemap.layers),
    }


# --- tickets: who may fetch tiles, checked without the database


def _mac(secret: str, user_id: int, expires: int) -> str:
    return hmac.new(secret.encode(), f"tiles|{user_id}|{expires}".encode(), "sha256").hexdigest()[:32]


def ticket(secret: str, user_id: int, now: float | None = None) -> tuple[str, int]:
    """(cookie value, seconds it lives); stable within a half-hour window."""
    now = utcnow().timestamp() if now is None else now
    expires = (int(now) // TICKET_SECONDS + 2) * TICKET_SECONDS
    return f"{user_id}.{expires}.{_mac(secret, user_id, expires)}", expires - int(now)


def ticket_valid(secret: str, value: str | None, now: float | None = None) -> bool:
    parts = (value or "").split(".")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
        return False
    user_id, expires = int(parts[0]), int(parts[1])
    now = utcnow().timestamp() if now is None else now
    if expires < now or expires > now + 2 * TICKET_SECONDS + 60:
        return False
    return hmac.compare_digest(parts[2], _mac(secret, user_id, expires))
