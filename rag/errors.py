"""Exceptions raised by the rag package.

Every message says what went wrong and how to fix it. Only the front ends
(rag/cli.py, rag/web/, ui.py) turn these into one-line messages for a user.
"""

from __future__ import annotations


class RagError(Exception):
    """Base class for every error rag raises on purpose."""


class BadInputError(RagError):
    """A file or piece of text cannot be ingested (names the file and the fix)."""


class InputTooLargeError(BadInputError):
    """A file, upload, paste or standard input is over the size limit (``Settings.max_file_bytes``)."""


class AmbiguousIdError(BadInputError):
    """A document id prefix matches several documents (``matches`` lists their ids)."""

    def __init__(self, message: str, matches: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.matches = matches


class IndexMismatchError(RagError):
    """The index on disk was built with another embedder, chunker or schema."""


class IndexNotFoundError(RagError):
    """A command that only reads was pointed at a place that holds no index."""


class IndexCorruptError(RagError):
    """The index files disagree with each other or cannot be read."""


class IndexReadOnlyError(RagError):
    """The index cannot be written (a read-only folder or file system); reading still works."""


class DiskFullError(RagError):
    """A write ran out of disk space; the index is left as it was."""


class IndexLockedError(RagError):
    """Another process is writing to the same index."""


class ModelNotFoundError(RagError):
    """A configured model is not available locally."""


class UnknownGeneratorError(RagError):
    """A generator name is not in the registry."""


class UnknownBackendError(RagError):
    """A backend name (embedding backend, store, search engine) is not one rag has."""


class DeviceUnavailableError(RagError):
    """The device asked for (such as cuda) is not available on this machine."""


class DocumentNotFoundError(RagError):
    """A document id does not exist in the index."""


class NetworkUnavailableError(RagError):
    """A download was requested but no network is reachable."""


class BackendUnavailableError(RagError):
    """A database or search server cannot be reached or used (names it and the fix)."""
