"""Where a data key belongs: its scope (decision D1). Plain values, no database.

A scope is either one side of a contract (contract × organisation) or an organisation
alone. Where one installation hosts both the ward and the contractor, each side's data
of a contract is under its own key, so the contractor's erasure leaves the ward's
records whole; an organisation's own key holds what belongs to no contract.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# The two sides of a contract that can hold its data; a model's encrypted fields name one.
WARD = "ward"
CONTRACTOR = "contractor"
HOLDERS = (WARD, CONTRACTOR)


@dataclass(frozen=True)
class Scope:
    """The owner of a data key: `organisation_id`, on `contract_id` when not None."""

    organisation_id: int
    contract_id: int | None = None
    # Bound into every ciphertext's associated data and into the key's wrapping.
    label: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.contract_id is None:
            label = f"organisation={self.organisation_id}"
        else:
            label = f"contract={self.contract_id};organisation={self.organisation_id}"
        object.__setattr__(self, "label", label)

    @property
    def is_contract(self) -> bool:
        return self.contract_id is not None
