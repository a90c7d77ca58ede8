"""The age v1 file format (C2SP age.md), streaming, on top of `cryptography`.

Why our own implementation rather than pyrage: pyrage 1.4 streams only for X25519
recipients (encrypt_io/decrypt_io) and its passphrase mode works on whole byte strings in
memory, while packages must stream in bounded memory in both modes (W-S1 asks for the
password mode). We also need to tell a truncated file from a tampered one. The format is
small; interoperability with the `age` command and with pyrage (rage) is proven by tests,
and it passes every community test vector that applies (C2SP CCTV, tests/package_format/
test_vectors.py).

Supported: X25519 recipients and the scrypt passphrase recipient, binary (not armored)
files. Chunks are 64 KiB of plaintext, ChaCha20-Poly1305, STREAM nonces.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from .errors import Refused

MAGIC = b"age-encryption.org/v1\n"
CHUNK_SIZE = 64 * 1024
TAG_SIZE = 16
ENCRYPTED_CHUNK_SIZE = CHUNK_SIZE + TAG_SIZE
NONCE_SIZE = 16
DEFAULT_SCRYPT_WORK_FACTOR = 18  # the age command's default (about 1 s)
MAX_SCRYPT_WORK_FACTOR = 22  # upper bound a reader accepts (the spec asks for one)
MAX_HEADER_BYTES = 64 * 1024
MAX_STANZAS = 64
# Every header field is bounded before it is split, decoded or converted (a 5,000-digit
# work factor must not reach int()). Wide enough for the recipient types of the CCTV
# vectors (a post-quantum share is 1,536 characters), which a reader ignores.
MAX_HEADER_LINE = 4096  # one "-> " line, its LF included
MAX_STANZA_ARGS = 16  # the type and its arguments
MAX_ARG_CHARS = 2048
MAX_BODY_CHARS = 8192  # a stanza body, base64
MAX_WORK_FACTOR_DIGITS = 2
_KEY_CHARS = 43  # 32 bytes in unpadded base64: an X25519 share, a wrapped key, the MAC
_SALT_CHARS = 22  # 16 bytes
X25519_LABEL = b"age-encryption.org/v1/X25519"
SCRYPT_LABEL = b"age-encryption.org/v1/scrypt"

# --- bech32 (BIP 173), as used by age keys -----------------------------------------------

_BECH32_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_BECH32_GEN = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)


def _polymod(values: Iterable[int]) -> int:
    chk = 1
    for v in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            if (top >> i) & 1:
                chk ^= _BECH32_GEN[i]
    return chk


def _hrp_expand(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def _convert_bits(data: Iterable[int], frombits: int, tobits: int, pad: bool) -> list[int]:
    acc = bits = 0
    out: list[int] = []
    maxv = (1 << tobits) - 1
    for value in data:
        acc = (acc << frombits) | value
        bits += frombits
        while bits >= tobits:
            bits -= tobits
            out.append((acc >> bits) & maxv)
    if pad:
        if bits:
            out.append((acc << (tobits - bits)) & maxv)
    elif bits >= frombits or ((acc << (tobits - bits)) & maxv):
        raise ValueError("invalid bech32 padding")
    return out


def bech32_encode(hrp: str, payload: bytes) -> str:
    data = _convert_bits(payload, 8, 5, True)
    pm = _polymod(_hrp_expand(hrp) + data + [0] * 6) ^ 1
    checksum = [(pm >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(_BECH32_CHARSET[d] for d in data + checksum)


def bech32_decode(text: str) -> tuple[str, bytes]:
    """Decode a bech32 string (no length limit, as age uses it). Raises ValueError."""
    if text.lower() != text and text.upper() != text:
        raise ValueError("mixed case")
    text = text.lower()
    pos = text.rfind("1")
    if pos < 1 or pos + 7 > len(text):
        raise ValueError("no separator")
    hrp, rest = text[:pos], text[pos + 1 :]
    if any(ord(c) < 33 or ord(c) > 126 for c in hrp):
        raise ValueError("bad hrp")
    try:
        data = [_BECH32_CHARSET.index(c) for c in rest]
    except ValueError:
        raise ValueError("bad character") from None
    if _polymod(_hrp_expand(hrp) + data) != 1:
        raise ValueError("bad checksum")
    return hrp, bytes(_convert_bits(data[:-6], 5, 8, False))


def parse_recipient(text: str) -> bytes:
    """'age1…' -> the 32-byte X25519 public key. Raises ValueError."""
    if text != text.strip() or not text.startswith("age1"):
        raise ValueError("not an age X25519 recipient")
    hrp, key = bech32_decode(text)
    if hrp != "age" or len(key) != 32:
        raise ValueError("not an age X25519 recipient")
    return key


def parse_identity(text: str) -> bytes:
    """'AGE-SECRET-KEY-1…' -> the 32-byte X25519 secret. Raises ValueError."""
    text = text.strip()
    if not text.startswith("AGE-SECRET-KEY-1"):
        raise ValueError("not an age X25519 identity")
    hrp, key = bech32_decode(text)
    if hrp != "age-secret-key-" or len(key) != 32:
        raise ValueError("not an age X25519 identity")
    return key


def encode_recipient(public: bytes) -> str:
    return bech32_encode("age", public)


def encode_identity(secret: bytes) -> str:
    return bech32_encode("age-secret-key-", secret).upper()


def identity_to_recipient(identity: str) -> str:
    secret = X25519PrivateKey.from_private_bytes(parse_identity(identity))
    return encode_recipient(secret.public_key().public_bytes_raw())


def generate_identity() -> str:
    return encode_identity(X25519PrivateKey.generate().private_bytes_raw())


# --- primitives ---------------------------------------------------------------------------


def _b64e(data: bytes) -> bytes:
    return base64.b64encode(data).rstrip(b"=")


_B64_RE = re.compile(rb"[A-Za-z0-9+/]*")


def _b64d(text: bytes) -> bytes:
    """Strict, canonical, unpadded base64 as the spec requires. Raises ValueError."""
    if not _B64_RE.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError("bad base64")
    data = base64.b64decode(text + b"=" * (-len(text) % 4), validate=True)
    if _b64e(data) != text:
        raise ValueError("non-canonical base64")
    return data


def _hkdf(ikm: bytes, salt: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(ikm)


def _stream_nonce(counter: int, last: bool) -> bytes:
    return counter.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


_ZERO_NONCE = bytes(12)


@dataclass(frozen=True)
class Stanza:
    type: str
    args: tuple[bytes, ...]
    body: bytes

    def encode(self) -> bytes:
        line = b"-> " + b" ".join((self.type.encode(), *self.args)) + b"\n"
        b64 = _b64e(self.body)
        lines = [b64[i : i + 64] for i in range(0, len(b64), 64)]
        if not lines or len(lines[-1]) == 64:
            lines.append(b"")  # the body ends with a line shorter than 64 columns
        return line + b"".join(part + b"\n" for part in lines)


def _x25519_stanza(file_key: bytes, recipient: bytes) -> Stanza:
    ephemeral = X25519PrivateKey.generate()
    share = ephemeral.public_key().public_bytes_raw()
    shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(recipient))
    wrap = _hkdf(shared, share + recipient, X25519_LABEL)
    body = ChaCha20Poly1305(wrap).encrypt(_ZERO_NONCE, file_key, None)
    return Stanza("X25519", (_b64e(share),), body)


def _scrypt_key(passphrase: str, salt: bytes, work_factor: int) -> bytes:
    kdf = Scrypt(salt=SCRYPT_LABEL + salt, length=32, n=1 << work_factor, r=8, p=1)
    return kdf.derive(passphrase.encode("utf-8"))


def _scrypt_stanza(file_key: bytes, passphrase: str, work_factor: int) -> Stanza:
    salt = os.urandom(16)
    wrap = _scrypt_key(passphrase, salt, work_factor)
    body = ChaCha20Poly1305(wrap).encrypt(_ZERO_NONCE, file_key, None)
    return Stanza("scrypt", (_b64e(salt), str(work_factor).encode()), body)


def _header(file_key: bytes, stanzas: Sequence[Stanza]) -> bytes:
    head = MAGIC + b"".join(s.encode() for s in stanzas) + b"---"
    mac = hmac.new(_hkdf(file_key, b"", b"header"), head, hashlib.sha256).digest()
    return head + b" " + _b64e(mac) + b"\n"


# --- writing ------------------------------------------------------------------------------


class AgeFileWriter:
    """Writes an age file whose plaintext size is known in advance, in any order.

    Give X25519 `recipients` ("age1…") or a `passphrase` (scrypt), not both. Every chunk's
    place in the file and its nonce follow from its index alone, so write() puts any run of
    chunks straight where it belongs (os.pwrite), from any thread: write_package encrypts
    photos on several threads and the manifest last. The header is written at once; the
    file is complete when every chunk has been written once.

    A chunk is encrypted at most once: its nonce is its index, so encrypting another
    plaintext at the same index would reuse a nonce under the same key and give away both
    plaintexts' XOR and the key of the authenticator. A second encryption of an index is
    refused (ValueError), whichever thread asks.
    """

    def __init__(
        self,
        fd: int,
        plaintext_size: int,
        *,
        recipients: Sequence[str] = (),
        passphrase: str | None = None,
        scrypt_work_factor: int = DEFAULT_SCRYPT_WORK_FACTOR,
    ) -> None:
        if bool(recipients) == (passphrase is not None):
            raise ValueError("give either recipients or a passphrase")
        if plaintext_size < 0:
            raise ValueError("negative size")
        file_key = os.urandom(16)
        if passphrase is not None:
            if not passphrase:
                raise ValueError("empty passphrase")
            if not 1 <= scrypt_work_factor <= MAX_SCRYPT_WORK_FACTOR:
                raise ValueError("scrypt work factor out of range")
            stanzas = [_scrypt_stanza(file_key, passphrase, scrypt_work_factor)]
        else:
            stanzas = [_x25519_stanza(file_key, parse_recipient(r)) for r in recipients]
        nonce = os.urandom(NONCE_SIZE)
        self._aead = ChaCha20Poly1305(_hkdf(file_key, nonce, b"payload"))
        self._fd = fd
        head = _header(file_key, stanzas) + nonce
        self._payload_offset = len(head)
        self.plaintext_size = plaintext_size
        self.chunk_count = _chunks_for(plaintext_size)
        self.file_size = self._payload_offset + _encrypted_size(plaintext_size)
        self._encrypted = bytearray(self.chunk_count)  # 1 where a chunk's nonce was used
        self._encrypted_lock = threading.Lock()
        _pwrite_all(fd, head, 0)

    def _claim_nonces(self, first_chunk: int, chunks: int) -> None:
        """Mark chunks first_chunk … first_chunk + chunks - 1 as encrypted, or refuse if
        any of them was before (nonce reuse)."""
        with self._encrypted_lock:
            span = self._encrypted[first_chunk : first_chunk + chunks]
            if any(span):
                again = first_chunk + span.index(1)
                raise ValueError(f"chunk {again} is already encrypted: a nonce is used once")
            self._encrypted[first_chunk : first_chunk + chunks] = b"\x01" * chunks

    def encrypt_into(self, first_chunk: int, plaintext: memoryview, out: memoryview) -> int:
        """Encrypt `plaintext`, which starts at chunk `first_chunk`, into `out`; returns
        the number of bytes produced. The plaintext is whole chunks, except that it may
        end where the file's plaintext ends."""
        size = len(plaintext)
        start = first_chunk * CHUNK_SIZE
        if first_chunk < 0 or start + size > self.plaintext_size:
            raise ValueError("chunks outside the file")
        chunks = _chunks_for(size)
        ends_file = start + size == self.plaintext_size
        if (size % CHUNK_SIZE and not ends_file) or (not size and self.plaintext_size):
            raise ValueError("a write must be whole chunks, except the file's last")
        produced = _encrypted_size(size)
        if len(out) < produced:
            raise ValueError("output buffer too small")
        self._claim_nonces(first_chunk, chunks)
        last_index = self.chunk_count - 1
        encrypt = self._aead.encrypt_into
        pos = 0
        for i in range(chunks):
            index = first_chunk + i
            piece = plaintext[i * CHUNK_SIZE : (i + 1) * CHUNK_SIZE]
            end = pos + len(piece) + TAG_SIZE
            encrypt(_stream_nonce(index, index == last_index), piece, None, out[pos:end])
            pos = end
        return produced

    def write(
        self,
        first_chunk: int,
        plaintext: bytes | bytearray | memoryview,
        scratch: bytearray | None = None,
    ) -> None:
        """Encrypt `plaintext` (as for encrypt_into) and write it in its place in the
        file. `scratch` (at least the ciphertext's size) saves an allocation per call."""
        view = memoryview(plaintext).cast("B")
        out = scratch if scratch is not None else bytearray(_encrypted_size(len(view)))
        produced = self.encrypt_into(first_chunk, view, memoryview(out))
        _pwrite_all(self._fd, memoryview(out)[:produced], self.chunk_offset(first_chunk))

    def chunk_offset(self, index: int) -> int:
        """Where chunk `index` starts in the file."""
        return self._payload_offset + index * ENCRYPTED_CHUNK_SIZE

    @property
    def fd(self) -> int:
        """The file descriptor written to."""
        return self._fd


