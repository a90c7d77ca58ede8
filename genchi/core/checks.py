"""Start-up checks of the installation (run by every `genchi` command and by the WSGI
entry point)."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core import checks

from .datafolder import exposed, exposed_message


@checks.register(checks.Tags.security)
def data_folder_is_private(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    folder = Path(settings.DATA_DIR)
    entries = exposed(folder)
    if not entries:
        return []
    return [checks.Error(exposed_message(folder, entries), id="genchi_core.E001")]
