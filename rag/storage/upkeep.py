"""Mending an index's store: the steps of ``Index.repair`` (rag/storage/index.py) that change documents.

Both run inside the repair's one transaction, through the Store Protocol
only: ``rekey_documents`` gives every document the id and source a newer
schema calls for (its chunks follow, nothing is re-embedded), and
``refill_documents`` chunks and embeds again, whole, each document whose
chunks no longer cover its text (``lost_chunks`` words that problem).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Sequence

from rag.types import Chunk, Document

if TYPE_CHECKING:
    import numpy as np

    from rag.storage.base import Store

# How a schema upgrade names a stored document: its new (id, source).
Rekey = Callable[[Document], tuple[str, str]]
# Chunks and vectors for stored documents that lost theirs (made as the index's own were).
Fill = Callable[[Sequence[Document]], tuple[Sequence[Chunk], "np.ndarray"]]


def lost_chunks(store: Store) -> list[str]:
    """The problem of documents whose chunks no longer cover their text, if any."""
    missing = store.documents_missing_chunks()
    if not missing:
        return []
    shown = ", ".join(missing[:3]) + (", ..." if len(missing) > 3 else "")
    return [f"{len(missing)} document(s) have lost chunks ({shown}): their text cannot all be found; "
            f"run `rag repair` to chunk and embed them again"]


def rekey_documents(store: Store, rekey: Rekey) -> int:
    """Give every stored document the (id, source) ``rekey`` says; return how many changed."""
    renamed = 0
    for doc_id in store.document_ids():
        doc = store.document(doc_id)
        new_id, source = rekey(doc)
        if (new_id, source) != (doc.id, doc.source):
            store.rename_document(doc.id, new_id, source)
            renamed += 1
    return renamed


def refill_documents(store: Store, fill: Fill) -> int:
    """Chunk and embed again, whole, every document that lost chunks; return how many."""
    missing = store.documents_missing_chunks()
    if not missing:
        return 0
    documents = [store.document(i) for i in missing]
    for doc in documents:  # what is left of their chunks goes: they are made again whole
        store.remove_document(doc.id)
        store.add_document(doc, doc.added_at)
    chunks, vectors = fill(documents)
    store.add_chunks(chunks, vectors)
    return len(documents)
