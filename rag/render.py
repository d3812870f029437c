"""Plain-text and Markdown renderings of hits, documents and answers, made from the typed data.

Shared by the pipeline (``answer_body`` fills ``Answer.text``), the CLI
(terminal) and the UI (Markdown downloads). Returns strings; printing is the
front end's job. JSON shapes for ``--json`` live here too so the CLI and
tests agree on one definition. Nothing reads these strings back: the HTML of
the web UI is rendered from the same data (rag/web/render.py).
"""

from __future__ import annotations

import textwrap
from dataclasses import asdict
from typing import Any, Sequence

from rag.types import Answer, Document, DocumentInfo, Hit, Sentence

SECTION_ORDER = ("point", "overview", "answer")


def sentence_line(sentence: Sentence) -> str:
    """A sentence with its [n] markers, or marked "(unsupported)".

    >>> sentence_line(Sentence("It rained.", (1, 2), True))
    'It rained. [1][2]'
    >>> sentence_line(Sentence("Pigs fly."))
    'Pigs fly. (unsupported)'
    """
    marks = "".join(f"[{n}]" for n in sentence.citations)
    return f"{sentence.text} {marks}".rstrip() if sentence.supported else f"{sentence.text} (unsupported)"


def answer_body(sentences: Sequence[Sentence]) -> str:
    """The text of an answer or briefing: "Key points:" bullets, then "Overview: ...", then answer sentences.

    >>> print(answer_body([Sentence("A.", (1,), True, "point"), Sentence("B.", (2,), True, "overview")]))
    Key points:
    - A. [1]
    <BLANKLINE>
    Overview: B. [2]
    """
    lines = {section: [sentence_line(s) for s in sentences if s.section == section] for section in SECTION_ORDER}
    parts = []
    if lines["point"]:
        parts.append("Key points:\n" + "\n".join(f"- {p}" for p in lines["point"]))
    if lines["overview"]:
        parts.append("Overview: " + " ".join(lines["overview"]))
    if lines["answer"]:
        parts.append(" ".join(lines["answer"]))
    return "\n\n".join(parts)


def hit_json(hit: Hit) -> dict[str, Any]:
    c = hit.chunk
    return {
        "rank": hit.rank, "score": round(hit.score, 4), "doc_id": c.doc_id, "title": hit.title,
        "source": hit.source, "chunk_id": c.id, "start": c.start, "end": c.end, "text": c.text,
    }


def doc_info_json(info: DocumentInfo) -> dict[str, Any]:
    return {
        "doc_id": info.doc_id, "title": info.title, "source": info.source,
        "chars": info.chars, "chunks": info.chunks, "added_at": info.added_at,
    }


def document_json(doc: Document) -> dict[str, Any]:
    return {
        "doc_id": doc.id, "title": doc.title, "source": doc.source, "text": doc.text,
        "chars": len(doc.text), "added_at": doc.added_at, "metadata": dict(doc.metadata),
        "pages": [asdict(p) for p in doc.pages],
    }


def answer_json(answer: Answer) -> dict[str, Any]:
    return {
        "text": answer.text,
        "short_answer": answer.short_answer,
        "generator": answer.generator,
        "model": answer.model,
        "abstained": answer.abstained,
        "notice": answer.notice,
        "sentences": [
            {"text": s.text, "citations": list(s.citations), "supported": s.supported} for s in answer.sentences
        ],
        "citations": [
            {
                "n": c.n, "doc_id": c.doc_id, "title": c.title, "source": c.source, "chunk_id": c.chunk_id,
                "start": c.start, "end": c.end, "page": c.page, "quote": c.quote, "support": round(c.support, 4),
            }
            for c in answer.citations
        ],
        "coverage": [asdict(c) for c in answer.coverage],
        "timings": {k: round(v, 4) for k, v in answer.timings.items()},
    }


def hits_text(hits: Sequence[Hit], width: int = 100) -> str:
    if not hits:
        return "No matching passages."
    blocks = []
    for h in hits:
        c = h.chunk
        head = (
            f"[{h.rank}] {h.score:.3f}  {h.title}  ({h.source})\n"
            f"    doc {c.doc_id}  chunk {c.id}  chars {c.start}-{c.end}"
        )
        body = textwrap.indent(textwrap.fill(" ".join(c.text.split()), width - 4), "    ")
        blocks.append(f"{head}\n{body}")
    return "\n\n".join(blocks)


def docs_text(infos: Sequence[DocumentInfo]) -> str:
    if not infos:
        return "The index is empty. Add articles with `rag ingest PATH`."
    lines = [f"{'DOC_ID':16}  {'CHARS':>7}  {'CHUNKS':>6}  TITLE"]
    lines += [f"{i.doc_id:16}  {i.chars:>7}  {i.chunks:>6}  {i.title}" for i in infos]
    return "\n".join(lines)


def sources_text(answer: Answer, width: int = 100) -> str:
    """Citations grouped under their document: title and source once, then each quote."""
    lines: list[str] = []
    current = None
    for c in answer.citations:
        if c.doc_id != current:
            current = c.doc_id
            lines.append(f"  {c.title}  ({c.source})")
        page = f", page {c.page}" if c.page else ""
        quote = textwrap.fill(f"\u201c{' '.join(c.quote.split())}\u201d", width - 8, subsequent_indent=" " * 8)
        lines.append(f"    [{c.n}] chars {c.start}-{c.end}{page}:\n        {quote}")
    return "\n".join(lines)


def answer_text(answer: Answer) -> str:
    """The answer, its sources, and which generator wrote it."""
    parts = []
    if answer.short_answer and not answer.abstained:
        parts.append(f"Short answer: {answer.short_answer}\n")
    parts.append(answer.text)
    if answer.citations:
        parts.append("\nSources:\n" + sources_text(answer))
    if answer.coverage:
        cov = ", ".join(f"{c.title[:40]} ({c.chunks_used}/{c.chunks_total} chunks)" for c in answer.coverage)
        parts.append(f"\nCoverage: {cov}")
    total = answer.timings.get("total_s")
    took = f" in {total:.2f}s" if total is not None else ""
    parts.append(f"\n— {answer.generator} generator, model {answer.model}{took}")
    if answer.notice:
        parts.append(f"  ({answer.notice})")
    return "\n".join(parts)


def answer_markdown(answer: Answer, title: str) -> str:
    """A Markdown file of the answer or briefing with its sources listed."""
    lines = [f"# {title}", "", answer.text, "", "## Sources", ""]
    for c in answer.citations:
        page = f", page {c.page}" if c.page else ""
        lines.append(f"{c.n}. **{c.title}** ({c.source}{page}), characters {c.start}-{c.end}:")
        lines.append(f"   > {' '.join(c.quote.split())}")
    lines += ["", f"_Written by the {answer.generator} generator ({answer.model})._", ""]
    return "\n".join(lines)
