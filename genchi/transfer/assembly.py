"""Encrypting an archive whose layout is fixed in advance, on every core.

write_package knows where every byte of the archive goes before it reads a photo: the
records are staged and hashed first, photo sizes come from stat(), and the manifest's
length does not depend on the hash values. So the archive's plaintext is given here as a
list of parts in order, and its age chunks are shared out:

- *lanes*, one thread per core (at most MAX_LANES): each takes the next photo, reads it
  once in 1 MiB pieces, updates its SHA-256 (the manifest's member hash) while the bytes
  are in that core's cache, and encrypts and writes the chunks lying wholly inside the
  photo. Reading, hashing (hashlib), encrypting (cryptography) and writing all release
  the GIL, so the lanes run side by side; as each does every step for its own photos,
  the work is shared evenly whatever the relative speed of hashing and encryption on
  the machine (a pipeline with one step per thread is only as fast as its slowest step).
  Where the CPU has AVX-512 and there are enough photos, a lane instead holds up to 16
  photos in slots and hashes a piece of each at once (multihash, about three times
  hashlib's speed), then encrypts and writes those pieces: see _multi_lane.
- the calling thread: every other chunk, in order (the deferred manifest chunks, the
  records, tar headers and padding, and the chunk where one photo ends and the next
  begins), built from the literal parts, the staged records and the edge bytes that each
  lane hands back.

Memory is bounded whatever the package size: two 1 MiB buffers per thread (4 MiB per
16-slot lane), and at most WINDOW photos (MULTI_WINDOW_PER_LANE per 16-slot lane) in
flight ahead of the calling thread, each holding under 128 KiB of edge bytes. Chunks reach the file slightly out of order (each at its place, see
age.AgeFileWriter); the file is whole once encrypt_parts returns.
"""

from __future__ import annotations

import hashlib
import io
import os
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, InvalidStateError, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from django.utils.functional import lazy
from django.utils.translation import gettext as _

from . import age, multihash

CHUNK = age.CHUNK_SIZE
PIECE_CHUNKS = 16  # each thread reads, encrypts and writes 1 MiB at a time
MAX_LANES = 8  # each lane holds 2 MiB of buffers: memory stays bounded on big machines
WINDOW = 16  # photos handed to the lanes ahead of the calling thread
# With the 16-lane hash (multihash) each lane holds 16 photos at a time and reads a piece
# of each per step: larger pieces mean fewer, larger writes (1 to 16 chunks measured: 4 and
# up are alike). Fewer photos than slots would leave the lanes' slots idle.
MULTI_PIECE_CHUNKS = 4  # 16 x 256 KiB per lane and step
MULTI_WINDOW_PER_LANE = 2 * multihash.LANES  # photos handed out ahead, per lane
MULTI_MIN_PHOTOS = multihash.LANES
# Each 16-slot lane holds 4 MiB of buffers and up to 32 photos' edges: at most 4 of them
# keep a big machine's peak memory well under 100 MB (4 lanes hash about 14 GB/s).
MULTI_MAX_LANES = 4


@dataclass(frozen=True)
class FilePart:
    """A photo, read once; its size and mtime must still be those the layout was made with."""

    path: Path
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class StreamPart:
    """`size` bytes produced in order by `chunks()` (a staged member)."""

    size: int
    chunks: Callable[[], Iterable[bytes]]


Part = bytes | FilePart | StreamPart


def part_size(part: Part) -> int:
    return len(part) if isinstance(part, bytes) else part.size


