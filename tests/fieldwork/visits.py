"""Helpers for the visit tests: a valid visit, test images (with metadata, bombs)."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

from django.utils import timezone
from PIL import Image, ImageDraw
from PIL.PngImagePlugin import PngInfo

SAMPLES = Path(__file__).resolve().parents[2] / "genchi" / "fieldwork" / "data" / "sample_photos"


def visit_data(**overrides) -> dict:
    """A visit that holds together: nobody answered, signs of life, slip posted."""
    data = {
        "visited_at": timezone.now().replace(microsecond=0),
        "position_source": "gps",
        "lat": "35.735000",
        "lng": "139.651000",
        "accuracy_m": 8,
        "building_type": "apartment",
        "nameplate": "taxpayer",
        "mailbox_name": "taxpayer",
        "mail_piled": "no",
        "electricity": "moving",
        "gas": "unknown",
        "water": "moving",
        "lights": "yes",
        "washing": "yes",
        "curtains": "yes",
        "vacancy_signs": "no",
        "answered": False,
        "interviewee": "none",
        "interview": "",
        "contact_slip": "posted",
        "tenure": "rented",
        "landlord_name": "豊玉管理株式会社",
        "landlord_phone": "03-1234-5678",
        "outcome": "resident_presumed",
        "needs_revisit": False,
        "notes": "郵便受けに連絡票を投函した。",
    }
    data.update(overrides)
    return data


def form_data(**overrides) -> dict:
    """The same visit as the office form posts it."""
    data = visit_data(**overrides)
    data["visited_at"] = timezone.localtime(data["visited_at"]).strftime("%Y-%m-%dT%H:%M")
    data["answered"] = "yes" if data["answered"] else "no"
    if data["accuracy_m"] is None:
        data["accuracy_m"] = ""
    if not data["needs_revisit"]:
        del data["needs_revisit"]
    return data


def sample(name: str = "house-1.jpg") -> bytes:
    return (SAMPLES / name).read_bytes()


def photo_with_metadata(kind: str = "jpeg", size=(800, 600), seed: int = 0) -> bytes:
    """A picture carrying EXIF with a GPS position and a camera time (JPEG), or a text
    chunk and EXIF (PNG): what a phone's file would hold."""
    image = Image.new("RGB", size, (200, 210, 220))
    draw = ImageDraw.Draw(image)
    draw.rectangle([100 + seed * 40, 100, 400, 500], fill=(120, 80, 50))
    draw.ellipse([500, 50 + seed * 30, 700, 250], fill=(30, 90, 160))
    exif = Image.Exif()
    exif[0x010F] = "GenchiCam"  # Make
    exif[0x0132] = "2026:11:30 10:15:00"  # DateTime
    exif[0x8825] = {1: "N", 2: (35.0, 44.0, 6.0), 3: "E", 4: (139.0, 39.0, 3.6)}  # GPS
    out = io.BytesIO()
    if kind == "jpeg":
        image.save(out, "JPEG", exif=exif.tobytes(), quality=90)
    else:
        info = PngInfo()
        info.add_text("Comment", "secret-comment")
        image.save(out, "PNG", pnginfo=info, exif=exif.tobytes())
    return out.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG file that claims `width` x `height` pixels: a decompression bomb's
    header (its pixels would take gigabytes once decoded)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
