"""What the web UI's actions return: typed views of answers, the library and ingests.

rag/web/actions.py makes them, rag/web/render.py turns the ingest outcome
into HTML, rag/web/__init__.py hands them to Gradio; nothing reads HTML
back to learn what happened.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rag.types import IngestReport


@dataclass(frozen=True)
class AnswerView:
    """What the Ask and Briefing tabs show: answer, sources, badge, extra, download."""

    answer: str
    sources: str
    badge: str = ""
    extra: str = ""
    markdown_path: str | None = None


@dataclass(frozen=True)
class LibraryView:
    """What the Library tab and the document pickers show."""

    rows: list[list[object]]
    choices: list[tuple[str, str]]
    status: str


@dataclass(frozen=True)
class IngestOutcome:
    """What an upload or paste did: the report, the files skipped and why, an error that stopped it."""

    report: IngestReport = field(default_factory=IngestReport)
    problems: tuple[str, ...] = ()
    error: str = ""  # a RagError that stopped the write (nothing was added)
    hint: str = ""  # nothing was tried: what the user should do first
    refused: str = ""  # nothing was tried: why the input cannot be taken

    @property
    def ok(self) -> bool:
        """Whether the documents are now in the library (added, or already there)."""
        return bool(self.report.added or self.report.unchanged)
