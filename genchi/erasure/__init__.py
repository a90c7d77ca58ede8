"""Closing a contract (C-O7, S11, S12, W-S2): the contractor's erasure with the ward's
staff member present, the erasure certificate (PDF and signed package) and the ward's
verification of it, which closes the contract."""
