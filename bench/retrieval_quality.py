"""Retrieval quality on eval/qa.jsonl: dense against hybrid (BM25 + RRF) with and without MMR.

Every distinct context of the QA file becomes a document of a temporary index,
alone and then with the fixture articles of tests/data/ (whose questions in
tests/data/FACTS.md are scored as a second set). A QA question is a hit at k
when one of its first k retrieved chunks belongs to its own context and holds
a gold answer (SQuAD normalization); a fixture fact when the chunk holds the
answering sentence. Unanswerable questions are left out. "Rare-word" questions share a word with a gold chunk
that at most RARE_DF chunks of the collection hold (BM25's home ground).
Optionally compares chunk sizes (overlap a quarter of the size).

    nice -n 10 python bench/retrieval_quality.py                     # 400-char chunks
    nice -n 10 python bench/retrieval_quality.py --sizes 300 400 500 600 --write
"""

from __future__ import annotations

import argparse
import os
import tempfile
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from common import ROOT, table, write_section  # noqa: E402

from rag.embedding import Embedder  # noqa: E402
from rag.evaluation.dataset import load_qa  # noqa: E402
from rag.evaluation.metrics import contains_answer  # noqa: E402
from rag.core import Rag  # noqa: E402
from rag.ingest import load_paths  # noqa: E402
from rag.ingest.text import text_document  # noqa: E402
from rag.settings import Settings  # noqa: E402
from rag.tokens import tokenize  # noqa: E402
from rag.types import Chunk, Document  # noqa: E402

RARE_DF = 3
K = 5
CONFIGS = {
    "dense": {"hybrid": False, "retrieval_mmr_lambda": 1.0},
    "dense + MMR 0.9": {"hybrid": False, "retrieval_mmr_lambda": 0.9},
    "dense + MMR 0.7": {"hybrid": False, "retrieval_mmr_lambda": 0.7},
    "hybrid (RRF)": {"hybrid": True, "retrieval_mmr_lambda": 1.0},
    "hybrid + MMR 0.9": {"hybrid": True, "retrieval_mmr_lambda": 0.9},
    "hybrid + MMR 0.7": {"hybrid": True, "retrieval_mmr_lambda": 0.7},
}
FIXTURES = sorted(p for p in (ROOT / "tests" / "data").iterdir() if p.suffix in {".txt", ".md", ".html"} and p.name != "FACTS.md")
FACTS = ROOT / "tests" / "data" / "FACTS.md"
MODEL_CACHE = Path(tempfile.gettempdir()) / "rag-bench-models"


