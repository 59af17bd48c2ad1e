"""Case photos: checked to be real images within the size limit, stored once by content hash.

Intake and the workflow steps store them; the API serves them after a scope check.
"""

from __future__ import annotations

import hashlib
import io
import logging
import secrets
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from PIL import Image, UnidentifiedImageError
from sqlalchemy.orm import Session

from zhixian.citymgmt.cases.queries import get_case
from zhixian.citymgmt.config.parameters import config
from zhixian.citymgmt.models import Case, CasePhoto
from zhixian.clock import utcnow
from zhixian.errors import FieldError, Invalid, NotFound
from zhixian.platform.actor import Actor
from zhixian.settings import Settings

__all__ = [
    "PHOTO_FORMATS",
    "PHOTO_MAX_PIXELS",
    "PhotoIn",
    "check_photo",
    "photo_file",
    "read_upload",
    "readable_photo",
    "store_photo",
]

log = logging.getLogger(__name__)

# A phone photo is at most ~50 megapixels; above this Pillow refuses to decode (decompression bomb:
# a small PNG of 30000×30000 would need gigabytes). Twice this raises, above it warns: both refused.
PHOTO_MAX_PIXELS = 60_000_000
Image.MAX_IMAGE_PIXELS = PHOTO_MAX_PIXELS

PHOTO_FORMATS = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"), "WEBP": ("image/webp", "webp")}


class _Upload(Protocol):
    filename: str | None

    async def read(self, size: int = -1) -> bytes: ...


async def read_upload(upload: _Upload, *, max_bytes: int, stage: str) -> PhotoIn:
    """At most max_bytes + 1 bytes of an uploaded photo: enough for check_photo to refuse it."""
    return PhotoIn(await upload.read(max_bytes + 1), upload.filename or "", stage)


@dataclass
class PhotoIn:
    content: bytes
    filename: str = ""
    stage: str = "before"


def check_photo(content: bytes, *, max_bytes: int, field_name: str = "photo") -> tuple[str, str, int, int]:
    """(content type, extension, width, height) of a real image within the size limit."""
    if len(content) > max_bytes:  # callers read at most max_bytes + 1 (uploads.read_limited)
        raise Invalid("照片过大", [FieldError(f"照片不能超过 {max_bytes / 1048576:g} MB", field=field_name)])
    if not content:
        raise Invalid("照片为空", field=field_name)
    too_many = Invalid(
        "图片像素过多", [FieldError(f"照片不能超过 {PHOTO_MAX_PIXELS // 1_000_000} 百万像素", field=field_name)]
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content)) as img:
                fmt = img.format or ""
                width, height = img.size
                img.verify()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise too_many from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise Invalid(
            "文件不是有效的图片", [FieldError("请上传 JPEG、PNG 或 WebP 格式的照片", field=field_name)]
        ) from exc
    if fmt not in PHOTO_FORMATS:
        raise Invalid("不支持的图片格式", [FieldError("请上传 JPEG、PNG 或 WebP 格式的照片", field=field_name)])
    if width * height > PHOTO_MAX_PIXELS:
        raise too_many
    ctype, ext = PHOTO_FORMATS[fmt]
    return ctype, ext, width, height


def store_photo(session: Session, *, settings: Settings, case: Case, photo: PhotoIn, actor: Actor) -> CasePhoto:
    max_bytes = int(config(session)["photo_max_bytes"])
    ctype, ext, width, height = check_photo(photo.content, max_bytes=max_bytes)
    digest = hashlib.sha256(photo.content).hexdigest()
    rel = Path("citymgmt") / digest[:2] / f"{digest}.{ext}"
    target = settings.data_dir / "uploads" / rel
    if not target.exists():  # content-addressed: a retried upload writes nothing new
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".{secrets.token_hex(4)}.tmp")
        tmp.write_bytes(photo.content)
        tmp.replace(target)
    row = CasePhoto(
        case_id=case.id,
        stage=photo.stage,
        sha256=digest,
        path=str(rel),
        content_type=ctype,
        size=len(photo.content),
        width=width,
        height=height,
        uploaded_by=actor.user_id or None,
        at=utcnow(),
    )
    session.add(row)
    session.flush()
    return row


def photo_file(settings: Settings, photo: CasePhoto) -> Path:
    return settings.data_dir / "uploads" / photo.path


def readable_photo(session: Session, *, settings: Settings, actor: Actor, photo_id: int) -> tuple[CasePhoto, Path]:
    """The photo and its file, or one 404 for missing, out of scope and lost on disk alike.

    A different answer for "no such photo" and "not yours" would let anyone count photos.
    """
    gone = NotFound("照片不存在或无权查看")
    row = session.get(CasePhoto, photo_id)
    if row is None:
        raise gone
    try:
        get_case(session, actor=actor, case_id=row.case_id)  # scope
    except NotFound:
        raise gone from None
    path = photo_file(settings, row)
    if not path.is_file():
        log.error("case photo %s (case %s) is missing on disk: %s", row.id, row.case_id, row.path)
        raise NotFound("照片文件已丢失，请联系系统管理员")
    return row, path
