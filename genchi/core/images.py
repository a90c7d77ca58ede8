"""Checks and cleaning of the images people upload (staff photos, pledge scans, visit
photos): the bytes decide the type, never the file name or the browser's word; the image
is decoded by Pillow only after its size in pixels is known to be within a limit, so a
decompression bomb is refused before it is expanded. Refusals are `ValidationError`s with
a Japanese reason."""

from __future__ import annotations

import io
import warnings

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"

CONTENT_TYPES = {"jpeg": "image/jpeg", "png": "image/png"}

# Pillow's own guard (MAX_IMAGE_PIXELS, ~89 Mpx: a warning, an error past twice that) is
# global; the limits here are per call and checked first.
_BOMB = (Image.DecompressionBombError, Image.DecompressionBombWarning)


def image_type(data: bytes) -> str | None:
    """ "jpeg" or "png" by the file's first bytes, else None (HEIC, GIF, PDF, ...)."""
    if data.startswith(PNG_MAGIC):
        return "png"
    if data.startswith(JPEG_MAGIC):
        return "jpeg"
    return None


def read_limited(upload, limit: int) -> bytes:
    """The upload's bytes, refused if empty or larger than `limit`."""
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise ValidationError(
            _("ファイルが大きすぎます(上限 %(mb)d MB)。") % {"mb": limit // (1024 * 1024)}
        )
    if not data:
        raise ValidationError(_("ファイルが空です。"))
    return data


def open_checked(data: bytes, kind: str, max_pixels: int) -> Image.Image:
    """The image of `data` opened (header read, pixels not yet decoded), its format the
    one its first bytes say and its size within `max_pixels`; refused otherwise."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except _BOMB as exc:
        raise ValidationError(_("画像が大きすぎます(画素数)。")) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ValidationError(_("画像として読めないファイルです。")) from exc
    if image.width * image.height > max_pixels:
        image.close()
        raise ValidationError(_("画像が大きすぎます(画素数)。"))
    if (image.format or "").lower() != kind:
        image.close()
        raise ValidationError(_("画像の中身が拡張子と一致しません。"))
    return image


def check_image(data: bytes, kind: str, max_pixels: int) -> None:
    """Refuse `data` unless it is a whole, readable image of `kind` within the limit."""
    image = open_checked(data, kind, max_pixels)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image.verify()  # reads the whole image: a truncated or forged file fails here
    except _BOMB as exc:
        raise ValidationError(_("画像が大きすぎます(画素数)。")) from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise ValidationError(_("画像として読めないファイルです。")) from exc
    finally:
        image.close()


def clean_image(
    data: bytes, kind: str, *, max_pixels: int, max_side: int, jpeg_quality: int = 85
) -> tuple[bytes, Image.Image]:
    """The image decoded, turned upright (EXIF orientation), scaled down to at most
    `max_side` pixels a side and written again in its own format WITHOUT any metadata:
    no EXIF (time, position, camera), no XMP, no ICC profile, no text chunks, no
    thumbnail. Returns (bytes, the clean image)."""
    image = open_checked(data, kind, max_pixels)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            if kind == "jpeg" and max(image.size) > max_side:
                # Decode at a reduced DCT scale (1/2, 1/4, 1/8) when it comes within 5%
                # of the target: a phone's 4032 px photo is decoded at 2016 px, a
                # quarter of the pixels, and needs no resizing after.
                ratio = max_side / max(image.size) * 0.95
                image.draft("RGB", (int(image.width * ratio), int(image.height * ratio)))
            image.load()
            upright = ImageOps.exif_transpose(image)
    except _BOMB as exc:
        raise ValidationError(_("画像が大きすぎます(画素数)。")) from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise ValidationError(_("画像として読めないファイルです。")) from exc
    finally:
        image.close()
    if kind == "jpeg" and upright.mode not in ("RGB", "L"):
        upright = upright.convert("RGB")
    elif kind == "png" and upright.mode not in ("RGB", "RGBA", "L", "LA", "P"):
        upright = upright.convert("RGBA")
    if max(upright.size) > max_side:
        upright.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    # A fresh image holding only the pixels: nothing of the original's info travels.
    clean = Image.frombytes(upright.mode, upright.size, upright.tobytes())
    if upright.mode == "P":
        clean.putpalette(upright.getpalette())
    out = io.BytesIO()
    if kind == "jpeg":
        clean.save(out, format="JPEG", quality=jpeg_quality, optimize=False)
    else:
        clean.save(out, format="PNG")
    return out.getvalue(), clean