def lane_count() -> int:
    """One lane per core this process may run on, within MAX_LANES."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(MAX_LANES, cpus))


def _photo_changed_message(name: str) -> str:
    return _("写真が書き出し中に変更されました: %(name)s") % {"name": name}


def photo_changed(path: Path) -> ValueError:
    # Raised on a lane thread too, where no language is active: the message stays lazy and
    # is put into words when shown (str(exc)), in the language active there.
    return ValueError(lazy(_photo_changed_message, str)(path.name))


@dataclass(frozen=True)
class _Edges:
    """What a lane hands back for one photo: its SHA-256, and the bytes at its two ends that
    share a chunk with other parts (all of it when no chunk lies wholly inside)."""

    sha256: str
    head: bytes  # the photo's first len(head) bytes
    tail: bytes  # the photo's last len(tail) bytes


class _Stopped(Exception):
    """The package is being abandoned; a lane stops between two pieces."""


def encrypt_parts(
    writer: age.AgeFileWriter,
    parts: Sequence[Part],
    *,
    deferred: int = 0,
    lanes: int | None = None,
) -> tuple[list[str], bytearray]:
    """Encrypt and write the archive made of `parts` (their sizes add up to the writer's
    plaintext size), except its first `deferred` chunks: their plaintext is returned for
    the caller to patch and write (writer.write(0, …)). Returns the SHA-256 (hex) of each
    FilePart, in order, and that plaintext. Raises ValueError (photo_changed) when a
    photo is not what the layout assumed; the file is then incomplete."""
    if sum(part_size(p) for p in parts) != writer.plaintext_size:
        raise ValueError("the parts do not fill the file")
    job = _Job(writer, parts, deferred, lanes or lane_count())
    return job.run()


class _Job:
    def __init__(
        self, writer: age.AgeFileWriter, parts: Sequence[Part], deferred: int, lanes: int
    ) -> None:
        self.writer = writer
        self.parts = list(parts)
        self.starts: list[int] = []
        offset = 0
        for part in self.parts:
            self.starts.append(offset)
            offset += part_size(part)
        self.ends = [*self.starts[1:], offset]
        self.size = offset
        self.deferred = deferred
        self.lane_total = lanes
        # Chunks lying wholly inside a photo: [first, end) per FilePart, for its lane.
        self.interior: dict[int, tuple[int, int]] = {}
        for p, part in enumerate(self.parts):
            if isinstance(part, FilePart):
                first = -(-self.starts[p] // CHUNK)
                end = self.ends[p] // CHUNK
                self.interior[p] = (first, max(first, end))
        self.lane_ranges = sorted(
            (first, end) for first, end in self.interior.values() if end > first
        )
        if any(first < deferred for first, _ in self.lane_ranges):
            raise ValueError("deferred chunks must not lie inside a photo")
        self.photos = [p for p, part in enumerate(self.parts) if isinstance(part, FilePart)]
        self.hashes: dict[int, str] = {}
        self.futures: dict[int, Future[_Edges]] = {}
        self.next_photo = 0
        self.pool: ThreadPoolExecutor | None = None
        self.stop = threading.Event()
        self.local = threading.local()
        # The calling thread's walk over the plaintext, in order.
        self.cursor = 0
        self.edges: _Edges | None = None  # of the FilePart at the cursor
        self.stream: Iterator[bytes] | None = None
        self.stream_rest = memoryview(b"")
        # Photos hashed 16 at a time on each lane (multihash), when the CPU can and there
        # are enough photos to keep the lanes' 16 slots busy.
        self.multi = multihash.available() and len(self.photos) >= MULTI_MIN_PHOTOS
        if self.multi:
            self.lane_total = min(self.lane_total, MULTI_MAX_LANES)
        self.queue: queue.SimpleQueue[tuple[int, Future[_Edges]] | None] = queue.SimpleQueue()
        self.handed_out_all = False
        self.multi_lock = threading.Lock()
        self.broken: BaseException | None = None  # why a 16-slot lane stopped, if one did

    # --- the calling thread ------------------------------------------------------------

    def run(self) -> tuple[list[str], bytearray]:
        pool = (
            ThreadPoolExecutor(max_workers=self.lane_total, thread_name_prefix="package-lane")
            if self.photos
            else None
        )
        self.pool = pool
        window = WINDOW
        if self.multi:
            window = MULTI_WINDOW_PER_LANE * self.lane_total
            assert pool is not None
            for _lane in range(self.lane_total):
                pool.submit(self._multi_lane)
        try:
            for _round in range(window):
                self._hand_out()
            held = self._write_glue()
            self._advance_to(len(self.parts))
        except BaseException:
            self.stop.set()
            for future in self.futures.values():
                future.cancel()
            raise
        finally:
            if self.multi:
                for _lane in range(self.lane_total):
                    self.queue.put(None)  # wakes a waiting lane; it ends when idle
            if pool is not None:
                pool.shutdown(wait=True)
        return [self.hashes[p] for p in self.photos], held

    def _hand_out(self) -> None:
        if self.next_photo < len(self.photos):
            p = self.photos[self.next_photo]
            self.next_photo += 1
            assert self.pool is not None
            if self.multi:
                future: Future[_Edges] = Future()
                self.futures[p] = future
                with self.multi_lock:
                    if self.broken is None:
                        self.queue.put((p, future))
                    else:
                        future.set_exception(self.broken)
            else:
                self.futures[p] = self.pool.submit(self._lane, p)
        elif self.multi and not self.handed_out_all:
            self.handed_out_all = True
            for _lane in range(self.lane_total):
                self.queue.put(None)

    def _glue_runs(self) -> Iterator[tuple[int, int]]:
        """Runs of consecutive chunks the calling thread writes: the gaps between the
        lanes' ranges, split at `deferred`."""
        start = 0
        for first, end in [*self.lane_ranges, (self.writer.chunk_count, self.writer.chunk_count)]:
            if start < self.deferred < first:
                yield start, self.deferred
                start = self.deferred
            if start < first:
                yield start, first
            start = end

    def _write_glue(self) -> bytearray:
        held = bytearray()
        plain = bytearray(PIECE_CHUNKS * CHUNK)
        scratch = bytearray(PIECE_CHUNKS * age.ENCRYPTED_CHUNK_SIZE)
        for run_start, run_end in self._glue_runs():
            for chunk in range(run_start, run_end, PIECE_CHUNKS):
                count = min(PIECE_CHUNKS, run_end - chunk)
                start = chunk * CHUNK
                size = min(count * CHUNK, self.size - start)
                view = memoryview(plain)[:size]
                self._fill(view, start)
                if chunk < self.deferred:
                    held += view
                else:
                    self.writer.write(chunk, view, scratch)
        return held

    def _fill(self, view: memoryview, start: int) -> None:
        """Copy the archive's plaintext [start, start + len(view)) into view."""
        pos, end = start, start + len(view)
        while pos < end:
            while self.ends[self.cursor] <= pos:  # also steps over empty parts
                self._advance_to(self.cursor + 1)
            p = self.cursor
            part, part_start = self.parts[p], self.starts[p]
            take = min(end, self.ends[p]) - pos
            dest = view[pos - start : pos - start + take]
            at = pos - part_start
            if isinstance(part, bytes):
                dest[:] = part[at : at + take]
            elif isinstance(part, StreamPart):
                self._read_stream(part, dest)
            else:
                edges = self._edges_at_cursor()
                tail_start = part.size - len(edges.tail)
                if at + take <= len(edges.head):
                    dest[:] = edges.head[at : at + take]
                elif at >= tail_start:
                    dest[:] = edges.tail[at - tail_start : at - tail_start + take]
                else:  # cannot happen: the lane writes every chunk between the edges
                    raise RuntimeError("glue chunk inside a photo")
            pos += take

    def _advance_to(self, p: int) -> None:
        """Move the cursor to part p, finishing every part it leaves."""
        while self.cursor < p:
            part = self.parts[self.cursor]
            if isinstance(part, FilePart):
                self._edges_at_cursor()  # waits for the lane; raises what it raised
                self.edges = None
                self._hand_out()
            elif isinstance(part, StreamPart):
                if self.stream is not None:
                    if self.stream_rest or next(self.stream, b""):
                        raise RuntimeError("a staged member is longer than announced")
                elif part.size:
                    raise RuntimeError("a staged member was not read")
                self.stream, self.stream_rest = None, memoryview(b"")
            self.cursor += 1

    def _edges_at_cursor(self) -> _Edges:
        if self.edges is None:
            p = self.cursor
            try:
                self.edges = self.futures.pop(p).result()
            except _Stopped:
                raise self.broken or RuntimeError("package lanes stopped") from None
            self.hashes[p] = self.edges.sha256
        return self.edges

    def _read_stream(self, part: StreamPart, dest: memoryview) -> None:
        if self.stream is None:
            self.stream = iter(part.chunks())
        pos = 0
        while pos < len(dest):
            if not self.stream_rest:
                piece = next(self.stream, None)
                if piece is None:
                    raise RuntimeError("a staged member is shorter than announced")
                self.stream_rest = memoryview(piece)
                continue
            take = min(len(dest) - pos, len(self.stream_rest))
            dest[pos : pos + take] = self.stream_rest[:take]
            self.stream_rest = self.stream_rest[take:]
            pos += take

    # --- lanes -------------------------------------------------------------------------

    def _buffers(self) -> tuple[bytearray, bytearray]:
        local = self.local
        if not hasattr(local, "plain"):
            local.plain = bytearray(PIECE_CHUNKS * CHUNK)
            local.cipher = bytearray(PIECE_CHUNKS * age.ENCRYPTED_CHUNK_SIZE)
        return local.plain, local.cipher

    def _geometry(self, p: int) -> tuple[FilePart, int, int, int, int]:
        """Photo p, its interior chunks [first, end), and the sizes of its head and tail
        (the bytes sharing a chunk with other parts)."""
        part = self.parts[p]
        assert isinstance(part, FilePart)
        first, end = self.interior[p]
        head_size = min(part.size, first * CHUNK - self.starts[p]) if end > first else part.size
        tail_size = self.ends[p] - end * CHUNK if end > first else 0
        return part, first, end, head_size, tail_size

    def _lane(self, p: int) -> _Edges:
        part, first, end, head_size, tail_size = self._geometry(p)
        plain, cipher = self._buffers()
        view = memoryview(plain)
        h = hashlib.sha256()
        with _open_unchanged(part) as f:
            head = _read_exact(f, head_size, part.path)
            h.update(head)
            chunk = first
            while chunk < end:
                if self.stop.is_set():
                    raise _Stopped
                count = min(PIECE_CHUNKS, end - chunk)
                piece = view[: count * CHUNK]
                if _readinto_exact(f, piece) != len(piece):
                    raise photo_changed(part.path)
                h.update(piece)
                self.writer.write(chunk, piece, cipher)
                chunk += count
            tail = _read_exact(f, tail_size, part.path)
            h.update(tail)
            _check_read_whole(f, part)
        return _Edges(h.hexdigest(), head, tail)

    def _multi_lane(self) -> None:
        """A lane hashing with the 16-lane SHA-256: up to 16 photos at a time, one slot
        each, taken in order from the queue. Each step reads the next piece of every
        slot's photo, hashes the 16 pieces together, then encrypts and writes them; a
        finished photo's result goes to its future and the slot takes the next photo."""
        hasher = multihash.MultiSha256()
        slots: list[_Slot | None] = [None] * multihash.LANES
        piece_size = MULTI_PIECE_CHUNKS * CHUNK
        plain = bytearray(multihash.LANES * piece_size)
        cipher = bytearray(MULTI_PIECE_CHUNKS * age.ENCRYPTED_CHUNK_SIZE)
        more = True
        try:
            while True:
                if self.stop.is_set():
                    raise _Stopped
                for i in range(multihash.LANES):
                    if slots[i] is None and more:
                        try:
                            # Wait for work only when idle; otherwise go on with what we have.
                            work = self.queue.get(block=not any(slots))
                        except queue.Empty:
                            break
                        if work is None:
                            more = False
                        else:
                            try:
                                slots[i] = self._open_slot(*work)
                            except BaseException as exc:
                                _answer(work[1], error=exc)
                                raise
                            hasher.start(i)
                if not any(slots):
                    return
                pieces: list[memoryview | bytes | None] = [None] * multihash.LANES
                for i, slot in enumerate(slots):
                    if slot is not None:
                        room = memoryview(plain)[i * piece_size : (i + 1) * piece_size]
                        pieces[i] = self._slot_read(slot, room)
                hasher.update(pieces)
                for i, slot in enumerate(slots):
                    if slot is None:
                        continue
                    if slot.read == _Slot.INTERIOR:
                        piece = pieces[i]
                        self.writer.write(slot.chunk, piece, cipher)  # type: ignore[arg-type]
                        slot.chunk += len(piece) // CHUNK  # type: ignore[arg-type]
                    elif slot.read == _Slot.TAIL:
                        self._slot_finish(slot, hasher.hexdigest(i))
                        slots[i] = None
        except BaseException as exc:
            # Every photo this lane holds or that waits in the queue gets an answer, so the
            # calling thread never waits for one that will not come: it raises the first
            # error it meets.
            with self.multi_lock:
                if self.broken is None and not isinstance(exc, _Stopped):
                    self.broken = exc
                    self.stop.set()
                reason = self.broken or exc
                for slot in slots:
                    if slot is not None:
                        slot.file.close()
                        _answer(slot.future, error=reason)
                while True:
                    try:
                        waiting = self.queue.get_nowait()
                    except queue.Empty:
                        break
                    if waiting is not None:
                        _answer(waiting[1], error=reason)
                # The drain may have taken the end markers meant for the other lanes.
                for _lane in range(self.lane_total):
                    self.queue.put(None)
            raise

    def _open_slot(self, p: int, future: Future[_Edges]) -> _Slot:
        part, first, end, head_size, tail_size = self._geometry(p)
        return _Slot(future, part, _open_unchanged(part), first, end, head_size, tail_size)

    def _slot_read(self, slot: _Slot, room: memoryview) -> memoryview | bytes:
        """The slot's next piece of plaintext: its head, then its interior chunks, up to
        MULTI_PIECE_CHUNKS per call, then its tail (slot.read says which)."""
        if slot.read is None:
            slot.read = _Slot.HEAD
            slot.head = _read_exact(slot.file, slot.head_size, slot.part.path)
            return slot.head
        if slot.chunk < slot.end:
            slot.read = _Slot.INTERIOR
            piece = room[: min(len(room), (slot.end - slot.chunk) * CHUNK)]
            if _readinto_exact(slot.file, piece) != len(piece):
                raise photo_changed(slot.part.path)
            return piece
        slot.read = _Slot.TAIL
        slot.tail = _read_exact(slot.file, slot.tail_size, slot.part.path)
        return slot.tail

    def _slot_finish(self, slot: _Slot, digest: str) -> None:
        with slot.file as f:
            _check_read_whole(f, slot.part)
        _answer(slot.future, _Edges(digest, slot.head, slot.tail))


