"""rag: read the news with a machine at your side.

Answers questions about a collection of articles and writes briefings of them,
every sentence pointing back to the exact source passage that supports it.
Local-first: runs on a laptop, CPU or GPU, with no network once installed.

``rag.Rag`` and ``rag.Settings`` are the package's front door; they are
imported on first use, so ``import rag`` (and ``rag --help``) stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rag.version import __version__

__all__ = ["Rag", "Settings", "__version__"]

if TYPE_CHECKING:
    from rag.core import Rag
    from rag.settings import Settings


def __getattr__(name: str) -> Any:
    if name == "Rag":
        from rag.core import Rag

        return Rag
    if name == "Settings":
        from rag.settings import Settings

        return Settings
    raise AttributeError(f"module 'rag' has no attribute {name!r}")
