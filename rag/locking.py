"""One writer at a time per index folder: an advisory file lock.

Writers (ingest, remove, rebuild, repair) take ``.write.lock`` with flock;
readers take nothing, since SQLite (WAL) and the generation-numbered vector
files let them read the last committed state meanwhile. The lock is released
by the OS if the writer dies, so a crash never leaves a stale lock.
"""

from __future__ import annotations

import fcntl
import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from rag.errors import IndexLockedError


@contextmanager
def write_lock(index_dir: Path, timeout_s: float = 60.0, poll_s: float = 0.2) -> Iterator[None]:
    """Hold the index's write lock, waiting up to ``timeout_s`` for another writer."""
    index_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(index_dir / ".write.lock", os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise IndexLockedError(
                        f"{index_dir}: another rag process is writing to this index; "
                        f"wait for it to finish and run the command again"
                    ) from None
                time.sleep(poll_s)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock
