"""Run by tests/test_disk.py inside a private mount namespace: an index on a small tmpfs, filled up,
then remounted read-only; every command through rag's real entry point. Prints one JSON report.

Usage: python disk_scenario.py MOUNT_POINT ARTICLES_FOLDER SEEDS_FOLDER FREE_BYTES,FREE_BYTES,...
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import subprocess
import sys
import traceback
from pathlib import Path

SIZE = "4m"
QUESTION = "How much should NATO boost air and missile defense?"
# SQLite's own files (made by whoever opens the database), and the writers' lock, whose content is
# only the last writer's pid: none of them is index content.
NOT_CONTENT = ("rag.sqlite-wal", "rag.sqlite-shm", ".write.lock")


def rag(index: Path, *args: str) -> dict:
    """`rag --index-dir INDEX ARGS` in this process; an exception that escapes is recorded as a traceback."""
    from rag.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(["--index-dir", str(index), *args])
        except BaseException:
            code, err = -1, io.StringIO(err.getvalue() + traceback.format_exc())
    return {"code": code, "out": out.getvalue(), "err": err.getvalue()}


def files(index: Path) -> dict[str, str]:
    """Every file of the index (but SQLite's own -wal and -shm, and the lock) with its SHA-256."""
    return {
        str(p.relative_to(index)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(index.rglob("*")) if p.is_file() and p.name not in NOT_CONTENT
    }


def cause(index: Path, articles: Path) -> str:
    """What failed under the one-line message, for the same ingest through the library: the write's step."""
    from rag.core import Rag
    from rag.errors import RagError
    from rag.ingest import load_paths
    from rag.settings import Settings

    with Rag(Settings(index_dir=index)) as rag:
        try:
            rag.ingest(load_paths([str(articles)]).documents)
        except RagError as e:
            where = traceback.extract_tb(e.__cause__.__traceback__)[-1] if e.__cause__ else None
            step = f"{Path(where.filename).name}:{where.name}" if where else "before writing"
            return f"{step}: {type(e.__cause__).__name__}: {e.__cause__}"
    return "no failure"


def fill(mount: Path, free: int) -> int:
    """Fill the file system, then give ``free`` bytes back; return the bytes free."""
    filler = mount / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    for block in (1 << 16, 4096, 1):
        with contextlib.suppress(OSError):
            while True:
                os.write(fd, b"\0" * block)
    os.ftruncate(fd, max(0, os.fstat(fd).st_size - free))
    os.close(fd)
    info = os.statvfs(mount)
    return info.f_bavail * info.f_frsize


def reads(index: Path) -> dict:
    return {
        "search": rag(index, "search", QUESTION, "--json"),
        "ask": rag(index, "ask", QUESTION, "--json"),
        "check": rag(index, "status", "--check", "--json"),
    }


def scenario(mount: Path, articles: Path, seeds: Path, levels: list[int]) -> dict:
    index = mount / "index"
    report: dict = {"base": rag(index, "ingest", str(seeds)), "full": []}
    before = files(index)
    for free in levels:
        left = fill(mount, free)
        ingest = rag(index, "ingest", str(articles))
        report["full"].append({"free": left, "ingest": ingest, "cause": cause(index, articles),
                               "same": files(index) == before, "files": sorted(files(index))})
        if free == 0:
            report["reads_when_full"] = reads(index)
            report["console_script"] = subprocess.run(
                [str(Path(sys.executable).with_name("rag")), "--index-dir", str(index), "ingest", str(articles)],
                capture_output=True, text=True, timeout=600,
            ).__dict__ | {"args": None}
        (mount / "filler").unlink()
    subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)
    report["read_only"] = {**reads(index), "ingest": rag(index, "ingest", str(articles)),
                           "repair": rag(index, "repair"), "same": files(index) == before}
    return report


def main() -> None:
    mount, articles, seeds = (Path(a) for a in sys.argv[1:4])
    levels = [int(x) for x in sys.argv[4].split(",")]
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={SIZE}", "tmpfs", str(mount)], check=True)
    try:
        report = scenario(mount, articles, seeds, levels)
    finally:
        subprocess.run(["umount", str(mount)], check=False)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
