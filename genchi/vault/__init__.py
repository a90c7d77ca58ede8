"""The vault: personal data encrypted at rest, by key scope, under a master key (D1).

Public API::

    from genchi import vault

    scope = vault.contract_scope(contract.pk, "ward")   # the ward's side of a contract
    scope = vault.organisation_scope(organisation.pk)   # what belongs to no contract

    blob = vault.encrypt(scope, f"intake:file:{run.pk}", data)       # bytes
    data = vault.decrypt(scope, f"intake:file:{run.pk}", blob)
    vault.encrypt_stream(scope, f"photo:{photo.pk}", source, target)  # files, any size
    vault.decrypt_stream(scope, f"photo:{photo.pk}", source, target)
    name = vault.save_encrypted_file(storage, name, scope, context, upload)
    vault.read_encrypted_file(storage, name, scope, context, target)
    blob = vault.wrap_secret(f"org-keys:{org.code}", secret)          # under the master key
    secret = vault.unwrap_secret(f"org-keys:{org.code}", blob)
    vault.blind_index(scope, text)                                     # equality lookups
    vault.destroy_contract_keys(contract, organisation)                # crypto-erasure

- A *scope* owns data keys: one side (ward or contractor) of a contract, or an
  organisation alone. One side's erasure leaves the other side's data readable.
- A *context* says what the data is and which row it belongs to; it is bound into the
  ciphertext with the scope, so a blob moved elsewhere does not decrypt.
- `EncryptedTextField(holder="ward", row_field="ref")` (`genchi.vault.fields`) encrypts a
  model's text columns under its side's key of the row's contract, bound to the row.
- Failures: `DecryptionFailed` (altered, moved, or another scope's key),
  `KeyUnavailable` (the key was destroyed: crypto-erased), `MasterKeyError`.

Modules: `encryption` (the formats and every AES-GCM call, documented there and in
docs/security.md), `keys` (data keys by scope, master-key rotation, destruction),
`scopes`, `master` (the master key file), `fields`, `models` (`DataKey`).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .encryption import (
        blind_index,
        decrypt,
        decrypt_stream,
        encrypt,
        encrypt_stream,
        read_encrypted_file,
        save_encrypted_file,
        unwrap_secret,
        wrap_secret,
    )
    from .errors import DecryptionFailed, KeyUnavailable
    from .keys import (
        contract_scope,
        current_master_key,
        destroy_contract_keys,
        destroy_keys,
        master_key_rewrappers,
        organisation_scope,
        rotate_master_key,
        scope_of,
    )
    from .master import MasterKey, MasterKeyError
    from .scopes import CONTRACTOR, WARD, Scope

__all__ = [
    "CONTRACTOR",
    "WARD",
    "DecryptionFailed",
    "KeyUnavailable",
    "MasterKey",
    "MasterKeyError",
    "Scope",
    "blind_index",
    "contract_scope",
    "current_master_key",
    "decrypt",
    "decrypt_stream",
    "destroy_contract_keys",
    "destroy_keys",
    "encrypt",
    "encrypt_stream",
    "master_key_rewrappers",
    "organisation_scope",
    "read_encrypted_file",
    "rotate_master_key",
    "save_encrypted_file",
    "scope_of",
    "unwrap_secret",
    "wrap_secret",
]

# Loaded on first use: this package is imported while Django is still loading its apps,
# before the models that the key store needs can be.
_MODULE_OF = {
    "CONTRACTOR": "scopes",
    "WARD": "scopes",
    "Scope": "scopes",
    "DecryptionFailed": "errors",
    "KeyUnavailable": "errors",
    "MasterKey": "master",
    "MasterKeyError": "master",
    "blind_index": "encryption",
    "decrypt": "encryption",
    "decrypt_stream": "encryption",
    "encrypt": "encryption",
    "encrypt_stream": "encryption",
    "read_encrypted_file": "encryption",
    "save_encrypted_file": "encryption",
    "unwrap_secret": "encryption",
    "wrap_secret": "encryption",
    "contract_scope": "keys",
    "current_master_key": "keys",
    "destroy_contract_keys": "keys",
    "destroy_keys": "keys",
    "master_key_rewrappers": "keys",
    "organisation_scope": "keys",
    "rotate_master_key": "keys",
    "scope_of": "keys",
}


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'genchi.vault' has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{module}"), name)
