"""The Generator protocol every answer/briefing generator implements.

A generator only writes sentences. Which source spans support them is decided
by the generator when it quotes exactly (extractive) or by rag/citations.py
afterwards (seq2seq). Generators never print and never touch the index.
"""

from __future__ import annotations

from typing import Literal, Protocol, Sequence, runtime_checkable

from rag.types import Document, Draft, Passage

Length = Literal["short", "medium", "long"]

# How many key points and overview sentences a briefing of each length holds.
# "short" is three sentences in all, like for like with the Lead-3 baseline.
POINTS_BY_LENGTH: dict[str, int] = {"short": 2, "medium": 4, "long": 7}
OVERVIEW_BY_LENGTH: dict[str, int] = {"short": 1, "medium": 2, "long": 2}


@runtime_checkable
class Generator(Protocol):
    """Writes answers and briefings from passages."""

    name: str

    @property
    def model_id(self) -> str:
        """The model that writes (a checkpoint id or folder, or the embedder for extractive)."""
        ...

    def answer(self, question: str, passages: Sequence[Passage]) -> Draft:
        """Answer ``question`` from ``passages`` (best first); abstain if they do not answer it."""
        ...

    def brief(
        self,
        documents: Sequence[Document],
        passages: Sequence[Passage],
        length: Length = "medium",
        topic: str | None = None,
    ) -> Draft:
        """Key points (section "point") then an overview (section "overview") of ``documents``.

        ``passages`` are the chunks of those documents in reading order.
        """
        ...
