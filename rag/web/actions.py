"""What the web UI's buttons do: ask, brief, ingest uploads or pasted text, delete.

Each action opens nothing itself: it borrows an ``Index`` from a small pool, so
one Index (and its SQLite connection) is used by one request at a time while
several requests run in parallel. Actions return plain values (HTML strings,
rows, file paths) and turn every RagError into a visible message; they never
raise one to the page. Gradio wiring lives in rag/web.py, HTML in rag/web_render.py.

Uploads: the client's file name is used only as a label. The bytes are copied
to a file the tool names (a random hex name plus the checked extension) inside
a private temporary folder, size-checked, read, then deleted.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import shutil
import tempfile
import threading
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence

from rag.errors import BadInputError, RagError
from rag.generation.registry import CHOICES, generator_availability
from rag.index import Index, IngestReport
from rag.ingest import READERS, read_file
from rag.ingest.text import text_document
from rag.pipeline import ask, brief
from rag.render import answer_markdown
from rag.settings import Settings
from rag.types import Answer, Document
from rag.web_render import (
    EMPTY_SOURCES, answer_html, badge_html, coverage_html, doc_choices, library_rows, message_html, sources_html, status_html,
)

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_QUESTION_CHARS = 2_000
LABEL_MAX_CHARS = 120
Report = Callable[[int, int, str, str], None]


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


def _quiet(done: int, total: int, desc: str, unit: str) -> None:
    """A progress report that goes nowhere."""


def safe_label(name: str) -> str:
    """A client-supplied file name reduced to a display label (never used as a path)."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = re.sub(r"[\x00-\x1f\x7f]", "", base).strip() or "upload"
    return base[:LABEL_MAX_CHARS]


def _error_view(message: str) -> AnswerView:
    return AnswerView(answer=message_html(message, "error"), sources=EMPTY_SOURCES)


