"""Plain-text and Markdown renderings of hits, documents and answers.

Shared by the CLI (terminal) and the UI (Markdown downloads). Returns strings;
printing is the front end's job. JSON shapes for ``--json`` live here too so
the CLI and tests agree on one definition.
"""

from __future__ import annotations

import textwrap
from dataclasses import asdict
from typing import Any, Sequence

from rag.generation.confidence import describe
from rag.types import Answer, Document, DocumentInfo, Hit


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
        "confidence": _rounded(answer.confidence),
        "confidence_label": describe(answer.confidence),
        "short_answer_confidence": _rounded(answer.short_answer_confidence),
        "short_answer_label": describe(answer.short_answer_confidence),
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


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def short_answer_line(answer: Answer) -> str:
    """"Short answer (likely): X" or "Short answer (uncertain): X"; never a bare guess."""
    if not answer.short_answer or answer.abstained:
        return ""
    label = describe(answer.short_answer_confidence) or "uncertain"
    return f"Short answer ({label}): {answer.short_answer}"


def confidence_line(answer: Answer) -> str:
    """"Answer: likely right (0.82)" for answers that carry a confidence."""
    if answer.confidence is None or answer.abstained:
        return ""
    return f"Answer: {describe(answer.confidence)} right ({answer.confidence:.2f})"


def hits_text(hits: Sequence[Hit], width: int = 100) -> str:
    if not hits:
        return "No matching passages."
    blocks = []
    for h in hits:
        c = h.chunk
        head = f"[{h.rank}] {h.score:.3f}  {h.title}  ({h.source})\n    doc {c.doc_id}  chunk {c.id}  chars {c.start}-{c.end}"
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
    if short_answer_line(answer):
        parts.append(short_answer_line(answer) + "\n")
    parts.append(answer.text)
    if confidence_line(answer):
        parts.append(confidence_line(answer))
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
