"""The data folder is private: the folder and every folder in it 0700, every file 0600.

It holds the database (SQLite), the master key, the secret key, exports, job files and
anything logged there. `prepare()` is called by the settings before anything is written,
so whatever a Genchi process creates is private from the start (umask 077, and the
database file made 0600 before SQLite opens it); `exposed()` is checked at start-up (a
system check run by every `genchi` command, and the WSGI entry point) and names each
entry that others could read, with the command that fixes it.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

PRIVATE_UMASK = 0o077
FOLDER_MODE = 0o700
FILE_MODE = 0o600


def prepare(folder: Path) -> Path:
    """Make new files of this process private and create the data folder 0700."""
    os.umask(PRIVATE_UMASK)
    folder.mkdir(parents=True, exist_ok=True, mode=FOLDER_MODE)
    return folder


@dataclass(frozen=True)
class Exposed:
    path: Path
    mode: int
    is_folder: bool

    @property
    def wanted(self) -> int:
        return FOLDER_MODE if self.is_folder else FILE_MODE


def exposed(folder: Path, *, limit: int = 20) -> list[Exposed]:
    """Entries of `folder` (itself included) that a group or other users may access."""
    found: list[Exposed] = []

    def visit(path: Path) -> None:
        try:
            info = path.lstat()
        except FileNotFoundError:
            return
        if stat.S_ISLNK(info.st_mode):
            return
        is_folder = stat.S_ISDIR(info.st_mode)
        if info.st_mode & 0o077:
            found.append(Exposed(path, stat.S_IMODE(info.st_mode), is_folder))
        if is_folder and len(found) < limit:
            for child in sorted(path.iterdir()):
                if len(found) >= limit:
                    return
                visit(child)

    if folder.exists():
        visit(folder)
    return found


def exposed_message(folder: Path, entries: list[Exposed]) -> str:
    """What is wrong, where, and how to fix it, in Japanese (for the operator)."""
    lines = [
        f"データフォルダ {folder} に、ほかの利用者が読めるものがあります"
        "(フォルダは 0700、ファイルは 0600 にしてください):"
    ]
    for entry in entries:
        kind = "フォルダ" if entry.is_folder else "ファイル"
        lines.append(f"  {kind} {entry.path}: {entry.mode:04o}(正しくは {entry.wanted:04o})")
    lines.append(
        f"直し方: Genchi を動かす利用者で chmod -R go-rwx {folder} を実行してから、"
        "もう一度起動してください。"
    )
    return "\n".join(lines)