class WebActions:
    """The UI's back end: one per server, safe to call from many threads."""

    def __init__(self, settings: Settings, work_dir: Path | None = None) -> None:
        self.settings = settings
        self.work_dir = Path(work_dir or tempfile.mkdtemp(prefix="rag-ui-"))
        self.upload_dir = self.work_dir / "uploads"
        self.download_dir = self.work_dir / "downloads"
        for folder in (self.upload_dir, self.download_dir):
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._idle: list[Index] = []
        self._lock = threading.Lock()

    # -- the index pool ---------------------------------------------------------
    @contextmanager
    def index(self, generator: str | None = None) -> Iterator[Index]:
        """Borrow an open Index for one request, with the chosen generator."""
        with self._lock:
            index = self._idle.pop() if self._idle else None
        if index is None:
            index = Index.open(self.settings)
        index.settings = self.settings.with_(generator=generator) if generator else self.settings
        try:
            index.refresh()
            yield index
        finally:
            index.settings = self.settings
            with self._lock:
                self._idle.append(index)

    def warm_up(self) -> None:
        """Open one Index and load the embedder before the first request."""
        with self.index() as index:
            index.embedder.encode_query("warm up")

    # -- reading ----------------------------------------------------------------
    def library(self) -> LibraryView:
        """The documents table, picker choices and index status."""
        try:
            with self.index() as index:
                infos = index.documents()
                status = status_html(index.status(), generator_availability(self.settings), str(index.dir))
        except RagError as e:
            return LibraryView(rows=[], choices=[], status=message_html(str(e), "error"))
        return LibraryView(rows=library_rows(infos), choices=doc_choices(infos), status=status)

    def generator_note(self) -> str:
        """A short line saying what "auto" uses on this machine."""
        g = generator_availability(self.settings)
        here = "installed" if g["seq2seq_available"] == "yes" else "not installed"
        return f"auto uses {g['auto_uses']} here ({g['seq2seq_model']} {here})"

    @staticmethod
    def _check_generator(generator: str | None) -> str | None:
        if generator and generator not in CHOICES:
            raise BadInputError(f"unknown generator {generator!r}; choose one of: {', '.join(CHOICES)}")
        return generator or None

    def _view(self, index: Index, answer: Answer, prefix: str) -> tuple[str, str, str]:
        documents = {c.doc_id: index.document(c.doc_id) for c in answer.citations}
        return answer_html(answer, prefix), sources_html(answer, documents, prefix), badge_html(answer)

    def ask(self, question: str, doc_ids: Sequence[str] | None = None, generator: str | None = None) -> AnswerView:
        """Answer ``question`` with citations, or show why not."""
        question = (question or "").strip()
        if not question:
            return AnswerView(answer=message_html("Type a question first.", "info"), sources=EMPTY_SOURCES)
        try:
            if len(question) > MAX_QUESTION_CHARS:
                raise BadInputError(f"the question is {len(question)} characters; keep it under {MAX_QUESTION_CHARS}")
            with self.index(self._check_generator(generator)) as index:
                answer = ask(index, question, doc_ids=list(doc_ids or []) or None)
                text, sources, badge = self._view(index, answer, "ask")
        except RagError as e:
            return _error_view(str(e))
        return AnswerView(answer=text, sources=sources, badge=badge)

    def brief(
        self, doc_ids: Sequence[str] | None, topic: str | None, length: str, generator: str | None = None
    ) -> AnswerView:
        """A cited briefing of the chosen documents (or of those about ``topic``), plus its Markdown file."""
        topic = (topic or "").strip() or None
        try:
            if length not in ("short", "medium", "long"):
                raise BadInputError(f"unknown length {length!r}; choose short, medium or long")
            with self.index(self._check_generator(generator)) as index:
                answer = brief(index, doc_ids=list(doc_ids or []) or None, topic=topic, length=length)  # type: ignore[arg-type]
                text, sources, badge = self._view(index, answer, "brief")
        except RagError as e:
            return _error_view(str(e))
        path = None if answer.abstained else self._write_markdown(answer, topic, len(answer.coverage))
        return AnswerView(answer=text, sources=sources, badge=badge, extra=coverage_html(answer), markdown_path=path)

    def _write_markdown(self, answer: Answer, topic: str | None, documents: int) -> str:
        title = f"Briefing: {topic}" if topic else f"Briefing of {documents} document{'s' if documents != 1 else ''}"
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        path = self.download_dir / f"briefing-{stamp}-{uuid.uuid4().hex[:6]}.md"
        path.write_text(answer_markdown(answer, title), encoding="utf-8")
        return str(path)

    # -- writing ------------------------------------------------------------------
    def _stage_upload(self, path: Path, label: str) -> Path:
        """Copy an upload to a tool-named file after checking its type and size."""
        suffix = Path(label).suffix.lower()
        if suffix not in READERS:
            raise BadInputError(f"{label}: unsupported file type {suffix or '(none)'!r}; upload .txt, .md, .html or .pdf")
        size = path.stat().st_size
        if size > MAX_UPLOAD_BYTES:
            raise BadInputError(f"{label}: {size / 2**20:.1f} MB is over the {MAX_UPLOAD_BYTES // 2**20} MB upload limit; "
                                f"add it with `rag ingest` instead")
        staged = self.upload_dir / f"{uuid.uuid4().hex}{suffix}"
        with path.open("rb") as src, staged.open("xb") as dst:
            shutil.copyfileobj(src, dst)
        return staged

    def _read_upload(self, path: Path, label: str) -> Document:
        staged = self._stage_upload(path, label)
        try:
            document = read_file(staged)
        except BadInputError as e:
            raise BadInputError(str(e).replace(str(staged), label)) from e
        finally:
            staged.unlink(missing_ok=True)
        title = Path(label).stem if document.title == staged.stem else document.title
        return dataclasses.replace(document, source=f"upload: {label}", title=title)

    def ingest_files(self, paths: Sequence[str], labels: Sequence[str] | None = None, report: Report = _quiet) -> str:
        """Read uploaded files and add them; one bad file never stops the others."""
        if not paths:
            return message_html("Choose one or more files to upload first.", "info")
        labels = list(labels or [safe_label(Path(p).name) for p in paths])
        documents: list[Document] = []
        problems: list[str] = []
        for i, (path, label) in enumerate(zip(paths, labels)):
            report(i, len(paths), f"Reading {label}", "files")
            try:
                documents.append(self._read_upload(Path(path), label))
            except (BadInputError, OSError) as e:
                problems.append(str(e) if isinstance(e, BadInputError) else f"{label}: cannot read the upload ({e})")
        return self._add(documents, problems, report)

    def ingest_text(self, text: str, title: str | None = None, report: Report = _quiet) -> str:
        """Add pasted text as one document."""
        title = (title or "").strip()[:LABEL_MAX_CHARS] or None
        try:
            document = text_document(text or "", source="pasted text", title_hint="Pasted text", title=title)
        except BadInputError as e:
            return message_html(str(e).replace("pasted text: ", "", 1), "error")
        return self._add([document], [], report)

    def _add(self, documents: list[Document], problems: list[str], report: Report) -> str:
        done = IngestReport()
        failure = ""
        if documents:
            try:
                with self.index() as index:
                    done = index.add(documents, lambda n, total: report(n, total, "Embedding passages", "passages"))
            except RagError as e:
                failure = message_html(str(e), "error")
        summary = f"Added {len(done.added)} document(s) ({done.chunks} passages)."
        if done.unchanged:
            summary += f" {len(done.unchanged)} already in the library."
        if done.replaced:
            summary += f" Replaced {len(done.replaced)} earlier version(s) of the same upload."
        kind = "ok" if done.added or done.unchanged else "error"
        skipped = "".join(message_html(f"Skipped {p}", "error") for p in problems)
        return failure + message_html(summary, kind) + skipped

    def delete(self, doc_ids: Sequence[str]) -> str:
        """Remove documents from the index."""
        if not doc_ids:
            return message_html("Choose the documents to delete first.", "info")
        try:
            with self.index() as index:
                titles = [index.document(d).title for d in doc_ids]
                removed = index.remove(list(doc_ids))
        except RagError as e:
            return message_html(str(e), "error")
        names = "; ".join(titles)
        return message_html(f"Deleted {len(titles)} document(s) ({removed} passages): {names}", "ok")
