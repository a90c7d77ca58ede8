"""Checks of the scans and photos people upload: the content decides the type, never the
file name or the browser's word; anything else is refused with a Japanese reason."""

from __future__ import annotations

import io

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

PLEDGE_MAX_BYTES = 5 * 1024 * 1024
PHOTO_MAX_BYTES = 2 * 1024 * 1024
MAX_PIXELS = 40_000_000  # a scan at 600 dpi of A4 is ~35 Mpx; more is not a scan

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"
PDF_MAGIC = b"%PDF-"

CONTENT_TYPES = {"pdf": "application/pdf", "jpeg": "image/jpeg", "png": "image/png"}


def _image_type(data: bytes) -> str | None:
    if data.startswith(PNG_MAGIC):
        return "png"
    if data.startswith(JPEG_MAGIC):
        return "jpeg"
    return None


def _check_image(data: bytes, kind: str) -> None:
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > MAX_PIXELS:
                raise ValidationError(_("画像が大きすぎます(画素数)。"))
            if (image.format or "").lower() != kind:
                raise ValidationError(_("画像の中身が拡張子と一致しません。"))
            image.verify()  # reads the whole image: a truncated or forged file fails here
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ValidationError(_("画像として読めないファイルです。")) from exc


def _check_pdf(data: bytes) -> None:
    # A PDF starts with its version line and ends with %%EOF (possibly trailing spaces).
    if b"%%EOF" not in data[-1024:]:
        raise ValidationError(_("PDFとして読めないファイルです(末尾が壊れています)。"))


def _read(upload, limit: int) -> bytes:
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise ValidationError(
            _("ファイルが大きすぎます(上限 %(mb)d MB)。") % {"mb": limit // (1024 * 1024)}
        )
    if not data:
        raise ValidationError(_("ファイルが空です。"))
    return data


def checked_scan(upload) -> tuple[bytes, str]:
    """A pledge scan: PDF, JPEG or PNG by content, at most PLEDGE_MAX_BYTES."""
    data = _read(upload, PLEDGE_MAX_BYTES)
    if data.startswith(PDF_MAGIC):
        _check_pdf(data)
        return data, "pdf"
    kind = _image_type(data)
    if kind is None:
        raise ValidationError(_("誓約書のスキャンは PDF・JPEG・PNG のいずれかにしてください。"))
    _check_image(data, kind)
    return data, kind


def checked_photo(upload) -> tuple[bytes, str]:
    """An ID photo: JPEG or PNG by content, at most PHOTO_MAX_BYTES."""
    data = _read(upload, PHOTO_MAX_BYTES)
    kind = _image_type(data)
    if kind is None:
        raise ValidationError(_("写真は JPEG または PNG の画像にしてください。"))
    _check_image(data, kind)
    return data, kind
