"""The survey's results back at the ward (J5): the result package's receiver, each case's
outcome, visits and photos, the summary by outcome and prefecture, and the export to the
tax system.

Reconciliation (`receiving.py`): a result package answers one cases package of the same
contract and must hold a record for each case that package carried, and no other.
"""
