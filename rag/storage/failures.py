"""Failed reads and writes of an index folder, turned into one-line RagErrors.

A full disk, a read-only folder and damaged files are the three ways an index
folder fails. Each becomes an error whose message names the folder and what
to do, and none of them ever advises moving away an intact database:

- ``disk_full``: "no space left on DEVICE while writing INDEX; nothing was
  changed" (the writer rolls back and removes its temporary files first);
- ``read_only``: searching and asking still work, writing needs write access;
- ``store_damaged``: the database itself cannot be read: recover what it holds
  with the sqlite3 shell's ``.recover``, or re-ingest the sources.

``write_error`` sorts an ``OSError`` (or a FAISS error carrying one's text)
into the first two. Which failure a backend raises where is the backends'
business (rag/storage/sqlite.py, local.py, locking.py).
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from rag.errors import DiskFullError, IndexCorruptError, IndexReadOnlyError, RagError

_FULL = {errno.ENOSPC, errno.EDQUOT}
_READ_ONLY = {errno.EROFS, errno.EACCES, errno.EPERM}


def mount_point(path: Path) -> Path:
    """The mount point holding ``path`` (its nearest existing folder when it does not exist yet)."""
    path = Path(os.path.abspath(path))
    while not path.exists() and path != path.parent:
        path = path.parent
    try:
        device = path.stat().st_dev
        while path != path.parent and path.parent.stat().st_dev == device:
            path = path.parent
    except OSError:
        pass
    return path


def disk_full(folder: Path) -> DiskFullError:
    return DiskFullError(
        f"no space left on {mount_point(folder)} while writing {folder}; nothing was changed "
        f"(free some space and run the command again)"
    )


def read_only(folder: Path, reason: str = "") -> IndexReadOnlyError:
    why = f" ({reason})" if reason else ""
    return IndexReadOnlyError(
        f"{folder} cannot be written{why}: searching and asking work, but adding or removing documents "
        f"needs write access; make the folder writable, or run the write with --index-dir on a writable copy"
    )


def store_damaged(path: Path, detail: str) -> IndexCorruptError:
    """The database file itself is damaged: what to do, in one line (``rag repair`` cannot help)."""
    return IndexCorruptError(
        f"{path} is damaged ({detail}) and `rag repair` cannot mend the database itself: re-ingest your sources "
        f"into a new index (`rag --index-dir NEW_FOLDER ingest PATH...`), or save what it still holds with the "
        f"sqlite3 shell, `sqlite3 {path} .recover > saved.sql` (or `.dump`, ending saved.sql with COMMIT; instead "
        f"of ROLLBACK;), then `sqlite3 NEW_FOLDER/{path.name} < saved.sql` and `rag --index-dir NEW_FOLDER repair`"
    )


def not_writable(folder: Path) -> RagError:
    """Why ``folder`` cannot be written right now: a full disk or a read-only place."""
    try:
        info = os.statvfs(folder)
    except OSError as e:
        return read_only(folder, e.strerror or str(e))
    if info.f_flag & os.ST_RDONLY:
        return read_only(folder, "read-only file system")
    if info.f_bavail * info.f_frsize < 64 * 1024:
        return disk_full(folder)
    if not os.access(folder, os.W_OK):
        return read_only(folder, "permission denied")
    return read_only(folder)


def write_error(e: BaseException, folder: Path) -> RagError | None:
    """The RagError for a failed write in ``folder``, or None when ``e`` is not a disk or permission failure."""
    if isinstance(e, OSError) and e.errno in _FULL:
        return disk_full(folder)
    if isinstance(e, OSError) and e.errno in _READ_ONLY:
        return read_only(folder, e.strerror or "")
    text = str(e)
    if "No space left on device" in text or "Disk quota exceeded" in text:
        return disk_full(folder)
    if "Read-only file system" in text or "Permission denied" in text:
        return read_only(folder, "read-only file system" if "Read-only" in text else "permission denied")
    return None
