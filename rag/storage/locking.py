"""One writer at a time per index folder: an advisory file lock.

Writers (ingest, remove, rebuild, repair) take ``.write.lock`` with flock;
readers take nothing, since SQLite (WAL) and the generation-numbered vector
files let them read the last committed state meanwhile. A second writer
waits up to ``timeout_s`` (0: refuse at once), then raises IndexLockedError
naming the process that holds the lock. The lock is released by the OS when
the writer exits or dies, so a crash never leaves a stale lock; the pid left
in the file is only a hint for the message. Locks across machines (NFS) are
left out.
"""

from __future__ import annotations

import fcntl
import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from rag.errors import IndexLockedError
from rag.storage.failures import write_error

LOCK_NAME = ".write.lock"


def _holder(fd: int) -> str:
    """The holder's pid as ' (pid N)' from the lock file, or '' when it names no one."""
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "ignore").strip()
    except OSError:
        return ""
    return f" (pid {text})" if text.isdigit() else ""


def _acquire(fd: int, index_dir: Path, timeout_s: float, poll_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                waited = f"waited {timeout_s:g} s; " if timeout_s > 0 else ""
                raise IndexLockedError(
                    f"{index_dir}: another rag process{_holder(fd)} is writing to this index ({waited}"
                    f"readers still work); wait for it to finish and run the command again"
                ) from None
            time.sleep(min(poll_s, max(deadline - time.monotonic(), 0.0)))


@contextmanager
def write_lock(index_dir: Path, timeout_s: float = 60.0, poll_s: float = 0.2) -> Iterator[None]:
    """Hold the index's write lock, waiting up to ``timeout_s`` for another writer."""
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(index_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as e:  # a read-only folder, a full disk (no inode left)
        raise write_error(e, index_dir) or e from e
    try:
        _acquire(fd, index_dir, timeout_s, poll_s)
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        except OSError as e:  # the pid is only a hint, but a full disk will fail the write anyway
            raise write_error(e, index_dir) or e from e
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock
