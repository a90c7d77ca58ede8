"""The Genchi package format (D4): encrypted, signed handover packages, as a library.

The specification, complete enough for another implementation, is
docs/package-format.md; this package is its reference implementation. It knows nothing
of Django, the database or Genchi's apps (tests/package_format/test_independent.py): it
reads and writes files, and refuses bad ones with a stable code, never with words. The
application chooses the words in its user's language (genchi/transfer/refusals.py).

Layers of a package file, outside in::

    <name>.genchi.age          the file on the stick
    └─ age v1 (binary)         X25519 recipients, or one scrypt passphrase      age.py
       └─ ustar archive        a strict subset, padded to whole 64 KiB chunks   archive.py
          ├─ manifest.json     canonical JSON: every member's size and SHA-256  manifest.py
          ├─ manifest.sig      Ed25519 signature of manifest.json               manifest.py
          ├─ records.jsonl     one record per line                              records.py
          ├─ records.csv       the same records for spreadsheet software        records.py
          └─ photos/…          results only

Public API::

    from genchi.package_format import write_package, open_package, Refused

    written = write_package(kind="cases", contract="K1", sender="WARD01",
                            recipient="CON01", records=rows, signing_key=ward.signing,
                            out_dir=stick, recipients=[contractor_card.age_recipient])
    written.digest              # for the handover slip: SHA-256 of the signed manifest

    package = open_package(path, sender_key=ward_card, expected_contract="K1",
                           expected_recipient="CON01", identity=contractor.encryption,
                           already_imported=seen_ids)   # every check; stores nothing
    for record in package.iter_records(): ...           # second pass, checked again

- writer.py: `write_package` → `WrittenPackage`; `PhotoSource` names a photo to pack.
- reader.py: `open_package` → `VerifiedPackage` (`iter_records`, `read_all` →
  `PackageContents`), `read_package` (both at once), `read_signed_manifest` →
  `SignedManifest` (the manifest once its signature verified, to learn what to expect),
  `inspect_package` → `PackageInfo` (no personal data), `file_sha256`.
- keys.py: an organisation's key pairs (`generate_organisation_keys`,
  `OrganisationKeys`) and the public key card exchanged with a partner
  (`PublicKeyCard`, `parse_public_key_card`).
- errors.py: every refusal is `Refused(code, …)`: `code` stable and listed (`CODES`),
  `reason` the precise check, `params` the values a message may name, `detail` for the
  log. An application adds codes for its own refusals with `register_codes`.

    try:
        package = open_package(…)
    except Refused as exc:
        log(exc.code, exc.detail); show(words_for(exc.code, exc.reason, exc.params))
"""

from __future__ import annotations

from genchi.package_format.errors import CODES, Refused, register_codes
from genchi.package_format.keys import (
    EncryptionKeyPair,
    OrganisationKeys,
    PublicKeyCard,
    SigningKeyPair,
    generate_organisation_keys,
    parse_public_key_card,
)
from genchi.package_format.manifest import Manifest, MemberEntry, package_digest
from genchi.package_format.reader import (
    ExtractedPhoto,
    PackageContents,
    PackageInfo,
    SignedManifest,
    VerifiedPackage,
    file_sha256,
    inspect_package,
    open_package,
    read_package,
    read_signed_manifest,
)
from genchi.package_format.writer import FILE_SUFFIX, PhotoSource, WrittenPackage, write_package

__all__ = [
    "CODES",
    "FILE_SUFFIX",
    "EncryptionKeyPair",
    "ExtractedPhoto",
    "Manifest",
    "MemberEntry",
    "OrganisationKeys",
    "PackageContents",
    "PackageInfo",
    "PhotoSource",
    "PublicKeyCard",
    "Refused",
    "SignedManifest",
    "SigningKeyPair",
    "VerifiedPackage",
    "WrittenPackage",
    "file_sha256",
    "generate_organisation_keys",
    "inspect_package",
    "open_package",
    "package_digest",
    "parse_public_key_card",
    "read_package",
    "read_signed_manifest",
    "register_codes",
    "write_package",
]
