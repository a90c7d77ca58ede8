"""The body of a batched sync up (`POST /tablet/api/sync/up/`): several visits and their
photos in one multipart/form-data body, so a sync is a few requests instead of one per
visit and one per photo (issue 18: each request waits its turn behind the office pages).

    --<boundary>
    Content-Disposition: form-data; name="visits"
    Content-Type: application/json

    [{"visit": .., "case": .., "fields": {..}, "photos": [{"id", "sha256"}, ..]}, ..]
    --<boundary>
    Content-Disposition: form-data; name="<visit id>/<photo id>"; filename="<photo id>.jpg"
    Content-Type: image/jpeg

    <the JPEG's bytes>
    --<boundary>--

Multipart rather than JSON: the photos go as they are (base64 would add a third to every
request). The server reads the body whole and bounded (it is signed as bytes, see
signing.py) and parses it here, in memory: a photo never lands in a temporary file, and
the limits are this module's, not the form upload settings'. The parser is strict (what
the tablet app and `encode` write), not a general one.

Pure Python, no Django: the tests and the benches build their bodies with `encode` too.
"""

from __future__ import annotations

import json
import re
import secrets

# Per request. The tablet's app packs its requests up to these (api.js says the same);
# its camera makes JPEGs of at most 2048 px, under 2 MB: one always fits.
MAX_BYTES = 8 * 1024 * 1024
MAX_VISITS = 20

VISITS_PART = "visits"
PHOTO_PART = re.compile(r"^([0-9a-f]{16,32})/([0-9a-f]{16,32})$")
_BOUNDARY = re.compile(r'boundary="?([0-9A-Za-z\'()+_,./:=? -]{1,70})"?(?:;|$)')
_NAME = re.compile(rb'(?:^|;)\s*name="([^"\r\n]*)"')


class Unreadable(ValueError):
    """The body is not a batch as the tablet writes it."""


def encode(visits: list[dict], photos: dict[tuple[str, str], bytes]) -> tuple[bytes, str]:
    """The body and its Content-Type for `visits` (as the visit endpoint took them) and
    their photos' bytes by (visit id, photo id)."""
    boundary = "genchi-" + secrets.token_hex(16)
    parts = [
        _part(boundary, f'name="{VISITS_PART}"', "application/json", json.dumps(visits).encode())
    ]
    for (visit, photo), data in photos.items():
        disposition = f'name="{visit}/{photo}"; filename="{photo}.jpg"'
        parts.append(_part(boundary, disposition, "image/jpeg", data))
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def pack(visits: list[dict], photos: dict[tuple[str, str], bytes]) -> list[tuple[list, dict]]:
    """The requests the tablet app makes of these visits when every answer is as expected
    (app.js `packBatch`): visits in order, each with as many of its photos as fit; a visit
    whose photos do not all fit is sent again in the next request with the rest."""
    requests: list[tuple[list, dict]] = []
    current: tuple[list, dict] = ([], {})
    for visit in visits:
        mine = [(key, data) for key, data in photos.items() if key[0] == visit["visit"]]
        while True:
            sent, parts = current
            full = len(sent) >= MAX_VISITS or (
                sent and _size([*sent, visit], parts, mine[:1]) > MAX_BYTES
            )
            if full:
                requests.append(current)
                current = ([], {})
                continue
            sent.append(visit)
            while mine and (not parts or _size(sent, parts, mine[:1]) <= MAX_BYTES):
                key, data = mine.pop(0)
                parts[key] = data
            if not mine:
                break
            requests.append(current)  # the request is full: the rest in the next one
            current = ([], {})
    if current[0]:
        requests.append(current)
    return requests


_HEAD = len(
    "--genchi-" + "0" * 32 + "\r\nContent-Disposition: form-data; \r\nContent-Type: \r\n\r\n"
)


def _size(visits: list, parts: dict, more: list) -> int:
    """The length `encode` gives these, `more` photos added."""
    total = _HEAD + len(f'name="{VISITS_PART}"application/json') + 2
    total += len(json.dumps(visits).encode()) + len(f"--genchi-{'0' * 32}--\r\n")
    for (visit, photo), data in [*parts.items(), *more]:
        total += _HEAD + len(f'name="{visit}/{photo}"; filename="{photo}.jpg"image/jpeg')
        total += len(data) + 2
    return total


def _part(boundary: str, disposition: str, kind: str, data: bytes) -> bytes:
    head = (
        f"--{boundary}\r\nContent-Disposition: form-data; {disposition}\r\n"
        f"Content-Type: {kind}\r\n\r\n"
    )
    return head.encode() + data + b"\r\n"


def decode(content_type: str, body: bytes) -> tuple[list, dict[tuple[str, str], bytes]]:
    """The visits (the JSON list, unchecked) and the photos by (visit id, photo id)."""
    if not content_type.lower().startswith("multipart/form-data"):
        raise Unreadable("not multipart")
    found = _BOUNDARY.search(content_type)
    if not found:
        raise Unreadable("no boundary")
    delimiter = b"\r\n--" + found.group(1).strip().encode()
    chunks = (b"\r\n" + body).split(delimiter)
    if len(chunks) < 3 or chunks[0] != b"" or not chunks[-1].startswith(b"--"):
        raise Unreadable("delimiters")
    visits = None
    photos: dict[tuple[str, str], bytes] = {}
    for chunk in chunks[1:-1]:
        head, sep, data = chunk.partition(b"\r\n\r\n")
        if not sep or not head.startswith(b"\r\n"):
            raise Unreadable("part")
        name = _part_name(head)
        if name == VISITS_PART and visits is None:
            try:
                visits = json.loads(data)
            except (ValueError, UnicodeDecodeError) as exc:
                raise Unreadable("json") from exc
            continue
        key = PHOTO_PART.match(name)
        if not key or (key.group(1), key.group(2)) in photos:
            raise Unreadable("part name")
        photos[(key.group(1), key.group(2))] = data
    if not isinstance(visits, list):
        raise Unreadable("no visits")
    return visits, photos


def _part_name(head: bytes) -> str:
    for line in head.split(b"\r\n"):
        key, _sep, value = line.partition(b":")
        if key.strip().lower() == b"content-disposition":
            found = _NAME.search(value)
            if found:
                return found.group(1).decode("ascii", "replace")
    raise Unreadable("no name")
