"""Encryption at rest: the one place Genchi calls AES-GCM (D1).

Three things are encrypted, each in its own format that starts with a version byte, so
no blob of one kind can be read as another:

- **bytes** under the data key of a scope (`encrypt`, `decrypt`): field values, an
  import's uploaded file and preview report;
- **streams** under the data key of a scope (`encrypt_stream`, `decrypt_stream`, and for
  Django storage `save_encrypted_file`, `read_encrypted_file`): files of any size in
  bounded memory (photos);
- **secrets wrapped under the master key** (`wrap_secret`, `unwrap_secret`): data keys and
  organisation secret key files, re-wrapped when the master key is rotated.

Every call names a *context*: what the data is and which row it belongs to (e.g.
``"intake:file:42"``). The context and the scope are bound into the associated data, so
a ciphertext copied to another row, purpose or scope does not decrypt.

Formats (AES-256-GCM, 12-byte nonces, 16-byte tags; ‖ is concatenation)::

    AAD(header, scope, context) = header ‖ 0x00 ‖ scope label ‖ 0x00 ‖ UTF-8(context)
        scope label: "contract=<id>;organisation=<id>" or "organisation=<id>";
        "master" for wrapped secrets

    bytes (version 0x01):
        0x01 ‖ key id (16, UUID) ‖ nonce (12, random) ‖ ciphertext ‖ tag
        header = 0x01 ‖ key id

    stream (version 0x02):
        header = 0x02 ‖ key id (16) ‖ salt (16, random)
        stream key (32) ‖ nonce prefix (7) = HKDF-SHA256(data key, salt,
                                               "genchi-vault stream v1", 39 bytes)
        then chunks 0, 1, …, each AES-GCM(stream key, nonce_i, 64 KiB of plaintext, AAD):
        nonce_i = nonce prefix (7) ‖ i (4, big-endian) ‖ 0x01 for the last chunk, else 0x00
        Every chunk but the last holds exactly 64 KiB (65,552 bytes with its tag); the last
        holds 1 to 64 KiB, or 0 bytes only when the whole stream is empty.

    wrapped secret (version 0x03):
        0x03 ‖ nonce (12) ‖ ciphertext ‖ tag, under the master key
        header = 0x03, scope label "master"

    legacy (version 0x00): blobs written before key scopes, given a 0x00 byte by the
        migrations: 0x00 ‖ key id ‖ nonce ‖ ct (bytes) or 0x00 ‖ nonce ‖ ct (wrapped),
        with associated data "genchi-" ‖ context. They are read, never written; their
        key must belong to the same contract (the side is not checked: before scopes a
        contract had one key for both sides).

The stream is the STREAM construction (as in age): the chunk counter stops reordering,
dropping or swapping chunks, the last-chunk flag stops truncation at a chunk boundary
and appending, and the per-stream key and nonce prefix stop chunks moving between files.
`decrypt_stream` writes plaintext before it has seen the end: a caller must treat what
was written as unusable unless it returns (write to a temporary file, move it into place
after).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import tempfile
import uuid
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.core.files import File
from django.core.files.storage import Storage

from . import keys
from .errors import DecryptionFailed, KeyUnavailable
from .master import MasterKey
from .scopes import Scope

LEGACY = 0x00
BYTES_V1 = 0x01
STREAM_V1 = 0x02
WRAPPED_V1 = 0x03

KEY_ID = 16
NONCE = 12
TAG = 16
SALT = 16
CHUNK = 64 * 1024
_PREFIX = 7
_MAX_CHUNKS = 2**32  # the 4-byte counter
_MASTER = "master"


__all__ = [
    "DecryptionFailed",
    "KeyUnavailable",
    "blind_index",
    "decrypt",
    "decrypt_stream",
    "encrypt",
    "encrypt_stream",
    "key_scope_of",
    "new_data_key",
    "read_encrypted_file",
    "save_encrypted_file",
    "unwrap_secret",
    "wrap_secret",
]


def _aad(header: bytes, scope_label: str, context: str) -> bytes:
    return b"".join((header, b"\x00", scope_label.encode(), b"\x00", context.encode()))


def _legacy_aad(context: str) -> bytes:
    return b"genchi-" + context.encode()


def _open(key: bytes, nonce: bytes, sealed: bytes, aad: bytes) -> bytes:
    try:
        return AESGCM(key).decrypt(nonce, sealed, aad)
    except InvalidTag:
        raise DecryptionFailed("暗号文が改ざんされているか、鍵または用途が違います") from None


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def _key_for(key_id: uuid.UUID, scope: Scope, *, same_contract: bool = False) -> bytes:
    """The key named by a blob, if it belongs to `scope` (legacy: to its contract)."""
    owner = keys.key_scope(key_id)
    if owner != scope and not (same_contract and owner.contract_id == scope.contract_id):
        raise DecryptionFailed("別の契約・組織の鍵で暗号化されたデータです")
    return keys.key_by_id(key_id)


# --- bytes --------------------------------------------------------------------------------


def encrypt(scope: Scope, context: str, plaintext: bytes) -> bytes:
    """`plaintext` encrypted under the current data key of `scope`, bound to `context`."""
    key_id, key = keys.current_key(scope)
    header = bytes((BYTES_V1,)) + key_id.bytes
    nonce = os.urandom(NONCE)
    return (
        header + nonce + AESGCM(key).encrypt(nonce, plaintext, _aad(header, scope.label, context))
    )


def decrypt(scope: Scope, context: str, blob: bytes) -> bytes:
    """The plaintext of `blob`, if it was encrypted under a key of `scope` for `context`.

    Raises `DecryptionFailed`, or `KeyUnavailable` when its key has been destroyed.
    """
    blob = bytes(blob)
    if len(blob) < 1 + KEY_ID + NONCE + TAG or blob[0] not in (BYTES_V1, LEGACY):
        raise DecryptionFailed("暗号化されたデータの形式ではありません")
    key_id = uuid.UUID(bytes=blob[1 : 1 + KEY_ID])
    nonce, sealed = blob[1 + KEY_ID : 1 + KEY_ID + NONCE], blob[1 + KEY_ID + NONCE :]
    if blob[0] == LEGACY:
        key = _key_for(key_id, scope, same_contract=True)
        return _open(key, nonce, sealed, _legacy_aad(context))
    key = _key_for(key_id, scope)
    return _open(key, nonce, sealed, _aad(blob[: 1 + KEY_ID], scope.label, context))


def key_scope_of(blob: bytes) -> Scope:
    """The scope of the key a bytes blob names (for readers that know the side, not the
    contract: a model field decrypting a loaded value)."""
    blob = bytes(blob)
    if len(blob) < 1 + KEY_ID or blob[0] not in (BYTES_V1, LEGACY):
        raise DecryptionFailed("暗号化されたデータの形式ではありません")
    return keys.key_scope(uuid.UUID(bytes=blob[1 : 1 + KEY_ID]))


# --- streams ------------------------------------------------------------------------------


def _stream_cipher(key: bytes, salt: bytes) -> tuple[AESGCM, bytes]:
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32 + _PREFIX, salt=salt, info=b"genchi-vault stream v1"
    ).derive(key)
    return AESGCM(derived[:32]), derived[32:]


def _chunk_nonce(prefix: bytes, counter: int, last: bool) -> bytes:
    if counter >= _MAX_CHUNKS:
        raise ValueError("a stream holds at most 2**32 chunks (256 TiB)")
    return prefix + counter.to_bytes(4, "big") + (b"\x01" if last else b"\x00")


def _read_full(source: BinaryIO, size: int) -> bytes:
    """Up to `size` bytes, fewer only at the end of the file (short reads are retried)."""
    parts, wanted = [], size
    while wanted:
        part = source.read(wanted)
        if not part:
            break
        parts.append(part)
        wanted -= len(part)
    return b"".join(parts)


def encrypt_stream(scope: Scope, context: str, source: BinaryIO, target: BinaryIO) -> int:
    """Encrypt `source` into `target` under the current data key of `scope`, bound to
    `context`, holding two chunks in memory at most. Returns the plaintext size."""
    key_id, key = keys.current_key(scope)
    salt = os.urandom(SALT)
    header = bytes((STREAM_V1,)) + key_id.bytes + salt
    aead, prefix = _stream_cipher(key, salt)
    aad = _aad(header, scope.label, context)
    target.write(header)
    counter, total = 0, 0
    chunk = _read_full(source, CHUNK)
    while True:
        following = _read_full(source, CHUNK) if len(chunk) == CHUNK else b""
        last = not following
        target.write(aead.encrypt(_chunk_nonce(prefix, counter, last), chunk, aad))
        total += len(chunk)
        if last:
            return total
        chunk, counter = following, counter + 1


def decrypt_stream(scope: Scope, context: str, source: BinaryIO, target: BinaryIO) -> int:
    """Decrypt a stream written by `encrypt_stream` into `target`; returns the plaintext
    size. Raises `DecryptionFailed` on any change (truncation, reordering, appending,
    another file's chunk, another scope or context); what was written to `target` before
    that must then be thrown away."""
    header = _read_full(source, 1 + KEY_ID + SALT)
    if len(header) < 1 + KEY_ID + SALT or header[0] != STREAM_V1:
        raise DecryptionFailed("暗号化されたファイルの形式ではありません")
    key = _key_for(uuid.UUID(bytes=header[1 : 1 + KEY_ID]), scope)
    aead, prefix = _stream_cipher(key, header[1 + KEY_ID :])
    aad = _aad(header, scope.label, context)
    sealed_size = CHUNK + TAG
    counter, total = 0, 0
    chunk = _read_full(source, sealed_size)
    while True:
        following = _read_full(source, sealed_size) if len(chunk) == sealed_size else b""
        last = not following
        if len(chunk) < TAG or (last and len(chunk) == TAG and counter > 0):
            # Nothing after the header, or an empty chunk after a full one: cut short.
            raise DecryptionFailed("暗号化されたファイルが途中で切れています")
        try:
            plain = aead.decrypt(_chunk_nonce(prefix, counter, last), chunk, aad)
        except InvalidTag:
            raise DecryptionFailed(
                "暗号化されたファイルが改ざんされているか、途中で切れているか、鍵または用途が違います"
            ) from None
        target.write(plain)
        total += len(plain)
        if last:
            return total
        chunk, counter = following, counter + 1


def save_encrypted_file(
    storage: Storage, name: str, scope: Scope, context: str, source: BinaryIO
) -> str:
    """Encrypt `source` (a readable binary file, e.g. an upload) into `storage` as `name`.
    Returns the name the storage chose. Only ciphertext touches the disk."""
    with tempfile.TemporaryFile() as spool:
        encrypt_stream(scope, context, source, spool)
        spool.seek(0)
        return storage.save(name, File(spool, name=name))


def read_encrypted_file(
    storage: Storage, name: str, scope: Scope, context: str, target: BinaryIO
) -> int:
    """Decrypt the file `name` of `storage` into `target`; see `decrypt_stream`."""
    with storage.open(name, "rb") as source:
        return decrypt_stream(scope, context, source, target)


# --- secrets wrapped under the master key -------------------------------------------------


def wrap_secret(context: str, secret: bytes, master: MasterKey | None = None) -> bytes:
    """`secret` encrypted under the master key (the current one unless given), bound to
    `context`; `master_key_rewrappers` re-wrap such secrets when the master key rotates."""
    master = master or keys.current_master_key()
    header = bytes((WRAPPED_V1,))
    nonce = os.urandom(NONCE)
    return (
        header + nonce + AESGCM(master.key).encrypt(nonce, secret, _aad(header, _MASTER, context))
    )


def unwrap_secret(
    context: str,
    blob: bytes,
    master: MasterKey | None = None,
    *,
    legacy_context: str | None = None,
) -> bytes:
    """The secret of a `wrap_secret` blob. A legacy blob is read with `legacy_context`
    (default: `context`), the context it was bound to before this format."""
    master = master or keys.current_master_key()
    blob = bytes(blob)
    if len(blob) < 1 + NONCE + TAG or blob[0] not in (WRAPPED_V1, LEGACY):
        raise DecryptionFailed("暗号化された鍵の形式ではありません")
    nonce, sealed = blob[1 : 1 + NONCE], blob[1 + NONCE :]
    if blob[0] == LEGACY:
        return _open(master.key, nonce, sealed, _legacy_aad(legacy_context or context))
    return _open(master.key, nonce, sealed, _aad(blob[:1], _MASTER, context))


# --- equality lookups ---------------------------------------------------------------------


def blind_index(scope: Scope, value: str) -> str:
    """A keyed hash of `value` under the current key of `scope`, for equality lookups on
    encrypted values (e.g. duplicate detection) without decrypting them."""
    _, key = keys.current_key(scope)
    index_key = hashlib.sha256(b"genchi-blind-index\x00" + key).digest()
    return hmac.new(index_key, value.encode(), hashlib.sha256).hexdigest()
