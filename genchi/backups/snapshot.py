"""Encrypted backups of a whole installation, and their restore (docs/backup.md).

A backup is one age file encrypted to the backup recipient (an X25519 public key whose
secret half is kept offline, never on the server). Inside, a tar archive:

    manifest.json        what the backup is: format, Genchi version, time, database
                         engine, the master key's id (not the key), the file list
    database.sqlite3     SQLite's online backup of the database, or
    database.pgdump      pg_dump --format=custom of the PostgreSQL database
    files/…              the data folder's files: keys other than the master key, the
                         audit anchor, job and USB files
    store/…              when photos and reports are kept in an object store instead of
                         the data folder (genchi/core/filestore.py): its objects, as
                         stored (already encrypted by the vault)

The master key is never in a backup: personal data in the database stays encrypted under
data keys that only the master key unwraps. A backup opens only with the master key it
names, kept apart (`genchi keys export-master` prints it for paper). When a contract is
erased, its data keys are destroyed and the master key is rotated; backups made before
then need the retired key, which is gone, so none of them opens again: take a new backup
after each rotation.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.files.base import File
from django.core.files.storage import storages
from django.db import connection

from genchi import __version__
from genchi.core import filestore
from genchi.package_format import age
from genchi.package_format.errors import Refused
from genchi.vault.master import MasterKey, master_key_path, read_master_key, write_master_key

FORMAT = "genchi-backup"
FORMAT_VERSION = 1
RECIPIENT_FILE = "backup.recipient"
SQLITE_MEMBER = "database.sqlite3"
PG_MEMBER = "database.pgdump"
# Never copied into a backup: the master key, the session signing key (a restored
# installation makes its own), collected static files and the live database file.
NEVER = ("keys/master.key", "secret_key")
NEVER_FOLDERS = ("static",)
# Where a backup or a restore works (inside the private data folder), never backed up.
WORK_PREFIX = "tmp-backup-"


class BackupError(Exception):
    """A backup or a restore cannot go on; the message says why and what to do."""


@dataclass(frozen=True)
class BackupSummary:
    path: Path
    size: int
    sha256: str
    engine: str
    files: int
    master_key_id: str
    created_at: str


def recipient_path() -> Path:
    return Path(settings.GENCHI_KEY_DIR) / RECIPIENT_FILE


def set_recipient(recipient: str) -> Path:
    """Keep the backup recipient (a public key: nothing secret is stored)."""
    try:
        age.parse_recipient(recipient)
    except Exception as exc:
        raise BackupError(f"age の公開鍵(age1…)ではありません: {recipient[:20]}…") from exc
    path = recipient_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.write_text(recipient.strip() + "\n")
    path.chmod(0o600)
    return path


def current_recipient() -> str:
    path = recipient_path()
    if not path.exists():
        raise BackupError(
            "バックアップの宛先(公開鍵)が設定されていません。"
            "`genchi backup init` で設定してください(docs/backup.md)。"
        )
    return path.read_text().strip()


def _data_dir() -> Path:
    return Path(settings.DATA_DIR)


def _database_file() -> Path | None:
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        return Path(db["NAME"]).resolve()
    return None


def _data_files() -> list[Path]:
    data = _data_dir()
    skip = {data / name for name in NEVER}
    live_db = _database_file()
    files = []
    for path in sorted(data.rglob("*")):
        relative = path.relative_to(data)
        top = relative.parts[0]
        if not path.is_file() or path.is_symlink() or top in NEVER_FOLDERS:
            continue
        if top.startswith(WORK_PREFIX):
            continue
        if path in skip or (live_db and path.name.startswith(live_db.name)):
            continue
        files.append(path)
    return files


def _object_store():
    """The file store when it is not inside the data folder (so not in `_data_files`)."""
    store = storages[filestore.ALIAS]
    return None if filestore.is_local(store, _data_dir()) else store


def _pg_env() -> tuple[list[str], dict[str, str]]:
    db = settings.DATABASES["default"]
    args = ["--dbname", db["NAME"]]
    if db.get("HOST"):
        args += ["--host", str(db["HOST"])]
    if db.get("PORT"):
        args += ["--port", str(db["PORT"])]
    if db.get("USER"):
        args += ["--username", str(db["USER"])]
    env = {**os.environ}
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    return args, env


def _run(command: list[str], env: dict[str, str], what: str) -> None:
    if shutil.which(command[0]) is None:
        raise BackupError(
            f"{command[0]} が見つかりません(PostgreSQL のクライアントを入れてください)。"
        )
    result = subprocess.run(command, env=env, capture_output=True, text=True)  # noqa: S603
    if result.returncode != 0:
        raise BackupError(f"{what}に失敗しました: {result.stderr.strip()[-500:]}")


def _snapshot_database(folder: Path) -> tuple[str, Path]:
    live = _database_file()
    if live is not None:
        target = folder / SQLITE_MEMBER
        # SQLite's online backup: a consistent copy while the server keeps running.
        source = sqlite3.connect(live)
        copy = sqlite3.connect(target)
        try:
            with copy:
                source.backup(copy)
        finally:
            copy.close()
            source.close()
        return "sqlite", target
    if connection.vendor != "postgresql":
        raise BackupError(
            f"このデータベース({connection.vendor})のバックアップには対応していません。"
        )
    target = folder / PG_MEMBER
    args, env = _pg_env()
    _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", "--file", str(target),
          *args], env, "pg_dump")  # fmt: skip
    return "postgresql", target


def _encrypt(plain: Path, out: Path, recipient: str) -> None:
    size = plain.stat().st_size
    tmp = out.with_name(out.name + ".partial")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        writer = age.AgeFileWriter(fd, size, recipients=[recipient])
        block = 64 * age.CHUNK_SIZE
        with plain.open("rb") as src:
            index = 0
            while chunk := src.read(block):
                writer.write(index, chunk)
                index += len(chunk) // age.CHUNK_SIZE
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    os.close(fd)
    os.replace(tmp, out)


def create_backup(out: Path) -> BackupSummary:
    """Write an encrypted backup of the installation to `out` (replaced atomically)."""
    recipient = current_recipient()
    master = read_master_key()
    out = out.resolve()
    if out.is_relative_to(_data_dir()):
        raise BackupError("バックアップはデータフォルダの外に書き出してください。")
    with tempfile.TemporaryDirectory(dir=_data_dir(), prefix=WORK_PREFIX) as tmp:
        folder = Path(tmp)
        engine, database = _snapshot_database(folder)
        files = _data_files()
        store = _object_store()
        objects = list(filestore.walk(store)) if store is not None else []
        created_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "genchi_version": __version__,
            "created_at": created_at,
            "engine": engine,
            "master_key_id": master.key_id,
            "files": [str(p.relative_to(_data_dir())) for p in files],
            "store": objects,
        }
        plain = folder / "backup.tar"
        with tarfile.open(plain, "w") as tar:
            body = json.dumps(manifest, ensure_ascii=False, indent=1).encode()
            info = tarfile.TarInfo("manifest.json")
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
            tar.add(database, arcname=database.name)
            for path in files:
                tar.add(path, arcname=f"files/{path.relative_to(_data_dir())}")
            for name in objects:
                with store.open(name, "rb") as stored:
                    info = tarfile.TarInfo(f"store/{name}")
                    info.size = stored.size
                    tar.addfile(info, stored)
        _encrypt(plain, out, recipient)
    digest = hashlib.sha256()
    with out.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return BackupSummary(out, out.stat().st_size, digest.hexdigest(), engine,
                         len(files) + len(objects), master.key_id, created_at)  # fmt: skip


@dataclass(frozen=True)
class RestoreSummary:
    engine: str
    files: int
    genchi_version: str
    created_at: str


def read_identity(text: str) -> str:
    """The age identity (AGE-SECRET-KEY-1…) in an identity file, comments allowed."""
    lines = [
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    ]
    if len(lines) != 1:
        raise BackupError("秘密鍵ファイルには AGE-SECRET-KEY-1… の行が 1 つだけ必要です。")
    try:
        age.parse_identity(lines[0])
    except Exception as exc:
        raise BackupError("age の秘密鍵(AGE-SECRET-KEY-1…)ではありません。") from exc
    return lines[0]


def _database_is_empty() -> bool:
    return not connection.introspection.table_names()


def _member_target(name: str, folder: Path) -> Path:
    # Only the members a backup has, each inside the folder it is restored into.
    normal = name.replace("\\", "/")
    if normal in ("manifest.json", SQLITE_MEMBER, PG_MEMBER):
        return folder / normal
    parts = Path(normal).parts
    if len(parts) < 2 or parts[0] not in ("files", "store") or any(p in ("..", "") for p in parts):
        raise BackupError(f"バックアップに想定しないファイルがあります: {name[:100]}")
    if Path(normal).is_absolute():
        raise BackupError(f"バックアップに想定しないファイルがあります: {name[:100]}")
    return folder / normal


def _unpack(path: Path, identity: str, folder: Path) -> dict:
    try:
        with path.open("rb") as raw:
            reader = age.AgeReader(raw, identities=[identity])
            with tarfile.open(fileobj=reader, mode="r|") as tar:
                for member in tar:
                    if not member.isfile():
                        raise BackupError(
                            f"バックアップに想定しない項目があります: {member.name[:100]}"
                        )
                    target = _member_target(member.name, folder)
                    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                    source = tar.extractfile(member)
                    with target.open("wb") as out:
                        shutil.copyfileobj(source, out, 1 << 20)
    except FileNotFoundError as exc:
        raise BackupError(f"バックアップのファイルがありません: {path.name}") from exc
    except Refused as exc:
        raise BackupError(
            "バックアップを開けません: この秘密鍵の宛先ではないか、ファイルが壊れています"
            f"({exc.detail or exc.code})。"
        ) from exc
    except tarfile.TarError as exc:
        raise BackupError(f"バックアップの中身が壊れています: {exc}") from exc
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
    except (FileNotFoundError, ValueError) as exc:
        raise BackupError("バックアップに目録(manifest.json)がありません。") from exc
    if manifest.get("format") != FORMAT or manifest.get("format_version") != FORMAT_VERSION:
        raise BackupError("Genchi のバックアップではないか、この版では読めない形式です。")
    return manifest


def restore_backup(path: Path, identity: str, master: MasterKey) -> RestoreSummary:
    """Restore `path` into this installation's data folder and database, both empty."""
    data = _data_dir()
    if master_key_path().exists() or not _database_is_empty():
        raise BackupError(
            "復元先が空ではありません。新しいデータフォルダと空のデータベースに復元してください"
            "(今のデータを上書きすることはしません)。"
        )
    with tempfile.TemporaryDirectory(dir=data, prefix=WORK_PREFIX) as tmp:
        folder = Path(tmp)
        manifest = _unpack(path, identity, folder)
        if manifest["master_key_id"] != master.key_id:
            raise BackupError(
                f"このバックアップはマスター鍵 {manifest['master_key_id']} で開きます。"
                f"指定された鍵は {master.key_id} です。バックアップの後にマスター鍵を新しくした"
                "(契約の消去など)場合、それより前のバックアップは開けません。"
            )
        engine = manifest["engine"]
        live = _database_file()
        if (engine == "sqlite") != (live is not None):
            raise BackupError(
                f"このバックアップのデータベースは {engine} です。同じ種類のデータベースに復元してください。"
            )
        copied = 0
        for relative in manifest["files"]:
            source = _member_target(f"files/{relative}", folder)
            target = data / relative
            target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            shutil.copyfile(source, target)
            target.chmod(0o600)
            copied += 1
        copied += _restore_objects(manifest.get("store", []), folder)
        if live is not None:
            connection.close()
            shutil.copyfile(folder / SQLITE_MEMBER, live)
            live.chmod(0o600)
        else:
            args, env = _pg_env()
            _run(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", *args,
                  str(folder / PG_MEMBER)], env, "pg_restore")  # fmt: skip
        write_master_key(master)
    return RestoreSummary(engine, copied, manifest["genchi_version"], manifest["created_at"])


def _restore_objects(names: list[str], folder: Path) -> int:
    """Put the backup's stored objects back through the configured file store, under
    their own names (an object already there with that name stops the restore)."""
    store = storages[filestore.ALIAS]
    for name in names:
        if store.exists(name):
            raise BackupError(
                f"復元先のファイル保管場所に同じ名前のファイルがあります({name[:100]})。"
                "空の保管場所に復元してください。"
            )
    for name in names:
        source = _member_target(f"store/{name}", folder)
        with source.open("rb") as data:
            saved = store.save(name, File(data))
        if saved != name:
            raise BackupError(f"ファイルを元の名前で戻せませんでした: {name[:100]}")
    return len(names)


def inspect_backup(path: Path, identity: str) -> dict:
    """The manifest of a backup (opens it with the identity; writes nothing that stays)."""
    with tempfile.TemporaryDirectory(dir=_data_dir(), prefix=WORK_PREFIX) as tmp:
        return _unpack(path, identity, Path(tmp))