def _chunks_for(size: int) -> int:
    # An empty stream still has one (empty, last) chunk; a last chunk may be full-size.
    return max(1, -(-size // CHUNK_SIZE))


def _encrypted_size(plaintext_size: int) -> int:
    """Payload bytes for `plaintext_size` bytes of plaintext: a tag per chunk."""
    return plaintext_size + _chunks_for(plaintext_size) * TAG_SIZE


def _pwrite_all(fd: int, data: bytes | memoryview, offset: int) -> None:
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        view, offset = view[written:], offset + written


# --- reading ------------------------------------------------------------------------------


class _HashingSource:
    """Reads the raw file and keeps the SHA-256 of every byte read (unless `hashing` is
    off: then `hash` is None)."""

    def __init__(self, raw: BinaryIO, hashing: bool = True) -> None:
        self._raw = raw
        self.hash = hashlib.sha256() if hashing else None
        self.consumed = 0

    def read(self, n: int) -> bytes:
        parts: list[bytes] = []
        want = n
        while want > 0:
            data = self._raw.read(want)
            if not data:
                break
            parts.append(data)
            want -= len(data)
        out = parts[0] if len(parts) == 1 else b"".join(parts)
        if self.hash is not None:
            self.hash.update(out)
        self.consumed += len(out)
        return out

    def readline(self, limit: int) -> bytes:
        line = self._raw.readline(limit)  # type: ignore[call-arg]
        if self.hash is not None:
            self.hash.update(line)
        self.consumed += len(line)
        return line


@dataclass(frozen=True)
class AgeHeader:
    stanzas: tuple[Stanza, ...]
    mac_input: bytes  # the header up to and including "---"
    mac: bytes

    @property
    def mode(self) -> str:
        """'scrypt' (passphrase), 'x25519' or 'other'."""
        types = {s.type for s in self.stanzas}
        if types == {"scrypt"}:
            return "scrypt"
        if types == {"X25519"}:
            return "x25519"
        return "other"


def _refuse_format(detail: str) -> Refused:
    return Refused("unknown_format", detail=detail, reason="not_age")


def _too_long(field: str) -> Refused:
    """A header field longer than any valid one (section 13 of docs/package-format.md)."""
    return Refused(
        "unknown_format", detail=f"{field} too long", reason="header_field_too_long", field=field
    )


def read_header(src: _HashingSource) -> AgeHeader:
    first = src.readline(len(MAGIC))
    if first != MAGIC:
        if MAGIC.startswith(first):
            raise Refused("truncated", detail="eof in version line")
        if first.startswith(b"-----BEGIN AGE"):
            raise Refused("unknown_format", detail="armored file", reason="armored")
        raise _refuse_format("not an age v1 file")
    head = bytearray(first)
    stanzas: list[Stanza] = []
    while True:
        line = src.readline(MAX_HEADER_LINE)
        if not line.endswith(b"\n"):
            if len(line) < MAX_HEADER_LINE:
                raise Refused("truncated", detail="eof in header")
            raise _too_long("header line")
        if len(head) + len(line) > MAX_HEADER_BYTES:
            raise _refuse_format("header too long")
        if line.startswith(b"--- "):
            head += b"---"
            encoded_mac = line[4:-1]
            if len(encoded_mac) != _KEY_CHARS or not stanzas:
                raise _refuse_format("bad header end")
            try:
                mac = _b64d(encoded_mac)
            except ValueError:
                raise _refuse_format("bad header mac encoding") from None
            return AgeHeader(tuple(stanzas), bytes(head), mac)
        if not line.startswith(b"-> "):
            raise _refuse_format("bad header line")
        head += line
        if line.count(b" ") > MAX_STANZA_ARGS:
            raise _too_long("stanza arguments")
        args = line[3:-1].split(b" ")
        if any(len(a) > MAX_ARG_CHARS for a in args):
            raise _too_long("stanza argument")
        if any(not a or any(c < 0x21 or c > 0x7E for c in a) for a in args):
            raise _refuse_format("bad stanza arguments")
        body_text = bytearray()
        while True:
            bl = src.readline(66)
            if not bl.endswith(b"\n"):
                if len(bl) < 66:
                    raise Refused("truncated", detail="eof in stanza")
                raise _refuse_format("stanza line too long")
            if len(bl) - 1 > 64:
                raise _refuse_format("stanza line too long")
            head += bl
            body_text += bl[:-1]
            if len(bl) - 1 < 64:
                break
            if len(body_text) > MAX_BODY_CHARS:
                raise _too_long("stanza body")
            if len(head) > MAX_HEADER_BYTES:
                raise _refuse_format("header too long")
        try:
            body = _b64d(bytes(body_text))
        except ValueError:
            raise _refuse_format("bad stanza body") from None
        stanzas.append(Stanza(args[0].decode("ascii"), tuple(args[1:]), body))
        if len(stanzas) > MAX_STANZAS:
            raise _refuse_format("too many stanzas")


def _unwrap(
    header: AgeHeader, identities: Sequence[str], passphrase: str | None, max_work: int
) -> bytes:
    types = [s.type for s in header.stanzas]
    if "scrypt" in types:
        if len(types) != 1:
            raise _refuse_format("scrypt stanza mixed with others")
        if passphrase is None:
            raise Refused("wrong_key", reason="passphrase_needed")
        st = header.stanzas[0]
        if len(st.args) != 2:
            raise _refuse_format("bad scrypt stanza")
        if len(st.args[1]) > MAX_WORK_FACTOR_DIGITS:
            raise _too_long("scrypt work factor")
        if not re.fullmatch(rb"[1-9][0-9]?", st.args[1]) or len(st.args[0]) != _SALT_CHARS:
            raise _refuse_format("bad scrypt stanza")
        try:
            salt = _b64d(st.args[0])
        except ValueError:
            raise _refuse_format("bad scrypt salt") from None
        work = int(st.args[1])
        if len(salt) != 16 or len(st.body) != 32:
            raise _refuse_format("bad scrypt stanza")
        if work > max_work:
            raise Refused(
                "unknown_format",
                detail=f"scrypt work factor {work} > {max_work}",
                reason="work_factor",
                work=work,
                max_work=max_work,
            )
        try:
            return ChaCha20Poly1305(_scrypt_key(passphrase, salt, work)).decrypt(
                _ZERO_NONCE, st.body, None
            )
        except InvalidTag:
            raise Refused("wrong_key", reason="wrong_passphrase") from None
    if not identities:
        raise Refused("wrong_key", reason="key_needed")
    secrets = [X25519PrivateKey.from_private_bytes(parse_identity(i)) for i in identities]
    for st in header.stanzas:
        if st.type != "X25519":
            continue  # other recipient types are ignored, as the spec says
        if len(st.args) != 1 or len(st.args[0]) != _KEY_CHARS:
            raise _refuse_format("bad X25519 stanza")
        try:
            share = _b64d(st.args[0])
        except ValueError:
            raise _refuse_format("bad X25519 share") from None
        if len(share) != 32 or len(st.body) != 32:
            raise _refuse_format("bad X25519 stanza")
        for secret in secrets:
            try:
                shared = secret.exchange(X25519PublicKey.from_public_bytes(share))
            except ValueError:  # all-zero shared secret: the spec says abort
                raise _refuse_format("low-order X25519 share") from None
            ours = secret.public_key().public_bytes_raw()
            wrap = _hkdf(shared, share + ours, X25519_LABEL)
            try:
                return ChaCha20Poly1305(wrap).decrypt(_ZERO_NONCE, st.body, None)
            except InvalidTag:
                continue
    raise Refused("wrong_key", reason="other_recipient")


class AgeReader:
    """Decrypts an age file chunk by chunk: read(n) gives plaintext, b"" at the end.

    Every chunk is authenticated before any of its bytes are returned; the end of the
    stream is reached only after a valid final chunk (truncation is an error).
    With `hash_file` (the default), `sha256` (hex, whole encrypted file) is available once
    the end is reached; package reading turns it off (it checks the manifest digest).
    """

    def __init__(
        self,
        raw: BinaryIO,
        *,
        identities: Sequence[str] = (),
        passphrase: str | None = None,
        max_work_factor: int = MAX_SCRYPT_WORK_FACTOR,
        hash_file: bool = True,
    ) -> None:
        self._src = _HashingSource(raw, hash_file)
        self.header = read_header(self._src)
        file_key = _unwrap(self.header, identities, passphrase, max_work_factor)
        mac_key = _hkdf(file_key, b"", b"header")
        expected = hmac.new(mac_key, self.header.mac_input, hashlib.sha256).digest()
        if not hmac.compare_digest(expected, self.header.mac):
            raise Refused("tampered", detail="header MAC", reason="header_mac")
        nonce = self._src.read(NONCE_SIZE)
        if len(nonce) != NONCE_SIZE:
            raise Refused("truncated", detail="eof before payload nonce")
        self._aead = ChaCha20Poly1305(_hkdf(file_key, nonce, b"payload"))
        self._counter = 0
        self._ahead = self._src.read(ENCRYPTED_CHUNK_SIZE)
        self._chunk, self._pos = b"", 0
        self._done = False
        self._failed: Refused | None = None  # raised at the next chunk (_misplaced_end)
        self.sha256: str | None = None

    def _next_chunk(self) -> None:
        if self._failed is not None:
            raise self._failed
        cur = self._ahead
        if len(cur) < TAG_SIZE:
            raise Refused("truncated", detail=f"chunk {self._counter} missing")
        # Read one chunk ahead to know whether this one is the last.
        self._ahead = (
            self._src.read(ENCRYPTED_CHUNK_SIZE) if len(cur) == ENCRYPTED_CHUNK_SIZE else b""
        )
        last = not self._ahead
        try:
            plain = self._aead.decrypt(_stream_nonce(self._counter, last), cur, None)
        except InvalidTag:
            plain = self._misplaced_end(cur, last)
            last = False  # the stream does not end well here: the next read raises
        if last and not plain and self._counter > 0:
            raise Refused("tampered", detail="empty final chunk")
        self._counter += 1
        if last:
            self._done = True
            if self._src.hash is not None:
                self.sha256 = self._src.hash.hexdigest()
        self._chunk, self._pos = plain, 0

    def _misplaced_end(self, cur: bytes, last: bool) -> bytes:
        """A chunk that does not authenticate where it stands. A full chunk that does with
        the other flag is released (as the reference implementation does, the vectors
        check it) and the stream fails at the next read: a final chunk followed by more
        data (tampered), or a file cut right after a chunk that is not the final one
        (truncated). Anything else fails now."""
        if not last or len(cur) == ENCRYPTED_CHUNK_SIZE:
            try:
                plain = self._aead.decrypt(_stream_nonce(self._counter, not last), cur, None)
            except InvalidTag:
                raise Refused("tampered", detail=f"chunk {self._counter}") from None
            if last:
                self._failed = Refused("truncated", detail="cut at a chunk boundary")
            else:
                self._failed = Refused("tampered", detail="data after the final chunk")
            return plain
        # Genchi pads its archives to whole chunks, so a short final chunk that does not
        # authenticate means the file was cut.
        raise Refused("truncated", detail="short final chunk")

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            parts = []
            while part := self.read(1 << 20):
                parts.append(part)
            return b"".join(parts)
        while self._pos >= len(self._chunk) and not self._done:
            self._next_chunk()
        if self._pos == 0 and n >= len(self._chunk):
            out = self._chunk  # the whole chunk: hand it over without copying
        else:
            out = self._chunk[self._pos : self._pos + n]
        self._pos += len(out)
        return out

    def readinto(self, buf: bytearray | memoryview) -> int:
        out = self.read(len(buf))
        memoryview(buf).cast("B")[: len(out)] = out
        return len(out)

    def drain(self) -> str | None:
        """Read (and authenticate) to the end; returns the whole-file SHA-256 (None when
        hash_file is off)."""
        while not self._done:
            self._next_chunk()
        self._pos = len(self._chunk)
        return self.sha256

    @property
    def at_end(self) -> bool:
        return self._done and self._pos >= len(self._chunk)
