"""Writes of the handover, by responsibility:

- `outgoing`: sending a package (an item of a registered source, or the results);
- `incoming`: receiving one (every check, then the kind's registered receiver stores it);
- `slips`: handover slips (issue, mark received, confirm against the paper);
- `inspect`: looking into a package without importing it;
- `common`: what a refusal is, and what every step shares;
- `handover_jobs`: export and import asked on a page and done by a worker (genchi.jobs).

What a package carries belongs to other apps, which register handlers
(`genchi.transfer.handlers`). The names below are the handover's public write API.
"""

from .common import (
    COMMAND_MAX_SCRYPT_WORK_FACTOR,
    WEB_MAX_SCRYPT_WORK_FACTOR,
    Refusal,
    Refused,
    refusal_message,
)
from .erasing import erase_contract_files
from .handover_jobs import restart, start_export, start_import
from .incoming import ImportResult, import_cases_package, receive_package, verify_results_package
from .inspect import Inspection, inspect_file, local_identities, peek_manifest, trusted_signers
from .outgoing import (
    RESULT_COLUMNS,
    ExportResult,
    download_folder,
    download_package,
    downloadable,
    export_batch,
    export_results_package,
    remove_server_copy,
    send_item,
    server_copy,
    usb_folder,
    usb_folder_shown,
)
from .slips import confirm_slip, mark_received, parse_slip_code

__all__ = [
    "erase_contract_files",
    "COMMAND_MAX_SCRYPT_WORK_FACTOR",
    "RESULT_COLUMNS",
    "WEB_MAX_SCRYPT_WORK_FACTOR",
    "ExportResult",
    "ImportResult",
    "Inspection",
    "Refusal",
    "Refused",
    "confirm_slip",
    "download_folder",
    "download_package",
    "downloadable",
    "export_batch",
    "export_results_package",
    "import_cases_package",
    "inspect_file",
    "local_identities",
    "mark_received",
    "parse_slip_code",
    "peek_manifest",
    "receive_package",
    "refusal_message",
    "remove_server_copy",
    "restart",
    "send_item",
    "server_copy",
    "start_export",
    "start_import",
    "trusted_signers",
    "usb_folder",
    "usb_folder_shown",
    "verify_results_package",
]
