"""HTML for the web UI: answers with citation links, source cards, badges, status.

Every string that comes from a document (text, title, source, quotes) or from
a user goes through ``html.escape`` before it is put into markup, so HTML or
script inside an article is shown as text and never runs. The markup here
uses no scripts, remote resources or inline event handlers: a citation marker
is a plain ``#anchor`` link to its source card. Everything is rendered from
the typed data (an Answer's sentences and their sections, an ingest's
outcome); nothing here reads rendered text back. Styling lives in
rag/web/style.py; the Markdown download comes from rag/render.py.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from typing import TYPE_CHECKING, Mapping, Sequence

from rag.escaping import human_bytes
from rag.generation.wording import describe
from rag.render import confidence_line
from rag.types import Answer, Citation, Document, DocumentInfo, IndexStatus, Sentence

if TYPE_CHECKING:
    from rag.generation.registry import GeneratorInfo
    from rag.web.views import IngestOutcome

CONTEXT_BEFORE_CHARS = 200
CONTEXT_AFTER_CHARS = 280
FULL_TEXT_MAX_CHARS = 200_000
DOC_LABEL_TITLE_CHARS = 70
META_SEP = " \u00b7 "
EMPTY_SOURCES = '<div class="rag-sources rag-empty">Cited passages appear here.</div>'


def esc(text: object) -> str:
    """``text`` made safe to put inside HTML text or a quoted attribute."""
    return html.escape(str(text), quote=True)


_CODE_SPAN = re.compile(r"`([^`\n]+)`")


def markup(text: str) -> str:
    """Our own messages' one bit of Markdown, inline code (`rag models`), as HTML; the rest escaped.

    >>> markup("see `rag models` to add <one>")
    'see <code>rag models</code> to add &lt;one&gt;'
    """
    return _CODE_SPAN.sub(lambda m: f"<code>{m.group(1)}</code>", esc(text))


def message_html(text: str, kind: str = "info") -> str:
    """A short notice (inline `code` rendered, everything else escaped); ``kind`` is "info", "ok" or "error"."""
    role = ' role="alert"' if kind == "error" else ""
    return f'<div class="rag-msg rag-msg-{esc(kind)}"{role}>{markup(text)}</div>'


# -- answers ------------------------------------------------------------------
def _marker(n: int, prefix: str, title: str) -> str:
    return f'<a class="rag-cite" href="#{prefix}-src-{n}" title="Source {n}: {esc(title)}">[{n}]</a>'


def _sentence(sentence: Sentence, prefix: str, titles: Mapping[int, str]) -> str:
    """One sentence, its [n] markers as links (or an "unsupported" tag)."""
    css = "rag-sent" if sentence.supported else "rag-sent rag-unsupported"
    out = f'<span class="{css}">{esc(sentence.text)}</span>'
    if sentence.supported and sentence.citations:
        out += " " + "".join(_marker(n, prefix, titles.get(n, "")) for n in sentence.citations)
    elif not sentence.supported:
        out += ' <span class="rag-tag" title="No source passage supports this sentence">unsupported</span>'
    return out


def _blocks(answer: Answer, prefix: str) -> str:
    """Key points as a list, the overview and the answer as paragraphs, from the sentences' sections."""
    titles = {c.n: c.title for c in answer.citations}
    by_section: dict[str, list[str]] = {"point": [], "overview": [], "answer": []}
    for sentence in answer.sentences:
        by_section.setdefault(sentence.section, []).append(_sentence(sentence, prefix, titles))
    parts = []
    if by_section["point"]:
        items = "".join(f"<li>{s}</li>" for s in by_section["point"])
        parts.append(f'<h4 class="rag-section">Key points</h4><ul class="rag-points">{items}</ul>')
    if by_section["overview"]:
        parts.append(f'<h4 class="rag-section">Overview</h4><p>{" ".join(by_section["overview"])}</p>')
    if by_section["answer"]:
        parts.append(f'<p>{" ".join(by_section["answer"])}</p>')
    return "".join(parts)


