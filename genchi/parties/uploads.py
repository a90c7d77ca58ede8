"""Checks of the scans and photos people upload: the content decides the type, never the
file name or the browser's word; anything else is refused with a Japanese reason."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from genchi.core.images import check_image, image_type, read_limited

PLEDGE_MAX_BYTES = 5 * 1024 * 1024
PHOTO_MAX_BYTES = 2 * 1024 * 1024
MAX_PIXELS = 40_000_000  # a scan at 600 dpi of A4 is ~35 Mpx; more is not a scan

PDF_MAGIC = b"%PDF-"

CONTENT_TYPES = {"pdf": "application/pdf", "jpeg": "image/jpeg", "png": "image/png"}


def _check_pdf(data: bytes) -> None:
    # A PDF starts with its version line and ends with %%EOF (possibly trailing spaces).
    if b"%%EOF" not in data[-1024:]:
        raise ValidationError(_("PDFとして読めないファイルです(末尾が壊れています)。"))


def checked_scan(upload) -> tuple[bytes, str]:
    """A pledge scan: PDF, JPEG or PNG by content, at most PLEDGE_MAX_BYTES."""
    data = read_limited(upload, PLEDGE_MAX_BYTES)
    if data.startswith(PDF_MAGIC):
        _check_pdf(data)
        return data, "pdf"
    kind = image_type(data)
    if kind is None:
        raise ValidationError(_("誓約書のスキャンは PDF・JPEG・PNG のいずれかにしてください。"))
    check_image(data, kind, MAX_PIXELS)
    return data, kind


def checked_photo(upload) -> tuple[bytes, str]:
    """An ID photo: JPEG or PNG by content, at most PHOTO_MAX_BYTES."""
    data = read_limited(upload, PHOTO_MAX_BYTES)
    kind = image_type(data)
    if kind is None:
        raise ValidationError(_("写真は JPEG または PNG の画像にしてください。"))
    check_image(data, kind, MAX_PIXELS)
    return data, kind
