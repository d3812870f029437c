"""Fit the extractive reader's weights on a SQuAD-style dev set, cross-validated by article.

    python eval/fit_reader.py ../shared/devsets/qa.jsonl            # CV report only
    python eval/fit_reader.py ../shared/devsets/qa.jsonl --write    # and rewrite rag/generation/weights.py

Every distinct context becomes a document of one throwaway index (as in
``rag eval qa``). Each question is read twice: against the whole collection
(answerable and unanswerable questions) and against the articles other than
its own (an off-collection question, which must be declined). The reader's
raw features (rag/generation/reader.py) are cached (``--cache``), then five
small models are fitted in plain numpy (rag/generation/logistic.py):

- ``SPAN_MODEL``: conditional logit over a question's candidate spans, target:
  exact match with a gold answer;
- ``SENTENCE_MODEL``: conditional logit over the closely read sentences,
  target: the sentence holds a gold answer;
- ``SHORT_MODEL`` / ``ANSWER_MODEL``: logistic regressions giving P(short
  answer exact) and P(cited sentences hold a gold answer);
- ``GATE_MODEL`` / ``GATE_RETRIEVAL_MODEL``: P(answer right) with the
  collection's retrieval signals; the abstention threshold is the largest
  that still answers 95% of the answerable questions out of fold.

Cross-validation leaves one article (SQuAD title) out at a time: all its
paragraphs and questions are unseen by the models that score them.
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rag.evaluation.metrics import contains_answer, exact_match, token_f1  # noqa: E402
from rag.generation.answer_choice import (  # noqa: E402
    CONFIDENCE_FEATURES,
    SENTENCE_MODEL_FEATURES,
    choose,
    sentence_rows,
    weigh,
)
from rag.generation.confidence import gate_row, retrieval_signals  # noqa: E402
from rag.generation.logistic import LogisticModel, fit, fit_ranker  # noqa: E402
from rag.generation.reader import CLOZE_FEATURE, SPAN_FEATURES, Reading, read  # noqa: E402
from rag.generation.reader_models import GateModels, ReaderModels  # noqa: E402

ANSWERED_SHARE = 0.95
L2 = 1.0
SPAN_NAMES: tuple[str, ...] = SPAN_FEATURES  # with --cloze: SPAN_FEATURES + ("cloze",)
GATE_FEATURES = ("reader_logit", "best_cosine", "margin")
GATE_RETRIEVAL_FEATURES = ("best_cosine", "margin")
WEIGHTS_FILE = ROOT / "rag" / "generation" / "weights.py"


# -- reading the dev set ------------------------------------------------------------
def collect(path: Path, cloze: bool = False) -> list[dict[str, Any]]:
    """Every question read in its collection and off it, with retrieval signals."""
    from rag.evaluation.dataset import load_qa
    from rag.evaluation.runner import temporary_index
    from rag.ingest.text import text_document
    from rag.settings import Settings
    from rag.types import Passage

    items = load_qa(path)
    titles = {row["id"]: row.get("title", row["id"]) for row in map(json.loads, path.open(encoding="utf-8")) if row}
    records = []
    with temporary_index(Settings(generator="extractive")) as rag:
        contexts = {it.context: it for it in reversed(items)}
        docs = {c: text_document(c, source=f"{path.name}#{it.id}", title_hint=it.id) for c, it in contexts.items()}
        rag.ingest(list(docs.values()))
        title_of = {docs[c].id: titles[it.id] for c, it in contexts.items()}
        for n, item in enumerate(items):
            record: dict[str, Any] = {"id": item.id, "answers": item.answers, "title": titles[item.id]}
            for mode in ("in", "off"):
                allowed = None if mode == "in" else [d for d, t in title_of.items() if t != titles[item.id]]
                # The same search as ``Rag.ask``: its hits, and the wider pool the gate compares them with.
                retrieval = rag.retrieve(item.question, k=rag.settings.top_k, doc_ids=allowed)
                passages = [Passage(rag.document(h.chunk.doc_id), h.chunk, h.score) for h in retrieval.hits]
                record[mode] = {
                    "reading": read(item.question, passages, rag.embedder, cloze=cloze),
                    "cosines": [h.score for h in retrieval.hits], "pool": list(retrieval.pool_cosines),
                }
            records.append(record)
            print(f"\rread {n + 1}/{len(items)}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return records


# -- labels and rows ----------------------------------------------------------------------
def span_targets(reading: Reading, answers: tuple[str, ...]) -> np.ndarray:
    return np.array([exact_match(s.text, answers) for _, _, s in reading.spans])


def sentence_targets(reading: Reading, answers: tuple[str, ...]) -> np.ndarray:
    return np.array([float(contains_answer(reading.sentences[i].text, answers)) for i in reading.pool])


def usable(record: dict[str, Any], mode: str = "in") -> bool:
    r = record[mode]["reading"]
    return r is not None and len(r.spans) > 0


def _flat(names: tuple[str, ...]) -> LogisticModel:
    return LogisticModel(names, (0.0,) * len(names), (1.0,) * len(names), (0.0,) * len(names), 0.0)


def fit_ranking(train: list[dict[str, Any]]) -> ReaderModels:
    """Span and sentence rankers fitted on ``train`` (confidence models left flat)."""
    answerable = [r for r in train if r["answers"] and usable(r)]
    span = fit_ranker(SPAN_NAMES, [r["in"]["reading"].span_columns(SPAN_NAMES) for r in answerable],
                      [span_targets(r["in"]["reading"], r["answers"]) for r in answerable], l2=L2)
    flat = ReaderModels(span, _flat(SENTENCE_MODEL_FEATURES), _flat(CONFIDENCE_FEATURES), _flat(CONFIDENCE_FEATURES))
    groups, targets = [], []
    for r in answerable:
        reading = r["in"]["reading"]
        groups.append(sentence_rows(reading, span.logit(reading.span_columns(SPAN_NAMES)), flat))
        targets.append(sentence_targets(reading, r["answers"]))
    sentence = fit_ranker(SENTENCE_MODEL_FEATURES, groups, targets, l2=L2)
    return ReaderModels(span, sentence, flat.short, flat.answer)


def judge(record: dict[str, Any], models: ReaderModels, mode: str = "in") -> dict[str, Any]:
    """The evidence ``models`` pick for one reading and how right it is."""
    reading = record[mode]["reading"]
    answers = record["answers"] if mode == "in" else ()
    signals = retrieval_signals(record[mode]["cosines"], record[mode]["pool"])
    if reading is None:
        return {"features": None, "short": None, "em": 0.0, "f1": 0.0, "contains": False, "signals": signals}
    evidence = weigh(reading, models)
    cited = " ".join(c.text for c in evidence.sentences)
    short = evidence.short[1].text if evidence.short else cited
    return {
        "features": evidence.features[0], "short": evidence.short, "signals": signals,
        "em": exact_match(short, answers), "f1": token_f1(short, answers),
        "contains": contains_answer(cited + " " + short, answers), "cited": len(evidence.sentences),
    }


def by_article(records: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        groups[r["title"]].append(r)
    return dict(groups)


def out_of_fold(records: list[dict[str, Any]], mode: str = "in") -> dict[str, dict[str, Any]]:
    """Each record judged by rankers fitted without its article."""
    articles = by_article(records)
    judged = {}
    for title, held_out in articles.items():
        models = fit_ranking([r for t, rs in articles.items() if t != title for r in rs])
        for r in held_out:
            judged[r["id"]] = judge(r, models, mode)
    return judged


def fit_confidence(records: list[dict[str, Any]]) -> ReaderModels:
    """Rankers on all ``records``; confidence models on their out-of-fold evidence, in the collection
    and off it (an off-collection reading is never right, so the answer model learns what that looks like)."""
    models = fit_ranking(records)
    rows = []
    for mode in ("in", "off"):
        judged = out_of_fold(records, mode)
        rows += [judged[r["id"]] for r in records if judged[r["id"]]["features"] is not None]
    x = np.array([j["features"] for j in rows])
    short_rows = np.array([j["short"] is not None for j in rows])
    short = fit(CONFIDENCE_FEATURES, x[short_rows], np.array([j["em"] for j in rows])[short_rows], l2=L2)
    answer = fit(CONFIDENCE_FEATURES, x, np.array([float(j["contains"]) for j in rows]), l2=L2)
    return ReaderModels(models.span, models.sentence, short, answer)


def gate_rows(record: dict[str, Any], models: ReaderModels, mode: str) -> tuple[np.ndarray, np.ndarray, float]:
    """(reader gate row, retrieval gate row, label) of one reading under ``models``."""
    reading = record[mode]["reading"]
    signals = retrieval_signals(record[mode]["cosines"], record[mode]["pool"])
    answers = record["answers"] if mode == "in" else ()
    if reading is None:
        return gate_row(1e-4, signals)[0], gate_row(None, signals)[0], 0.0
    choice = choose(reading, models)
    right = contains_answer(" ".join(c.text for c in choice.sentences), answers)
    return gate_row(choice.confidence, signals)[0], gate_row(None, signals)[0], float(right)


def threshold(probabilities: np.ndarray, share: float = ANSWERED_SHARE) -> float:
    """The largest cut-off that keeps ``share`` of ``probabilities`` at or above it."""
    ordered = np.sort(probabilities)
    return float(ordered[int(np.floor((1 - share) * len(ordered)))]) if len(ordered) else 0.0


def gate_training(records: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gate rows of every reading (in and off the collection) under reader models fitted without
    its article: reader rows, retrieval rows, labels."""
    articles = by_article(records)
    reader_rows, retrieval_rows, labels = [], [], []
    for title, held_out in articles.items():
        models = fit_confidence([r for t, rs in articles.items() if t != title for r in rs])
        for r in held_out:
            for mode in ("in", "off"):
                a, b, y = gate_rows(r, models, mode)
                reader_rows.append(a)
                retrieval_rows.append(b)
                labels.append(y)
    return np.array(reader_rows), np.array(retrieval_rows), np.array(labels)


