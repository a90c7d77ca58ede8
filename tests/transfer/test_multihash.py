"""The 16-lane SHA-256 gives exactly hashlib's digests, whatever the lengths and pieces."""

from __future__ import annotations

import hashlib
import random

import pytest

from genchi.transfer import multihash

pytestmark = pytest.mark.skipif(
    not multihash.available(), reason="no AVX-512 here or the extension was not built"
)


def _feed(multi: multihash.MultiSha256, streams: list[bytes], cuts: list[list[int]]) -> None:
    """Feed each lane its stream in the given pieces, all lanes side by side."""
    positions = [0] * multihash.LANES
    steps = max(len(c) for c in cuts)
    for step in range(steps):
        pieces: list[bytes | None] = [None] * multihash.LANES
        for lane, lane_cuts in enumerate(cuts):
            if step < len(lane_cuts):
                end = lane_cuts[step]
                pieces[lane] = streams[lane][positions[lane] : end]
                positions[lane] = end
        multi.update(pieces)


def test_lengths_around_block_boundaries():
    multi = multihash.MultiSha256()
    lengths = [0, 1, 55, 56, 63, 64, 65, 119, 120, 127, 128, 129, 1000, 4096, 65536, 65599]
    streams = [random.randbytes(n) for n in lengths]
    _feed(multi, streams, [[n] for n in lengths])
    for lane, data in enumerate(streams):
        assert multi.hexdigest(lane) == hashlib.sha256(data).hexdigest(), lengths[lane]


def test_uneven_pieces_and_lanes_restarted():
    rng = random.Random(20261126)
    multi = multihash.MultiSha256()
    for _round in range(3):
        streams = [rng.randbytes(rng.randrange(0, 300_000)) for _ in range(multihash.LANES)]
        cuts = []
        for data in streams:
            # Mostly whole blocks, as the package writer feeds it; sometimes not.
            points = sorted(rng.randrange(0, len(data) + 1) for _ in range(rng.randrange(0, 6)))
            points = [p - p % 64 if rng.random() < 0.7 else p for p in points]
            cuts.append([*points, len(data)])
        _feed(multi, streams, cuts)
        for lane, data in enumerate(streams):
            assert multi.hexdigest(lane) == hashlib.sha256(data).hexdigest()
            multi.start(lane)


def test_idle_lanes_keep_their_state():
    multi = multihash.MultiSha256()
    first = random.randbytes(64 * 100)
    multi.update([first] + [None] * (multihash.LANES - 1))
    other = random.randbytes(64 * 3)
    multi.update([None, other] + [None] * (multihash.LANES - 2))
    assert multi.hexdigest(0) == hashlib.sha256(first).hexdigest()
    assert multi.hexdigest(1) == hashlib.sha256(other).hexdigest()
    assert multi.hexdigest(2) == hashlib.sha256(b"").hexdigest()


def test_bad_arguments_are_refused():
    from genchi.transfer import _sha256mb

    with pytest.raises(ValueError):
        _sha256mb.update(bytearray(512), [b"x" * 63] + [None] * 15)
    with pytest.raises(ValueError):
        _sha256mb.update(bytearray(100), [None] * 16)
    with pytest.raises(ValueError):
        _sha256mb.update(bytearray(512), [None] * 15)
    with pytest.raises(TypeError):
        _sha256mb.update(bytes(512), [None] * 16)  # the state must be writable
    with pytest.raises(ValueError):
        multihash.MultiSha256().update([b""] * 3)


def test_switch_off(monkeypatch):
    monkeypatch.setenv("GENCHI_MULTIHASH", "0")
    assert not multihash.available()
    with pytest.raises(RuntimeError):
        multihash.MultiSha256()
