"""Replace a file in one step, or leave it exactly as it was.

The new content is written to a temporary file in the target's own folder (so the
final rename never crosses file systems), flushed to disk, and renamed over the
target with ``os.replace``, which is atomic on POSIX and Windows. Any failure,
including Ctrl+C, removes the temporary file and leaves the target untouched.

A process killed outright (``kill -9``, power loss) can leave its temporary file
behind; it is named after the target and the writer's process id, and the next
``atomic_replace`` of the same target removes it once that process is gone.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path

from xlapm.errors import FileProblem, WorkbookLocked

log = logging.getLogger(__name__)

_TEMP_MARK = ".xlapm-"
_TEMP_SUFFIX = ".tmp"


def atomic_replace(
    target: Path, write: Callable[[Path], None], *, backup: bool = False
) -> Path | None:
    """Write a new version of ``target`` through ``write``, all or nothing.

    Args:
        target: the file to create or replace.
        write: called with the path of an empty temporary file beside ``target``;
            it writes the complete new content there.
        backup: keep the previous version as ``<stem>.bak<suffix>`` (one backup,
            replaced by the next one).

    Returns:
        The backup's path, or None when no backup was made.

    Raises:
        WorkbookLocked: the target is open in Excel or LibreOffice, or read-only.
        FileProblem: the folder cannot be written.
    """
    target = Path(target)
    check_writable(target)
    remove_stale_temps(target)
    temp = _make_temp(target)
    try:
        write(temp)
        _fsync(temp)
        _copy_mode(target, temp)
        kept = _keep_backup(target) if backup and target.exists() else None
        _replace(temp, target)
    except BaseException:
        _discard(temp)
        raise
    _fsync_folder(target.parent)
    return kept


def check_writable(target: Path) -> None:
    """Refuse a target that is open in Excel or LibreOffice, or read-only.

    Raises:
        WorkbookLocked: naming the file and what to do.
        FileProblem: the target is a folder.
    """
    target = Path(target)
    excel_lock = target.with_name(f"~${target.name}")
    if excel_lock.exists():
        raise WorkbookLocked(
            f"{target.name} is open in Excel (its lock file {excel_lock.name} "
            "exists); close it in Excel first",
            hint=f"If Excel is closed, delete {excel_lock.name} and try again.",
        )
    office_lock = target.with_name(f".~lock.{target.name}#")
    if office_lock.exists():
        raise WorkbookLocked(
            f"{target.name} is open in LibreOffice (its lock file "
            f"{office_lock.name} exists); close it there first",
            hint=f"If LibreOffice is closed, delete {office_lock.name}.",
        )
    if target.is_dir():
        raise FileProblem(f"{target} is a folder, not a workbook")
    if target.exists() and _is_read_only(target):
        raise WorkbookLocked(
            f"{target.name} is read-only, so it cannot be replaced",
            hint="Clear the read-only flag, or write to another file.",
        )


def _is_read_only(target: Path) -> bool:
    """Tell whether ``target`` is marked read-only.

    The mode bits are checked as well as ``os.access`` because ``os.access`` says
    yes to root for any file, and ``os.replace`` would happily rename over a
    read-only file on POSIX.
    """
    writable_bits = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH
    mode = target.stat().st_mode
    return not mode & writable_bits or not os.access(target, os.W_OK)


def backup_path(target: Path) -> Path:
    """Return where ``atomic_replace(..., backup=True)`` keeps the old version."""
    target = Path(target)
    return target.with_name(f"{target.stem}.bak{target.suffix}")


def _temp_prefix(target: Path) -> str:
    """Return the start of every temporary file name made for ``target``."""
    return f".{target.name}."


def _make_temp(target: Path) -> Path:
    """Create an empty temporary file beside ``target``."""
    suffix = f"{_TEMP_MARK}{os.getpid()}{_TEMP_SUFFIX}"
    try:
        handle, name = tempfile.mkstemp(
            prefix=_temp_prefix(target), suffix=suffix, dir=target.parent
        )
    except OSError as error:
        raise FileProblem(
            f"Cannot write in the folder of {target.name} ({target.parent}): {error}"
        ) from error
    os.close(handle)
    return Path(name)


def remove_stale_temps(target: Path) -> list[Path]:
    """Remove temporary files left beside ``target`` by killed writers.

    Returns:
        The files removed.
    """
    target = Path(target)
    prefix = _temp_prefix(target)
    removed = []
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return removed
    for entry in entries:
        name = entry.name
        if not (name.startswith(prefix) and name.endswith(_TEMP_SUFFIX)):
            continue
        pid = _writer_pid(name)
        if pid is None or _is_running(pid):
            continue
        with contextlib.suppress(OSError):
            os.unlink(entry.path)
            removed.append(Path(entry.path))
            log.debug("removed stale temporary file %s", entry.path)
    return removed


def _writer_pid(name: str) -> int | None:
    """Return the process id recorded in a temporary file name."""
    mark = name.rfind(_TEMP_MARK)
    if mark < 0:
        return None
    digits = name[mark + len(_TEMP_MARK) : -len(_TEMP_SUFFIX)]
    return int(digits) if digits.isdigit() else None


def _is_running(pid: int) -> bool:
    """Tell whether process ``pid`` may still be writing its temporary file."""
    if pid == os.getpid():
        # Another thread of this process may be writing it right now.
        return True
    if os.name == "nt":
        # On Windows os.kill would terminate the process. Say "gone" instead: a
        # live writer holds its file open, so deleting it fails and is ignored.
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _fsync(path: Path) -> None:
    """Flush ``path`` to disk, so the rename never exposes a half-written file."""
    with path.open("rb+") as stream:
        os.fsync(stream.fileno())


def _fsync_folder(folder: Path) -> None:
    """Flush the folder entry on POSIX so the rename itself survives a crash."""
    if os.name == "nt":
        return
    with contextlib.suppress(OSError):
        handle = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(handle)
        finally:
            os.close(handle)


def _copy_mode(target: Path, temp: Path) -> None:
    """Give the new file the target's permissions (mkstemp makes it owner-only)."""
    if target.exists():
        mode = stat.S_IMODE(target.stat().st_mode)
    else:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    os.chmod(temp, mode)


def _keep_backup(target: Path) -> Path:
    """Copy the current ``target`` to its backup path, atomically."""
    kept = backup_path(target)
    staging = _make_temp(kept)
    try:
        shutil.copy2(target, staging)
        os.replace(staging, kept)
    except BaseException:
        _discard(staging)
        raise
    return kept


def _replace(temp: Path, target: Path) -> None:
    """Rename ``temp`` over ``target``."""
    try:
        os.replace(temp, target)
    except PermissionError as error:
        # Windows refuses to replace a file another program holds open.
        raise WorkbookLocked(
            f"{target.name} cannot be replaced: another program has it open "
            f"({error}); close it in Excel first"
        ) from error


def _discard(temp: Path) -> None:
    """Remove a temporary file, ignoring one that is already gone."""
    with contextlib.suppress(OSError):
        temp.unlink()