def fit_gate(records: list[dict[str, Any]]) -> GateModels:
    """Gate models on out-of-fold rows (thresholds are set later, from the outer folds)."""
    reader_rows, retrieval_rows, labels = gate_training(records)
    return GateModels(fit(GATE_FEATURES, reader_rows, labels, l2=L2),
                      fit(GATE_RETRIEVAL_FEATURES, retrieval_rows, labels, l2=L2), 0.0, 0.0)


def cross_validate(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Leave one article out: fit everything on the others, score the held-out article."""
    articles = by_article(records)
    rows: list[dict[str, Any]] = []
    for title, held_out in articles.items():
        train = [r for t, rs in articles.items() if t != title for r in rs]
        models = fit_confidence(train)
        gate = fit_gate(train)
        for r in held_out:
            for mode in ("in", "off"):
                j = judge(r, models, mode)
                reading = r[mode]["reading"]
                choice = choose(reading, models) if reading is not None else None
                a, b, _ = gate_rows(r, models, mode)
                kind = "off" if mode == "off" else ("answerable" if r["answers"] else "unanswerable")
                rows.append({
                    **j, "title": title, "kind": kind,
                    "short_confidence": choice.short_confidence if choice and choice.short else None,
                    "gate": float(gate.reader.probability(a[None, :])[0]),
                    "gate_retrieval": float(gate.retrieval.probability(b[None, :])[0]),
                })
        print(f"fold {title}: done", file=sys.stderr)
    return summarize(rows)


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    answerable = [r for r in rows if r["kind"] == "answerable"]
    out: dict[str, Any] = {
        "exact_match": np.mean([r["em"] for r in answerable]), "f1": np.mean([r["f1"] for r in answerable]),
        "containment": np.mean([r["contains"] for r in answerable]),
        "cited_sentences": np.mean([r.get("cited", 0) for r in answerable]),
    }
    for key in ("gate", "gate_retrieval"):
        cut = threshold(np.array([r[key] for r in answerable]))
        out[f"{key}_threshold"] = cut
        for kind in ("answerable", "unanswerable", "off"):
            chosen = [r for r in rows if r["kind"] == kind]
            out[f"{key}_abstain_{kind}"] = np.mean([r[key] < cut for r in chosen]) if chosen else float("nan")
    shorts = [r for r in answerable if r["short_confidence"] is not None]
    likely = [r["em"] for r in shorts if r["short_confidence"] >= 0.5]
    uncertain = [r["em"] for r in shorts if r["short_confidence"] < 0.5]
    out.update(likely_n=len(likely), likely_exact=np.mean(likely) if likely else float("nan"),
               uncertain_n=len(uncertain), uncertain_exact=np.mean(uncertain) if uncertain else float("nan"))
    return out


# -- writing the weights ------------------------------------------------------------------
def render(reader: ReaderModels, gate: GateModels, report: dict[str, Any], source: str) -> str:
    def indent(model: LogisticModel) -> str:
        return model.describe().replace("\n", "\n    ")

    summary = "\n".join(f"#   {k}: {v:.4f}" if isinstance(v, float) else f"#   {k}: {v}" for k, v in report.items())
    return f'''"""Fitted weights of the extractive reader and the abstention gate. Generated: do not edit.

Made by ``python eval/fit_reader.py {source} --write`` (leave-one-article-out
cross-validation on the shared dev set; see eval/README.md). The models are
applied by rag/generation/answer_choice.py and rag/generation/confidence.py.
"""

from __future__ import annotations

from rag.generation.logistic import LogisticModel
from rag.generation.reader_models import GateModels, ReaderModels

# Cross-validated by article when these weights were made (shares, not percentages):
{summary}


READER = ReaderModels(
    span={indent(reader.span)},
    sentence={indent(reader.sentence)},
    short={indent(reader.short)},
    answer={indent(reader.answer)},
)
GATE = GateModels(
    reader={indent(gate.reader)},
    retrieval={indent(gate.retrieval)},
    abstain_below={gate.abstain_below:.4f},
    abstain_below_retrieval={gate.abstain_below_retrieval:.4f},
)
'''


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", type=Path, help="SQuAD-style JSON Lines with a 'title' per row")
    parser.add_argument("--cache", type=Path, help="pickle of the readings: read it if it exists, else write it")
    parser.add_argument("--write", action="store_true", help=f"rewrite {WEIGHTS_FILE.relative_to(ROOT)}")
    parser.add_argument("--cloze", action="store_true", help="add the cloze feature to the span model (ablation)")
    args = parser.parse_args()
    if args.cloze:
        global SPAN_NAMES
        SPAN_NAMES = SPAN_FEATURES + (CLOZE_FEATURE,)
    if args.cache and args.cache.exists():
        records = pickle.loads(args.cache.read_bytes())
    else:
        records = collect(args.file, cloze=args.cloze)
        if args.cache:
            args.cache.write_bytes(pickle.dumps(records))
    report = cross_validate(records)
    for key, value in report.items():
        print(f"{key:32} {value:.4f}" if isinstance(value, float) else f"{key:32} {value}")
    if args.write:
        reader = fit_confidence(records)
        gate = fit_gate(records)
        gate = GateModels(gate.reader, gate.retrieval, report["gate_threshold"], report["gate_retrieval_threshold"])
        posix = args.file.resolve().as_posix()
        source = "../shared/devsets/" + args.file.name if "/shared/devsets/" in posix else args.file.as_posix()
        text = render(reader, gate, {k: float(v) for k, v in report.items()}, source)
        WEIGHTS_FILE.write_text(text, encoding="utf-8")
        print(f"wrote {WEIGHTS_FILE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
