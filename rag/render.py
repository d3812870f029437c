"""Plain-text and Markdown renderings of hits, documents and answers, made from the typed data.

Shared by the pipeline (``answer_body`` fills ``Answer.text``), the CLI
(terminal) and the UI (Markdown downloads). Returns strings; printing is the
front end's job. JSON shapes for ``--json`` live here too so the CLI and
tests agree on one definition. Nothing reads these strings back: the HTML of
the web UI is rendered from the same data (rag/web/render.py). Text from
articles goes through rag/escaping.py: terminal renderings escape control
characters in every field, the Markdown file shows article text literally.
"""

from __future__ import annotations

import textwrap
from dataclasses import asdict
from typing import Any, Callable, Sequence

from rag.escaping import markdown_text, printable, shorten
from rag.generation.wording import describe
from rag.types import Answer, Document, DocumentInfo, Hit, Sentence

SECTION_ORDER = ("point", "overview", "answer")
TITLE_LABEL_CHARS = 60


def sentence_line(sentence: Sentence) -> str:
    """A sentence with its [n] markers, or marked "(unsupported)".

    >>> sentence_line(Sentence("It rained.", (1, 2), True))
    'It rained. [1][2]'
    >>> sentence_line(Sentence("Pigs fly."))
    'Pigs fly. (unsupported)'
    """
    marks = "".join(f"[{n}]" for n in sentence.citations)
    return f"{sentence.text} {marks}".rstrip() if sentence.supported else f"{sentence.text} (unsupported)"


def answer_body(sentences: Sequence[Sentence], line: Callable[[Sentence], str] = sentence_line) -> str:
    """The text of an answer or briefing: "Key points:" bullets, then "Overview: ...", then answer sentences.

    >>> print(answer_body([Sentence("A.", (1,), True, "point"), Sentence("B.", (2,), True, "overview")]))
    Key points:
    - A. [1]
    <BLANKLINE>
    Overview: B. [2]
    """
    lines = {section: [line(s) for s in sentences if s.section == section] for section in SECTION_ORDER}
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


def model_name(model: str) -> str:
    """The short name of a model id or folder, as people say it.

    >>> model_name("sentence-transformers/all-MiniLM-L6-v2"), model_name("/models/flan-t5-base/")
    ('all-MiniLM-L6-v2', 'flan-t5-base')
    """
    return model.rstrip("/\\").replace("\\", "/").rsplit("/", 1)[-1] or model


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def short_answer_line(answer: Answer) -> str:
    """"Short answer (likely): X" or "Short answer (uncertain): X"; never a bare guess."""
    if not answer.short_answer or answer.abstained:
        return ""
    label = describe(answer.short_answer_confidence) or "uncertain"
    return f"Short answer ({label}): {answer.short_answer}"


def confidence_line(answer: Answer) -> str:
    """"Answer: likely right (0.82)" or "Answer: uncertain (0.31)" for answers that carry a confidence.

    >>> confidence_line(Answer("", (), (), "extractive", "m", confidence=0.31))
    'Answer: uncertain (0.31)'
    """
    if answer.confidence is None or answer.abstained:
        return ""
    words = "likely right" if describe(answer.confidence) == "likely" else "uncertain"
    return f"Answer: {words} ({answer.confidence:.2f})"


def hits_text(hits: Sequence[Hit], width: int = 100) -> str:
    if not hits:
        return "No matching passages."
    blocks = []
    for h in hits:
        c = h.chunk
        head = (
            f"[{h.rank}] {h.score:.3f}  {printable(h.title)}  ({printable(h.source)})\n"
            f"    doc {c.doc_id}  chunk {c.id}  chars {c.start}-{c.end}"
        )
        body = textwrap.indent(textwrap.fill(printable(" ".join(c.text.split())), width - 4), "    ")
        blocks.append(f"{head}\n{body}")
    return "\n\n".join(blocks)


def docs_text(infos: Sequence[DocumentInfo]) -> str:
    if not infos:
        return "The index is empty. Add articles with `rag ingest PATH`."
    lines = [f"{'DOC_ID':16}  {'CHARS':>7}  {'CHUNKS':>6}  TITLE"]
    lines += [f"{i.doc_id:16}  {i.chars:>7}  {i.chunks:>6}  {printable(i.title)}" for i in infos]
    return "\n".join(lines)


def document_text(doc: Document) -> str:
    """``rag show``: title, source and id, then the whole text (control characters escaped)."""
    head = f"{printable(doc.title)}\n{printable(doc.source)}  ({doc.id}, {len(doc.text)} chars, added {doc.added_at})"
    return f"{head}\n\n{printable(doc.text, keep_lines=True)}"


