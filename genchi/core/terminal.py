"""What commands draw on the operator's terminal."""

from __future__ import annotations

import io

import segno


def terminal_qr(text: str) -> str:
    """A QR code of `text` drawn with block characters, for a phone to read off the screen."""
    out = io.StringIO()
    segno.make(text, error="m").terminal(out=out, compact=True)
    return out.getvalue()
