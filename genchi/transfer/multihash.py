"""SHA-256 of up to 16 streams at once, for hashing photos while a package is written.

`MultiSha256` keeps 16 independent SHA-256 computations ("lanes"). `update()` feeds each
lane its next piece and hashes all of them together with the AVX-512 kernel in
`_sha256mb` (C, GIL released), about three times the speed of hashlib's single stream on
the same core. The results are ordinary SHA-256 digests (FIPS 180-4), identical to
hashlib's; only the speed differs.

`available()` is False when the extension was not built (no C compiler) or the CPU lacks
AVX-512: callers then hash with hashlib (see assembly.py).
"""

from __future__ import annotations

import os
import struct
from collections.abc import Sequence

try:
    from . import _sha256mb
except ImportError:  # built without a C compiler, or on another platform
    _sha256mb = None

LANES = 16
_IV = (
    0x6A09E667,
    0xBB67AE85,
    0x3C6EF372,
    0xA54FF53A,
    0x510E527F,
    0x9B05688C,
    0x1F83D9AB,
    0x5BE0CD19,
)
_WORD = struct.Struct("=I")  # the state is native-endian uint32, word-major


def available() -> bool:
    """True when the 16-lane kernel runs here. GENCHI_MULTIHASH=0 turns it off (to compare,
    or to rule it out)."""
    if os.environ.get("GENCHI_MULTIHASH", "1") == "0":
        return False
    return _sha256mb is not None and _sha256mb.available()


class MultiSha256:
    """16 SHA-256 streams. A lane is reset with start(), fed with update() and read with
    hexdigest(). Every piece but a stream's last should be a whole number of 64-byte blocks
    (anything else is still correct, at the price of a copy)."""

    def __init__(self) -> None:
        if not available():
            raise RuntimeError("multi-buffer SHA-256 is not available")
        self._state = bytearray(8 * LANES * 4)
        self._length = [0] * LANES
        self._pending = [b""] * LANES  # bytes short of a whole block, per lane
        for lane in range(LANES):
            self.start(lane)

    def start(self, lane: int) -> None:
        for i, word in enumerate(_IV):
            _WORD.pack_into(self._state, 4 * (i * LANES + lane), word)
        self._length[lane] = 0
        self._pending[lane] = b""

    def update(self, pieces: Sequence[bytes | bytearray | memoryview | None]) -> None:
        """Feed lane i the bytes pieces[i] (None or b"": nothing for that lane)."""
        if len(pieces) != LANES:
            raise ValueError("one piece per lane")
        blocks: list[bytes | bytearray | memoryview | None] = [None] * LANES
        for lane, piece in enumerate(pieces):
            if piece is None:
                continue
            view = memoryview(piece).cast("B")
            if not view:
                continue
            self._length[lane] += len(view)
            pending = self._pending[lane]
            if pending:
                joined = pending + view.tobytes()
                whole = len(joined) - len(joined) % 64
                blocks[lane], self._pending[lane] = joined[:whole], joined[whole:]
            else:
                whole = len(view) - len(view) % 64
                blocks[lane], self._pending[lane] = view[:whole], view[whole:].tobytes()
        assert _sha256mb is not None
        _sha256mb.update(self._state, blocks)

    def hexdigest(self, lane: int) -> str:
        """The digest of everything fed to `lane` since start(lane). The lane's state is
        finished by this call: start() it before using it again."""
        pending = self._pending[lane]
        bits = self._length[lane] * 8
        tail = pending + b"\x80" + b"\0" * ((55 - len(pending)) % 64) + bits.to_bytes(8, "big")
        pieces: list[bytes | None] = [None] * LANES
        pieces[lane] = tail
        assert _sha256mb is not None
        _sha256mb.update(self._state, pieces)
        self._pending[lane] = b""
        words = (_WORD.unpack_from(self._state, 4 * (i * LANES + lane))[0] for i in range(8))
        return b"".join(w.to_bytes(4, "big") for w in words).hex()