def sources_text(answer: Answer, width: int = 100) -> str:
    """Citations grouped under their document: title and source once, then each quote."""
    lines: list[str] = []
    current = None
    for c in answer.citations:
        if c.doc_id != current:
            current = c.doc_id
            lines.append(f"  {printable(c.title)}  ({printable(c.source)})")
        page = f", page {c.page}" if c.page else ""
        quote = f"\u201c{printable(' '.join(c.quote.split()))}\u201d"
        quote = textwrap.fill(quote, width - 8, subsequent_indent=" " * 8)
        lines.append(f"    [{c.n}] chars {c.start}-{c.end}{page}:\n        {quote}")
    return "\n".join(lines)


def provenance(answer: Answer, retrieval_model: str | None = None) -> str:
    """Who wrote the answer and what found its passages, e.g.
    "quoted from the articles (extractive); retrieval by all-MiniLM-L6-v2".

    The extractive generator picks sentences with the retrieval model, so its
    ``answer.model`` is that model; a seq2seq answer names its writer.

    >>> provenance(Answer("", (), (), "extractive", "sentence-transformers/all-MiniLM-L6-v2"))
    'quoted from the articles (extractive); retrieval by all-MiniLM-L6-v2'
    >>> provenance(Answer("", (), (), "seq2seq", "google/flan-t5-base"), "sentence-transformers/all-MiniLM-L6-v2")
    'written by flan-t5-base (seq2seq); retrieval by all-MiniLM-L6-v2'
    """
    if answer.generator == "extractive":
        writer = "quoted from the articles (extractive)"
        retrieval_model = retrieval_model or answer.model
    else:
        writer = f"written by {model_name(answer.model)} ({answer.generator})"
    return f"{writer}; retrieval by {model_name(retrieval_model)}" if retrieval_model else writer


def coverage_text(answer: Answer) -> str:
    """"Coverage: <title shortened at a word> (3/9 chunks), ..." for briefings."""
    return "Coverage: " + ", ".join(
        f"{printable(shorten(c.title, TITLE_LABEL_CHARS))} ({c.chunks_used}/{c.chunks_total} chunks)"
        for c in answer.coverage
    )


def answer_text(answer: Answer, retrieval_model: str | None = None) -> str:
    """The answer, its sources, and which generator wrote it (terminal-safe)."""
    parts = []
    short = short_answer_line(answer)
    if short:
        parts.append(printable(short) + "\n")
    parts.append(printable(answer.text, keep_lines=True))
    if confidence_line(answer):
        parts.append(confidence_line(answer))
    if answer.citations:
        parts.append("\nSources:\n" + sources_text(answer))
    if answer.coverage:
        parts.append("\n" + coverage_text(answer))
    total = answer.timings.get("total_s")
    took = f" in {total:.2f}s" if total is not None else ""
    parts.append(f"\n\u2014 {provenance(answer, retrieval_model)}{took}")
    if answer.notice:
        parts.append(f"  ({printable(answer.notice)})")
    return "\n".join(parts)


def _markdown_sentence(sentence: Sentence) -> str:
    marks = "".join(f"[{n}]" for n in sentence.citations)
    text = markdown_text(sentence.text)
    return f"{text} {marks}".rstrip() if sentence.supported else f"{text} (unsupported)"


def answer_markdown(answer: Answer, title: str) -> str:
    """A Markdown file of the answer or briefing with its sources listed.

    Everything from the articles (sentences, titles, sources, quotes) is
    escaped so that a Markdown viewer shows it as text: no raw HTML, and
    links or images in an article stay visible text that loads nothing.
    """
    body = answer_body(answer.sentences, _markdown_sentence) if answer.sentences else markdown_text(answer.text)
    short, sure = short_answer_line(answer), confidence_line(answer)
    lines = [f"# {markdown_text(title)}", ""] + ([markdown_text(short), ""] if short else []) + [body, ""]
    lines += [markdown_text(sure), ""] if sure else []
    lines += ["## Sources", ""]
    for c in answer.citations:
        page = f", page {c.page}" if c.page else ""
        lines.append(f"{c.n}. **{markdown_text(c.title)}** ({markdown_text(c.source)}{page}), "
                     f"characters {c.start}-{c.end}:")
        lines.append(f"   > {markdown_text(c.quote)}")
    written = provenance(answer)
    lines += ["", f"_{markdown_text(written[:1].upper() + written[1:])}._", ""]
    return "\n".join(lines)