def answer_html(answer: Answer, prefix: str) -> str:
    """The answer or briefing, with clickable [n] markers pointing at ``#<prefix>-src-<n>``."""
    if answer.abstained:
        body = f'<p class="rag-abstain">{esc(answer.text)}</p>'
    else:
        body = _blocks(answer, prefix)
        if answer.short_answer:
            label = describe(answer.short_answer_confidence) or "uncertain"
            short = (
                f'<span class="rag-label">Short answer</span> '
                f'<span class="rag-confidence" title="How sure the reader is of this span">{label}</span> '
                f'{esc(answer.short_answer)}'
            )
            body = f'<p class="rag-short rag-{label}">{short}</p>{body}'
        if confidence_line(answer):
            body += f'<p class="rag-muted rag-answer-confidence">{esc(confidence_line(answer))}</p>'
    notice = f'<p class="rag-notice">{markup(answer.notice)}</p>' if answer.notice else ""
    return f'<div class="rag-answer">{body}{notice}</div>'


def badge_html(answer: Answer) -> str:
    """Which generator and model wrote the answer, and how long it took."""
    total = answer.timings.get("total_s")
    took = f'<span class="rag-badge-time">{total:.2f} s</span>' if total is not None else ""
    return (
        f'<div class="rag-badge"><span class="rag-badge-gen">{esc(answer.generator)}</span>'
        f'<span class="rag-badge-model">{esc(answer.model)}</span>{took}</div>'
    )


def coverage_html(answer: Answer) -> str:
    """For briefings: how many chunks of each document were cited."""
    if not answer.coverage:
        return ""
    rows = "".join(
        f"<li>{esc(c.title)} <span class=\"rag-muted\">{c.chunks_used} of {c.chunks_total} passages cited</span></li>"
        for c in answer.coverage
    )
    return f'<div class="rag-coverage"><h4 class="rag-section">Coverage</h4><ul>{rows}</ul></div>'


# -- sources --------------------------------------------------------------------
def _window(text: str, start: int, end: int, before: int, after: int) -> tuple[int, int]:
    """A span from about ``before`` characters ahead of ``[start, end)`` to ``after`` past it, cut at whitespace."""
    left = max(0, start - before)
    if left > 0:
        space = text.find(" ", left, start)
        left = space + 1 if space >= 0 else left
    right = min(len(text), end + after)
    if right < len(text):
        space = text.rfind(" ", end, right)
        right = space if space >= 0 else right
    return left, right


def _marked(text: str, start: int, end: int, left: int, right: int) -> str:
    """``text[left:right]`` escaped, with ``[start, end)`` inside <mark>."""
    head = "\u2026" if left > 0 else ""
    tail = "\u2026" if right < len(text) else ""
    return (
        f"{head}{esc(text[left:start])}<mark class=\"rag-quote\">{esc(text[start:end])}</mark>"
        f"{esc(text[end:right])}{tail}"
    )


def source_card(citation: Citation, document: Document | None, prefix: str) -> str:
    """One cited passage inside its surrounding text, the quote highlighted (its document's title is above it)."""
    c = citation
    meta = []
    if c.page:
        meta.append(f"page {c.page}")
    meta.append(f"characters {c.start}\u2013{c.end}")
    # Support says how well the quote backs its sentence (1.00: the sentence is this quote, verbatim);
    # it says nothing about whether a short answer drawn from it is right.
    meta.append("verbatim quote" if c.support >= 1.0 else f"support {c.support:.2f}")
    if document is not None and document.text[c.start : c.end] == c.quote:
        left, right = _window(document.text, c.start, c.end, CONTEXT_BEFORE_CHARS, CONTEXT_AFTER_CHARS)
        context = _marked(document.text, c.start, c.end, left, right)
        full = ""
        if (left, right) != (0, len(document.text)) and len(document.text) <= FULL_TEXT_MAX_CHARS:
            whole = _marked(document.text, c.start, c.end, 0, len(document.text))
            full = (
                f'<details class="rag-full"><summary>Whole article</summary><div class="rag-text">{whole}</div>'
                "</details>"
            )
    else:
        context, full = f'<mark class="rag-quote">{esc(c.quote)}</mark>', ""
    return (
        f'<article class="rag-source" id="{prefix}-src-{c.n}" data-doc="{esc(c.doc_id)}">'
        f'<p class="rag-meta"><span class="rag-n">[{c.n}]</span> {META_SEP.join(meta)}</p>'
        f'<div class="rag-text rag-context">{context}</div>{full}</article>'
    )