class _Slot:
    """One photo in a slot of a 16-slot lane, read as head, interior chunks, tail."""

    HEAD, INTERIOR, TAIL = range(3)

    def __init__(
        self,
        future: Future[_Edges],
        part: FilePart,
        file: io.RawIOBase,
        first: int,
        end: int,
        head_size: int,
        tail_size: int,
    ) -> None:
        self.future, self.part, self.file = future, part, file
        self.chunk, self.end = first, end
        self.head_size, self.tail_size = head_size, tail_size
        self.head = self.tail = b""
        self.read: int | None = None  # what the last _slot_read gave


def _open_unchanged(part: FilePart) -> io.RawIOBase:
    """Open a photo for reading, refusing one whose size or mtime is not the layout's."""
    f = open(part.path, "rb", buffering=0)  # noqa: SIM115 (the caller closes it)
    try:
        st = os.fstat(f.fileno())
        if (st.st_size, st.st_mtime_ns) != (part.size, part.mtime_ns):
            raise photo_changed(part.path)
    except BaseException:
        f.close()
        raise
    return f


def _check_read_whole(f: io.RawIOBase, part: FilePart) -> None:
    """After the last byte the layout expects: nothing more, and not touched meanwhile."""
    if f.read(1) or os.fstat(f.fileno()).st_mtime_ns != part.mtime_ns:
        raise photo_changed(part.path)


def _answer(
    future: Future[_Edges], edges: _Edges | None = None, error: BaseException | None = None
) -> None:
    try:
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(edges)  # type: ignore[arg-type]
    except InvalidStateError:  # already answered, or cancelled by the calling thread
        pass


def _readinto_exact(f: io.RawIOBase, view: memoryview) -> int:
    done = 0
    while done < len(view):
        n = f.readinto(view[done:])
        if not n:
            break
        done += n
    return done


def _read_exact(f: io.RawIOBase, size: int, path: Path) -> bytes:
    data = bytearray(size)
    if _readinto_exact(f, memoryview(data)) != size:
        raise photo_changed(path)
    return bytes(data)
