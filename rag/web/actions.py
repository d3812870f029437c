"""What the web UI's buttons do: ask, brief, ingest uploads or pasted text, delete.

Each action borrows a ``rag.Rag`` from a small pool, so one Rag (and its
database connection) serves one request at a time while several requests run
in parallel; loaded model weights are shared by all of them. The generator a
request asks for is an argument of ``Rag.ask``/``Rag.brief``: nothing shared
is changed per request. Actions return typed views (rag/web/views.py; rendered to HTML by
rag/web/render.py) and turn every RagError into a visible message; they
never raise one to the page. Gradio wiring lives in rag/web/__init__.py.

Uploads: the client's file name is used only as a label. The file is checked
(type, size: ``Settings.max_file_bytes``, the limit ``rag ingest`` uses),
copied to a file the tool names (a random hex name plus the checked
extension) inside a private temporary folder, read, then deleted.
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
from pathlib import Path
from typing import Callable, Iterator, Sequence

from rag.core import Rag
from rag.errors import BadInputError, RagError
from rag.generation.registry import check_name
from rag.ingest import PDF_SIZE_FACTOR, READERS, check_file, read_file
from rag.ingest.identity import with_source
from rag.ingest.limits import check_text_size
from rag.ingest.text import text_document
from rag.render import answer_markdown
from rag.settings import Settings
from rag.types import Answer, Document, IngestReport
from rag.web.render import (
    EMPTY_SOURCES,
    answer_html,
    badge_html,
    coverage_html,
    doc_choices,
    library_rows,
    message_html,
    sources_html,
    status_html,
)
from rag.web.views import AnswerView, IngestOutcome, LibraryView

MAX_QUESTION_CHARS = 2_000
LABEL_MAX_CHARS = 120
PASTED_SOURCE = "pasted text"
Report = Callable[[int, int, str, str], None]


def largest_upload_bytes(settings: Settings) -> int:
    """The largest file the upload widget accepts: a PDF may be ``PDF_SIZE_FACTOR`` times the text limit."""
    return settings.max_file_bytes * PDF_SIZE_FACTOR


def _quiet(done: int, total: int, desc: str, unit: str) -> None:
    """A progress report that goes nowhere."""


def safe_label(name: str) -> str:
    """A client-supplied file name reduced to a display label (never used as a path).

    >>> safe_label("../../etc/passwd.txt"), safe_label("")
    ('passwd.txt', 'upload')
    """
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
        self._idle: list[Rag] = []
        self._lock = threading.Lock()

    # -- the pool ------------------------------------------------------------------
    @contextmanager
    def rag(self) -> Iterator[Rag]:
        """Borrow an open Rag for one request."""
        with self._lock:
            rag = self._idle.pop() if self._idle else None
        if rag is None:
            rag = Rag(self.settings)
        try:
            yield rag
        finally:
            with self._lock:
                self._idle.append(rag)

    def close(self) -> None:
        """Close every pooled Rag (at shutdown; requests still running keep theirs until they end)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for rag in idle:
            rag.close()

    def warm_up(self) -> None:
        """Open one Rag and load the embedder before the first request."""
        with self.rag() as rag:
            rag.embedder.encode_query("warm up")

    # -- reading -------------------------------------------------------------------
    def library(self) -> LibraryView:
        """The documents table, picker choices and index status."""
        try:
            with self.rag() as rag:
                infos = rag.documents()
                status = status_html(rag.status(), rag.generators(), rag.location)
        except RagError as e:
            return LibraryView(rows=[], choices=[], status=message_html(str(e), "error"))
        return LibraryView(rows=library_rows(infos), choices=doc_choices(infos), status=status)

    def generator_note(self) -> str:
        """A short line saying what "auto" uses on this machine."""
        with self.rag() as rag:
            info = rag.generators()
        here = "installed" if info.seq2seq_available else "not installed"
        return f"auto uses {info.auto_uses} here ({info.seq2seq_model} {here})"

    def _view(self, rag: Rag, answer: Answer, prefix: str) -> tuple[str, str, str]:
        documents = {c.doc_id: rag.document(c.doc_id) for c in answer.citations}
        return answer_html(answer, prefix), sources_html(answer, documents, prefix), badge_html(answer)

    def ask(self, question: str, doc_ids: Sequence[str] | None = None, generator: str | None = None) -> AnswerView:
        """Answer ``question`` with citations, or show why not."""
        question = (question or "").strip()
        if not question:
            return AnswerView(answer=message_html("Type a question first.", "info"), sources=EMPTY_SOURCES)
        try:
            if len(question) > MAX_QUESTION_CHARS:
                raise BadInputError(f"the question is {len(question)} characters; keep it under {MAX_QUESTION_CHARS}")
            with self.rag() as rag:
                answer = rag.ask(question, doc_ids=list(doc_ids or []) or None, generator=_generator(generator))
                text, sources, badge = self._view(rag, answer, "ask")
        except RagError as e:
            return _error_view(str(e))
        return AnswerView(answer=text, sources=sources, badge=badge)

    def brief(
        self, doc_ids: Sequence[str] | None, topic: str | None, length: str, generator: str | None = None
    ) -> AnswerView:
        """A cited briefing of the chosen documents (or of those about ``topic``), plus its Markdown file."""
        topic = (topic or "").strip() or None
        try:
            with self.rag() as rag:
                answer = rag.brief(
                    doc_ids=list(doc_ids or []) or None, topic=topic, length=length,  # type: ignore[arg-type]
                    generator=_generator(generator),
                )
                text, sources, badge = self._view(rag, answer, "brief")
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

    # -- writing -------------------------------------------------------------------
    def _stage_upload(self, path: Path, label: str) -> Path:
        """Copy an upload to a tool-named file after checking its type and size."""
        suffix = Path(label).suffix.lower()
        if suffix not in READERS:
            kind = suffix or "(none)"
            raise BadInputError(f"{label}: unsupported file type {kind!r}; upload .txt, .md, .html or .pdf")
        try:
            check_file(path, self.settings.max_file_bytes)
        except BadInputError as e:
            raise BadInputError(str(e).replace(str(path), label, 1)) from e
        staged = self.upload_dir / f"{uuid.uuid4().hex}{suffix}"
        with path.open("rb") as src, staged.open("xb") as dst:
            shutil.copyfileobj(src, dst)
        return staged

    def _read_upload(self, path: Path, label: str) -> Document:
        staged = self._stage_upload(path, label)
        try:
            document = read_file(staged, self.settings.max_file_bytes)
        except BadInputError as e:
            raise BadInputError(str(e).replace(str(staged), label)) from e
        finally:
            staged.unlink(missing_ok=True)
        title = Path(label).stem if document.title == staged.stem else document.title
        # The client's file name is a label, not an identity: an upload never replaces another
        # (rag/ingest/identity.py); two different files both named article.txt are two documents.
        return with_source(dataclasses.replace(document, title=title), f"upload: {label}", replaces_source=False)

    def ingest_files(
        self, paths: Sequence[str], labels: Sequence[str] | None = None, report: Report = _quiet
    ) -> IngestOutcome:
        """Read uploaded files and add them; one bad file never stops the others."""
        if not paths:
            return IngestOutcome(hint="Choose one or more files to upload first.")
        labels = list(labels or [safe_label(Path(p).name) for p in paths])
        documents: list[Document] = []
        problems: list[str] = []
        for i, (path, label) in enumerate(zip(paths, labels, strict=True)):
            report(i, len(paths), f"Reading {label}", "files")
            try:
                documents.append(self._read_upload(Path(path), label))
            except (BadInputError, OSError) as e:
                problems.append(str(e) if isinstance(e, BadInputError) else f"{label}: cannot read the upload ({e})")
        return self._add(documents, problems, report)

    def ingest_text(self, text: str, title: str | None = None, report: Report = _quiet) -> IngestOutcome:
        """Add pasted text as one document (it replaces nothing: pasted text has no lasting name).

        Text over ``Settings.max_file_bytes`` (in UTF-8) is refused before anything is embedded.
        """
        title = (title or "").strip()[:LABEL_MAX_CHARS] or None
        try:
            check_text_size(text or "", self.settings.max_file_bytes, PASTED_SOURCE)
            document = text_document(text or "", source=PASTED_SOURCE, title_hint="Pasted text", title=title)
        except BadInputError as e:
            return IngestOutcome(refused=str(e).replace(f"{PASTED_SOURCE}: ", "", 1))
        return self._add([dataclasses.replace(document, replaces_source=False)], [], report)

    def _add(self, documents: list[Document], problems: list[str], report: Report) -> IngestOutcome:
        done, error = IngestReport(), ""
        if documents:
            try:
                with self.rag() as rag:
                    done = rag.ingest(documents, lambda n, total: report(n, total, "Embedding passages", "passages"))
            except RagError as e:
                error = str(e)
        return IngestOutcome(report=done, problems=tuple(problems), error=error)

    def delete(self, doc_ids: Sequence[str]) -> str:
        """Remove documents from the index."""
        if not doc_ids:
            return message_html("Choose the documents to delete first.", "info")
        try:
            with self.rag() as rag:
                titles = [rag.document(d).title for d in doc_ids]
                removed = rag.remove(list(doc_ids))
        except RagError as e:
            return message_html(str(e), "error")
        names = "; ".join(titles)
        return message_html(f"Deleted {len(titles)} document(s) ({removed} passages): {names}", "ok")


def _generator(name: str | None) -> str | None:
    """A generator name from the page, checked against the registry (None: the default)."""
    return check_name(name) if name else None
