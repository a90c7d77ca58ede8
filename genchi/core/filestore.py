"""Where Genchi's own files live: the `genchi_files` storage (visit photos, the ward's
result photos, reports), always encrypted by the vault before they are stored.

By default a folder inside the data folder. Several hosts can instead share an
S3-compatible object store the installation runs itself (MinIO, Ceph…, docs/deploy.md):
set GENCHI_FILES_S3_BUCKET and GENCHI_FILES_S3_ENDPOINT. There is no default endpoint on
purpose: Genchi never talks to a public cloud unless an operator writes its address.
Credentials come the usual way for the S3 client (AWS_ACCESS_KEY_ID and
AWS_SECRET_ACCESS_KEY in the environment, or its configuration files), never from
Genchi's settings or database.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

from django.core.files.storage import FileSystemStorage, Storage

ALIAS = "genchi_files"


class FileStoreSettingsError(Exception):
    """The environment names an object store incompletely (shown at start-up)."""


def storage_settings(env: Mapping[str, str], data_dir: Path) -> dict:
    """The `STORAGES["genchi_files"]` entry for this environment."""
    bucket = env.get("GENCHI_FILES_S3_BUCKET", "").strip()
    if not bucket:
        return {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": data_dir / "files"},
        }
    endpoint = env.get("GENCHI_FILES_S3_ENDPOINT", "").strip()
    if not endpoint.startswith(("http://", "https://")):
        raise FileStoreSettingsError(
            "GENCHI_FILES_S3_BUCKET を使うときは GENCHI_FILES_S3_ENDPOINT に"
            "オブジェクトストレージのURL(http:// または https://)を指定してください。"
        )
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            "endpoint_url": endpoint,
            "region_name": env.get("GENCHI_FILES_S3_REGION", "us-east-1"),
            # A prefix inside the bucket, so one bucket can serve several installations.
            "location": env.get("GENCHI_FILES_S3_PREFIX", "").strip("/"),
            # MinIO and most on-premises stores address buckets by path, not by host name.
            "addressing_style": "path",
            # Names are unique per file; never overwrite one silently.
            "file_overwrite": False,
            # Objects stay private: no ACL that a bucket policy could widen, and the
            # files are only ever served through Genchi's logged views.
            "default_acl": None,
            "querystring_auth": True,
        },
    }


def is_local(storage: Storage, data_dir: Path) -> bool:
    """True when the store is a folder inside the data folder (backed up with it)."""
    if not isinstance(storage, FileSystemStorage):
        return False
    location = Path(storage.location).resolve()
    return location == data_dir.resolve() or data_dir.resolve() in location.parents


def walk(storage: Storage, folder: str = "") -> Iterator[str]:
    """Every file's name in the store, folders first-depth order (the storage API only)."""
    folders, files = storage.listdir(folder)
    for name in sorted(files):
        yield f"{folder}/{name}" if folder else name
    for name in sorted(folders):
        yield from walk(storage, f"{folder}/{name}" if folder else name)
