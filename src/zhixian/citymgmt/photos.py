"""Case photos: checked to be real images within the size limit, stored once by content hash.

Intake and the workflow steps store them; the API serves them after a scope check.
"""

from __future__ import annotations

import hashlib
import io
import secrets
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError
from sqlalchemy.orm import Session

from zhixian.citymgmt.models import Case, CasePhoto
from zhixian.citymgmt.parameters import config
from zhixian.clock import utcnow
from zhixian.errors import FieldError, Invalid
from zhixian.platform.actor import Actor
from zhixian.settings import Settings

__all__ = ["PHOTO_FORMATS", "PhotoIn", "check_photo", "photo_file", "store_photo"]

PHOTO_FORMATS = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"), "WEBP": ("image/webp", "webp")}


@dataclass
class PhotoIn:
    content: bytes
    filename: str = ""
    stage: str = "before"


def check_photo(content: bytes, *, max_bytes: int, field_name: str = "photo") -> tuple[str, str, int, int]:
    """(content type, extension, width, height) of a real image within the size limit."""
    if len(content) > max_bytes:
        raise Invalid(
            "照片过大",
            [
                FieldError(
                    f"照片不能超过 {max_bytes // 1024 // 1024} MB（收到 {len(content) / 1048576:.1f} MB）",
                    field=field_name,
                )
            ],
        )
    if not content:
        raise Invalid("照片为空", field=field_name)
    try:
        with Image.open(io.BytesIO(content)) as img:
            fmt = img.format or ""
            width, height = img.size
            img.verify()
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise Invalid(
            "文件不是有效的图片", [FieldError("请上传 JPEG、PNG 或 WebP 格式的照片", field=field_name)]
        ) from exc
    if fmt not in PHOTO_FORMATS:
        raise Invalid("不支持的图片格式", [FieldError("请上传 JPEG、PNG 或 WebP 格式的照片", field=field_name)])
    if width * height > 60_000_000:
        raise Invalid("图片像素过多", field=field_name)
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
