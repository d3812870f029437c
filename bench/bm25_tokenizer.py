"""BM25 alone with two tokenizers: rag's one tokenizer (rag/tokens.py) against the S-stemmer it replaced.

Until the two tokenizer stacks were merged, BM25 had its own: words in any
script, NLTK-style stopwords, plurals folded by Harman's S-stemmer. rag now
uses rag/tokens.py's ``tokenize`` for BM25 as for everything else. This
script measures what that does to keyword retrieval alone (no embeddings):
each file's contexts are chunked (400/100 characters) into one BM25 index,
each answerable question searched, and a hit is a chunk of the question's own
context holding a gold answer (normalized). With ``--hybrid`` it also runs
``Rag.search`` with ``hybrid=True`` (dense MiniLM + BM25, RRF, default MMR)
and dense alone, k=5, on a temporary index per tokenizer. Development
signal: /work/shared/devsets/qa.jsonl (SQuAD 2.0 paragraphs) and
eval/qa.jsonl.

    python bench/bm25_tokenizer.py [--hybrid] [--write]
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from common import ROOT, table, write_section

from rag.chunking import chunk_spans
from rag.storage import lexical
from rag.tokens import tokenize

# The team's dev data sits beside the repository (../shared/devsets), as the tests read it.
FILES = [ROOT.parent.parent / "shared" / "devsets" / "qa.jsonl", ROOT.parent / "shared" / "devsets" / "qa.jsonl",
         ROOT / "eval" / "qa.jsonl"]
S_STOPWORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has have having he
    her here hers herself him himself his how i if in into is it its itself just many me more most much my myself
    no nor not now of off on once only or other our ours ourselves out over own same she should so some such than
    that the their theirs them themselves then there these they this those through to too under until up very was
    we were what when where which while who whom why will with would you your yours yourself yourselves""".split()
)
S_TOKEN = re.compile(r"[^\W_]+(?:[.,][0-9]+)*")


def s_stem(word: str) -> str:
    """Harman's "S" stemmer (the BM25 tokenizer before the merge)."""
    if len(word) > 3 and word.endswith("ies") and not word.endswith(("eies", "aies")):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("es") and not word.endswith(("aes", "ees", "oes")):
        return word[:-1]
    if len(word) > 2 and word.endswith("s") and not word.endswith(("us", "ss")):
        return word[:-1]
    return word


def s_tokenize(text: str) -> list[str]:
    return [s_stem(t) for t in S_TOKEN.findall(text.lower()) if t not in S_STOPWORDS and (len(t) > 1 or t.isdigit())]


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def recall(path: Path, tokenizer: Callable[[str], list[str]]) -> tuple[float, float, int]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    contexts = list(dict.fromkeys(r["context"] for r in rows))
    chunks = [(ci, c[s:e]) for ci, c in enumerate(contexts) for s, e in chunk_spans(c, 400, 100)]
    saved = lexical.tokenize
    lexical.tokenize = tokenizer  # the index module's tokenizer, swapped for the measurement
    try:
        index = lexical.LexicalIndex.build([[(i, text) for i, (_, text) in enumerate(chunks)]])
        first = at5 = asked = 0
        for row in rows:
            if not row.get("answers"):
                continue
            own = contexts.index(row["context"])
            hits = [i for i, _ in index.search(row["question"], 5)]
            flags = [chunks[i][0] == own and any(_norm(a) in _norm(chunks[i][1]) for a in row["answers"]) for i in hits]
            asked += 1
            first += bool(flags[:1] and flags[0])
            at5 += any(flags)
    finally:
        lexical.tokenize = saved
    return first / asked, at5 / asked, asked


def _memo_embedder():
    from rag.embedding import Embedder
    from rag.settings import Settings

    class Memo(Embedder):
        """The default MiniLM, each distinct text embedded once for all runs (int8: batch-independent)."""

        def __init__(self) -> None:
            super().__init__(Settings())
            self.seen: dict[str, np.ndarray] = {}

        def encode(self, texts: Sequence[str], progress=None) -> np.ndarray:
            missing = [t for t in dict.fromkeys(texts) if t not in self.seen]
            if missing:
                self.seen.update(zip(missing, super().encode(missing), strict=True))
            return np.stack([self.seen[t] for t in texts]) if texts else np.zeros((0, self.dimension), np.float32)

    return Memo()


def hybrid_recall(path: Path, tokenizer: Callable[[str], list[str]], embedder, hybrid: bool) -> float:
    from rag.core import Rag
    from rag.ingest.text import text_document
    from rag.settings import Settings

    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    contexts = list(dict.fromkeys(r["context"] for r in rows))
    saved = lexical.tokenize
    lexical.tokenize = tokenizer
    try:
        with tempfile.TemporaryDirectory() as folder:
            settings = Settings(index_dir=Path(folder), hybrid=hybrid)
            with Rag(settings, embedder=embedder) as rag:
                docs = [text_document(c, source=f"ctx{i}", title_hint=f"ctx{i}") for i, c in enumerate(contexts)]
                rag.ingest(docs)
                hits = 0
                asked = [r for r in rows if r.get("answers")]
                for row in asked:
                    own = docs[contexts.index(row["context"])].id
                    found = rag.search(row["question"], k=5)
                    hits += any(h.chunk.doc_id == own and any(_norm(a) in _norm(h.chunk.text) for a in row["answers"])
                                for h in found)
    finally:
        lexical.tokenize = saved
    return hits / len(asked)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help="write the bm25_tokenizer section of bench/RESULTS.md")
    parser.add_argument("--hybrid", action="store_true", help="also dense + BM25 through Rag.search (embeds)")
    args = parser.parse_args()
    rows = []
    hybrid_rows = []
    embedder = _memo_embedder() if args.hybrid else None
    for path in dict.fromkeys(p.resolve() for p in FILES if p.exists()):
        for name, tokenizer in (("S-stemmer (before)", s_tokenize), ("rag/tokens.py (now)", tokenize)):
            r1, r5, n = recall(path, tokenizer)
            rows.append([f"{path.parent.name}/{path.name}", name, r1, r5, n])
            if args.hybrid:
                hybrid_rows.append([f"{path.parent.name}/{path.name}", name,
                                    hybrid_recall(path, tokenizer, embedder, True)])
        if args.hybrid:
            hybrid_rows.append([f"{path.parent.name}/{path.name}", "(dense alone)",
                                hybrid_recall(path, tokenize, embedder, False)])
    text = table(["questions", "BM25 tokenizer", "R@1", "R@5", "n"], rows)
    if hybrid_rows:
        text += "\n\nDense + BM25 (RRF, MMR 0.9) through `Rag.search`, R@5:\n\n"
        text += table(["questions", "BM25 tokenizer", "hybrid R@5"], hybrid_rows)
    print(text)
    if args.write:
        body = (
            "BM25 alone (no embeddings), contexts chunked at 400/100 characters; a hit is a chunk of the "
            "question's own context holding a gold answer.\n\n" + text
        )
        command = f"python bench/bm25_tokenizer.py{' --hybrid' if args.hybrid else ''} --write"
        write_section("bm25_tokenizer", "BM25 with rag's one tokenizer against the S-stemmer it replaced",
                      command, body)


if __name__ == "__main__":
    main()
