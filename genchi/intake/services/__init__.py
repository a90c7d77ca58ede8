"""Writes of the intake, by responsibility:

- `imports`: the one import path (`check_file`: read, prove every row, store all or none);
- `runs`: import runs in the UI (upload → check → commit, as jobs) and the CLI's one-go
  import;
- `cases`: correcting a case's address by hand;
- `batches`: survey batches (create, fill by priority, seal, delete).

The names below are the intake's public write API; import them from here.
"""

from ..models import PRIORITIES
from .batches import (
    Added,
    add_cases,
    create_batch,
    delete_batch,
    eligible_cases,
    eligible_count,
    fill_by_condition,
    order_by_priority,
    remove_cases,
    seal_batch,
)
from .cases import EDITABLE_CASE_STATUSES, correct_address, mark_results_received
from .imports import ImportOptions, ImportReport, check_file, summary_message
from .runs import (
    check_run,
    claim_commit,
    commit_run,
    create_run,
    import_file,
    report_of,
    save_preset,
    set_run_mapping,
    start_check,
    start_commit,
)

__all__ = [
    "mark_results_received",
    "EDITABLE_CASE_STATUSES",
    "PRIORITIES",
    "Added",
    "ImportOptions",
    "ImportReport",
    "add_cases",
    "check_file",
    "check_run",
    "claim_commit",
    "commit_run",
    "correct_address",
    "create_batch",
    "create_run",
    "delete_batch",
    "eligible_cases",
    "eligible_count",
    "fill_by_condition",
    "import_file",
    "order_by_priority",
    "remove_cases",
    "report_of",
    "save_preset",
    "seal_batch",
    "set_run_mapping",
    "start_check",
    "start_commit",
    "summary_message",
]