def sources_html(answer: Answer, documents: Mapping[str, Document], prefix: str) -> str:
    """The sources panel: each document's title and source once, all its cited passages under it.

    Documents come in the order of their first marker, passages in marker order within each.
    """
    if not answer.citations:
        return EMPTY_SOURCES
    by_doc: dict[str, list[Citation]] = {}
    for citation in sorted(answer.citations, key=lambda c: c.n):
        by_doc.setdefault(citation.doc_id, []).append(citation)
    groups = []
    for doc_id, citations in by_doc.items():
        first = citations[0]
        cards = "".join(source_card(c, documents.get(doc_id), prefix) for c in citations)
        groups.append(
            f'<section class="rag-doc" data-doc="{esc(doc_id)}"><header class="rag-doc-head">'
            f'<span class="rag-title">{esc(first.title)}</span>'
            f'<span class="rag-doc-source">{esc(first.source)}</span></header>{cards}</section>'
        )
    return f'<div class="rag-sources">{"".join(groups)}</div>'


# -- library --------------------------------------------------------------------
def added_label(added_at: str) -> str:
    """``2025-06-10T11:48:03+00:00`` as ``2025-06-10 11:48 UTC``."""
    try:
        when = dt.datetime.fromisoformat(added_at)
    except ValueError:
        return added_at
    return when.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def size_label(chars: int) -> str:
    return f"{chars:,} chars" if chars < 10_000 else f"{chars / 1000:,.0f}k chars"


def library_rows(infos: Sequence[DocumentInfo]) -> list[list[object]]:
    """Rows of the documents table (Gradio shows them as plain text)."""
    return [[i.title, i.source, size_label(i.chars), i.chunks, added_label(i.added_at), i.doc_id] for i in infos]


def doc_choices(infos: Sequence[DocumentInfo]) -> list[tuple[str, str]]:
    """``(label, doc_id)`` pairs for the document pickers."""
    def label(i: DocumentInfo) -> str:
        title = i.title if len(i.title) <= DOC_LABEL_TITLE_CHARS else i.title[: DOC_LABEL_TITLE_CHARS - 1] + "\u2026"
        return f"{title} \u00b7 {i.doc_id[:8]}"

    return [(label(i), i.doc_id) for i in infos]


def status_html(status: IndexStatus, generators: GeneratorInfo, index_dir: str) -> str:
    """The index status: counts, embedder, device, generator availability."""
    rows = [
        ("Documents", f"{status.documents:,}"),
        ("Passages (chunks)", f"{status.chunks:,} ({status.max_chars} chars, {status.overlap_chars} overlap)"),
        ("Embedder", f"{status.embedder} ({status.dimension or '?'} dims)"),
        ("Device", status.device),
        ("Vector index", f"{status.index_kind}, {status.vectors:,} vectors"),
        ("Answers written by", generators.auto_uses),
        ("Seq2seq model", f"{generators.seq2seq_model}: {generators.availability}"),
        ("Index folder", f"{index_dir} ({human_bytes(status.disk_bytes)})"),
    ]
    items = "".join(f"<dt>{esc(k)}</dt><dd>{markup(v)}</dd>" for k, v in rows)
    return f'<dl class="rag-status">{items}</dl>'


# -- ingest --------------------------------------------------------------------
def ingest_html(outcome: IngestOutcome) -> str:
    """What an upload or paste did: an error that stopped it, the summary, then each file skipped."""
    if outcome.hint:
        return message_html(outcome.hint, "info")
    if outcome.refused:
        return message_html(outcome.refused, "error")
    report = outcome.report
    failure = message_html(outcome.error, "error") if outcome.error else ""
    summary = f"Added {len(report.added)} document(s) ({report.chunks} passages)."
    if report.unchanged:
        summary += f" {len(report.unchanged)} already in the library."
    if report.replaced:
        summary += f" Replaced {len(report.replaced)} earlier version(s) of the same upload."
    skipped = "".join(message_html(f"Skipped {p}", "error") for p in outcome.problems)
    return failure + message_html(summary, "ok" if outcome.ok else "error") + skipped
