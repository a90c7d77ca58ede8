"""Visit photos: checked, cleaned, hashed, encrypted and stored (issue 15 item 2).

The path of one photo, from the bytes handed in (tablet or office upload) to storage:

1. type from the bytes (JPEG or PNG only; HEIC, GIF, PDF ... refused whatever their name),
   at most PHOTO_MAX_BYTES;
2. decoded by Pillow only once its size is known to be within MAX_PIXELS (a
   decompression bomb is refused before it is expanded, `genchi.core.images`);
3. turned upright, scaled to at most MAX_SIDE pixels a side and written again with no
   metadata at all: no EXIF (the camera's time and GPS position), XMP, ICC or text. The
   time and place of a visit are fields of the visit, not of the file;
4. a perceptual hash taken (a photo handed in for two cases is flagged, as field-service
   anti-fraud tools do);
5. encrypted under the contract's contractor key (`genchi.vault`, bound to the photo's
   own id) and saved through Django's storage API, alias `genchi_files`, under photos/.

Photos are read back only through `photo_bytes`, called by the logged photo view.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.files.storage import storages
from django.utils.translation import gettext as _
from PIL import Image

from genchi import vault
from genchi.core.images import clean_image, image_type, read_limited

from .models import VisitPhoto

PHOTO_MAX_BYTES = 15 * 1024 * 1024  # a phone's 50 Mpx JPEG is ~12 MB
MAX_PIXELS = 60_000_000
# Enough to read a nameplate; a stored photo is ~0.3-0.8 MB. A phone's 4032 px photo is
# decoded at half scale and kept at 2016 px (`genchi.core.images.clean_image`).
MAX_SIDE = 2048
MAX_PHOTOS_PER_VISIT = 6
# Two photos whose 64-bit hashes differ in this many bits or fewer are the same picture.
DUPLICATE_DISTANCE = 6
STORAGE_ALIAS = "genchi_files"
PREFIX = "photos"


@dataclass(frozen=True)
class CleanPhoto:
    data: bytes
    kind: str
    width: int
    height: int
    phash: str


def storage():
    return storages[STORAGE_ALIAS]


def perceptual_hash(image: Image.Image) -> str:
    """64-bit perceptual hash (DCT, ImageHash's `phash`) as 16 hex digits. The hash
    looks at a 32 x 32 grey thumbnail: the picture is first boxed down to 256 px (fast,
    and the same for every photo) so the library's filter has little left to do."""
    import imagehash

    small = image.convert("L") if image.mode != "L" else image
    scale = max(1, max(small.size) // 256)
    if scale > 1:
        small = small.reduce(scale)
    return str(imagehash.phash(small))


def hash_distance(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def clean_photo(upload) -> CleanPhoto:
    """The photo of `upload` (a file or bytes) checked and cleaned; ValidationError with
    a Japanese reason otherwise."""
    data = upload if isinstance(upload, bytes) else read_limited(upload, PHOTO_MAX_BYTES)
    if len(data) > PHOTO_MAX_BYTES:
        raise ValidationError(
            _("ファイルが大きすぎます(上限 %(mb)d MB)。") % {"mb": PHOTO_MAX_BYTES // (1024 * 1024)}
        )
    kind = image_type(data)
    if kind is None:
        raise ValidationError(
            _("写真は JPEG または PNG の画像にしてください(HEIC などは受け付けません)。")
        )
    cleaned, image = clean_image(data, kind, max_pixels=MAX_PIXELS, max_side=MAX_SIDE)
    return CleanPhoto(cleaned, kind, image.width, image.height, perceptual_hash(image))


def _context(uid: str) -> str:
    return f"fieldwork:photo:{uid}"


def store(contract_id: int, contract_code: str, uid: str, photo: CleanPhoto) -> str:
    """Encrypt and save; returns the storage name (no personal data in it)."""
    scope = vault.contract_scope(contract_id, vault.CONTRACTOR)
    name = f"{PREFIX}/{contract_code}/{uid}.bin"
    return vault.save_encrypted_file(storage(), name, scope, _context(uid), io.BytesIO(photo.data))


def discard(names: list[str]) -> None:
    """Remove stored files whose rows were not kept (a failed save)."""
    files = storage()
    for name in names:
        with contextlib.suppress(OSError):
            files.delete(name)


def stored_names() -> Iterable[str]:
    """The storage names of every photo row kept (genchi.core.storedfiles sweeps the
    rest of photos/)."""
    return VisitPhoto.objects.values_list("storage_name", flat=True).iterator(chunk_size=5000)


def photo_bytes(photo) -> bytes:
    """The decrypted photo (a `VisitPhoto`); the caller logs the showing."""
    out = io.BytesIO()
    scope = vault.contract_scope(photo.contract_id, vault.CONTRACTOR)
    vault.read_encrypted_file(storage(), photo.storage_name, scope, _context(photo.uid), out)
    return out.getvalue()