@dataclass(frozen=True)
class Question:
    """A question and a test of whether a retrieved chunk answers it."""

    id: str
    text: str
    doc_id: str
    golds: tuple[str, ...]  # gold answers (QA) or the answering sentence (facts)
    sentence: bool = False

    def answered_by(self, chunk: Chunk) -> bool:
        if chunk.doc_id != self.doc_id:
            return False
        if self.sentence:  # the chunk holds most of the sentence
            gold = self.golds[0]
            return gold in chunk.text or (len(chunk.text) > len(gold) // 2 and chunk.text in gold)
        return contains_answer(chunk.text, self.golds)


@dataclass(frozen=True)
class Scores:
    recall_at_1: float
    recall_at_k: float
    rare_recall_at_k: float
    rare_questions: int
    questions: int


def qa_questions(qa: Path) -> tuple[list[Question], list[Document]]:
    """Answerable questions of the QA file and one document per distinct context."""
    items = load_qa(qa)
    docs = {i.context: text_document(i.context, f"{qa.name}#{i.id}", i.id) for i in reversed(items)}
    questions = [Question(i.id, i.question, docs[i.context].id, i.answers) for i in items if i.answers]
    return questions, list({d.id: d for d in docs.values()}.values())


def fact_questions() -> tuple[list[Question], list[Document]]:
    """The fixture facts of tests/data/FACTS.md: a question and the sentence answering it."""
    documents = load_paths([str(p) for p in FIXTURES]).documents
    by_name = {Path(d.source).name: d for d in documents}
    questions, current = [], ""
    lines = FACTS.read_text(encoding="utf-8").splitlines()
    for n, line in enumerate(lines):
        if line.startswith("## "):
            current = line[3:].strip()
        elif line.strip().startswith("- Q:") and current in by_name:
            text = re.sub(r"\s*\(page \d+\)$", "", line.split("- Q:", 1)[1].strip())
            sentence = lines[n + 1].strip().removeprefix("Sentence:").strip()
            questions.append(Question(f"{current}#{len(questions)}", text, by_name[current].id, (sentence,), True))
    return questions, documents


def rare_questions(index: Rag, questions: list[Question]) -> set[str]:
    """Ids of questions sharing a word held by at most RARE_DF chunks with one of their gold chunks."""
    chunks = [c for info in index.documents() for c in index.chunks(info.doc_id)]
    df = Counter(t for c in chunks for t in set(tokenize(c.text)))
    rare = set()
    for q in questions:
        gold_words = {t for c in index.chunks(q.doc_id) if q.answered_by(c) for t in tokenize(c.text)}
        if any(df[t] <= RARE_DF and t in gold_words for t in tokenize(q.text)):
            rare.add(q.id)
    return rare


def score(index: Rag, questions: list[Question], rare: set[str], k: int = K) -> Scores:
    first, at_k, rare_hits = [], [], []
    for q in questions:
        flags = [q.answered_by(h.chunk) for h in index.search(q.text, k=k)]
        first.append(any(flags[:1]))
        at_k.append(any(flags))
        if q.id in rare:
            rare_hits.append(any(flags))
    mean = lambda xs: sum(xs) / len(xs) if xs else float("nan")  # noqa: E731
    return Scores(mean(first), mean(at_k), mean(rare_hits), len(rare_hits), len(questions))


def evaluate(
    sets: dict[str, list[Question]], documents: list[Document], embedder: Embedder, base: Settings,
    configs: dict[str, dict] = CONFIGS,
) -> dict[tuple[str, str], Scores]:
    """Scores of each (question set, configuration) on one temporary index built with ``embedder``."""
    with tempfile.TemporaryDirectory() as folder:
        settings = base.with_(index_dir=Path(folder))
        built = Rag(settings, embedder=embedder)
        built.ingest(documents)
        rare = {name: rare_questions(built, questions) for name, questions in sets.items()}
        results = {}
        for config, changes in configs.items():
            index = Rag(settings.with_(**changes), embedder=embedder)
            for name, questions in sets.items():
                results[(name, config)] = score(index, questions, rare[name])
            index.close()
        built.close()
    return results


def collections(qa: Path) -> list[tuple[str, dict[str, list[Question]], list[Document]]]:
    """(collection, question sets, documents): the QA articles alone, then with the fixture articles."""
    qa_set, qa_docs = qa_questions(qa)
    fact_set, fact_docs = fact_questions()
    return [
        ("eval articles", {"eval/qa.jsonl": qa_set}, qa_docs),
        ("eval + fixture articles", {"eval/qa.jsonl": qa_set, "fixture facts": fact_set}, qa_docs + fact_docs),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--qa", type=Path, default=ROOT / "eval" / "qa.jsonl")
    parser.add_argument("--sizes", type=int, nargs="+", default=[400], help="chunk sizes (max_chars) to compare")
    parser.add_argument("--backend", default="torch", help="embedding backend (default torch float32)")
    parser.add_argument("--write", action="store_true", help="write the section of bench/RESULTS.md")
    args = parser.parse_args()
    embedder = Embedder(Settings(embedder_backend=args.backend, cache_dir=MODEL_CACHE))
    headers = ["max_chars", "collection", "questions", "retrieval", "R@1", f"R@{K}", f"rare-word R@{K} (n)", "n"]
    rows = []
    for size in args.sizes:
        base = Settings(embedder_backend=args.backend, max_chars=size, overlap_chars=size // 4)
        for label, sets, documents in collections(args.qa):
            for (name, config), s in evaluate(sets, documents, embedder, base).items():
                rare = f"{s.rare_recall_at_k:.3f} ({s.rare_questions})"
                rows.append((size, label, name, config, s.recall_at_1, s.recall_at_k, rare, s.questions))
                print(table(headers, rows[-1:]).split("\n")[-1], flush=True)
    body = table(headers, rows)
    print(body)
    if args.write:
        sizes = " ".join(map(str, args.sizes))
        note = (
            f"Recall of the chunk holding a gold answer (own context) on `{args.qa.relative_to(ROOT)}`, answerable "
            f"questions only, embedder backend `{args.backend}`. Rare-word questions share with a gold chunk a word "
            f"held by at most {RARE_DF} chunks. Overlap is max_chars // 4.\n\n"
        )
        write_section("retrieval_quality", "Retrieval quality: dense vs hybrid, chunk sizes",
                      f"nice -n 10 python bench/retrieval_quality.py --sizes {sizes} --write", note + body)


if __name__ == "__main__":
    main()
