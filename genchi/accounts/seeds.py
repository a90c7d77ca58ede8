"""Second-factor seeds, encrypted through the vault (never kept in plain, D1).

A seed is encrypted under the data key of the person's organisation
(`organisation_scope`), bound to the person: a seed copied to another person's device
row does not decrypt. Someone without an organisation (an operator made with
`createsuperuser`) has theirs wrapped under the master key instead.
"""

from __future__ import annotations

from genchi import vault


def _context(user_id: int) -> str:
    return f"accounts:totp-seed:{user_id}"


def seal_seed(user_id: int, organisation_id: int | None, seed: bytes) -> bytes:
    if organisation_id is None:
        return vault.wrap_secret(_context(user_id), seed)
    return vault.encrypt(vault.organisation_scope(organisation_id), _context(user_id), seed)


def open_seed(user_id: int, organisation_id: int | None, sealed: bytes) -> bytes:
    """Raises `genchi.vault.DecryptionFailed` for a seed that is not this person's."""
    if organisation_id is None:
        return vault.unwrap_secret(_context(user_id), bytes(sealed))
    scope = vault.organisation_scope(organisation_id)
    return vault.decrypt(scope, _context(user_id), bytes(sealed))
