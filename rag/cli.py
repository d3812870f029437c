"""The ``rag`` command line: a thin front end over ``rag.Rag``.

Turns RagError into a one-line message and exit code 1; never shows a
traceback for a user's mistake. Reads RAG_INDEX_DIR (and RAG_CACHE_DIR,
RAG_STORE and RAG_ENGINE, through rag/frontend.py). Keeps Hugging Face offline unless the user runs
``rag pull``. Building the parser imports nothing heavy, so ``rag --help``
is instant; each command imports what it needs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING, Any, Callable, NoReturn, Sequence

from rag.evaluation.cli import add_eval_commands
from rag.frontend import quiet_libraries, settings_from
from rag.generation.registry import CHOICES

if TYPE_CHECKING:
    from rag.core import Rag

Handler = Callable[[argparse.Namespace], int]
FORMATTER = argparse.RawDescriptionHelpFormatter


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line and exit code 1."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"rag: {message} (see `{self.prog} --help`)\n")
        raise SystemExit(1)


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False))


def _open(args: argparse.Namespace, check: bool = True) -> Rag:
    from rag.core import Rag

    return Rag(settings_from(args), check=check)


def _progress(label: str) -> Callable[[int, int], None]:
    from tqdm import tqdm

    bar: list[Any] = []

    def update(done: int, total: int) -> None:
        if not bar:
            bar.append(tqdm(total=total, desc=label, unit="chunk", delay=1.0, file=sys.stderr))
        bar[0].n = done
        bar[0].refresh()
        if done >= total:
            bar[0].close()

    return update


# -- commands -----------------------------------------------------------------
def cmd_ingest(args: argparse.Namespace) -> int:
    from rag.ingest import load_paths

    with _open(args, check=not args.rebuild) as rag:
        if args.rebuild:
            rebuilt = rag.rebuild(_progress("re-embedding"))
            print(f"Rebuilt the index: {rebuilt} chunks re-embedded with {rag.settings.embedder_model}.")
        loaded = load_paths(args.paths, stdin=sys.stdin, max_bytes=rag.settings.max_file_bytes)
        for problem in loaded.problems:
            print(f"skipped: {problem}", file=sys.stderr)
        for note in loaded.notes:
            print(f"note: {note}", file=sys.stderr)
        report = rag.ingest(loaded.documents, _progress("embedding"))
        print(
            f"Added {len(report.added)} document(s) ({report.chunks} chunks); "
            f"{len(report.unchanged)} unchanged; {len(report.replaced)} replaced; "
            f"{len(loaded.problems)} skipped. Index: {rag.location}"
        )
    return 1 if loaded.problems and not (report.added or report.unchanged) else 0


def cmd_search(args: argparse.Namespace) -> int:
    from rag.render import hit_json, hits_text

    with _open(args) as rag:
        hits = rag.search(args.query, k=args.k, doc_ids=args.docs)
    if args.json:
        _print_json([hit_json(h) for h in hits])
    else:
        print(hits_text(hits))
    return 0


def cmd_docs(args: argparse.Namespace) -> int:
    from rag.render import doc_info_json, docs_text

    with _open(args) as rag:
        infos = rag.documents()
    if args.json:
        _print_json([doc_info_json(i) for i in infos])
    else:
        print(docs_text(infos))
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from rag.render import document_json

    with _open(args) as rag:
        doc = rag.document(args.doc_id)
    if args.json:
        _print_json(document_json(doc))
    else:
        print(f"{doc.title}\n{doc.source}  ({doc.id}, {len(doc.text)} chars, added {doc.added_at})\n")
        print(doc.text)
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    with _open(args) as rag:
        removed = rag.remove(args.doc_ids)
    print(f"Removed {len(args.doc_ids)} document(s) and {removed} chunks.")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    with _open(args) as rag:
        status: dict[str, Any] = asdict(rag.status())
        status["index_dir"] = rag.location
        info = rag.generators()
        status["generator"] = f"auto uses {info.auto_uses}; seq2seq {info.seq2seq_model}: {info.availability}"
        problems = rag.check() if args.check else []
    if args.check:
        status["check"] = problems or "ok"
    if args.json:
        _print_json(status)
    else:
        width = max(len(key) for key in status)
        for key, value in status.items():
            print(f"{key:>{width}}: {value}")
    return 1 if problems else 0


def cmd_repair(args: argparse.Namespace) -> int:
    with _open(args) as rag:
        count = rag.repair()
        problems = rag.check()
        engine = rag.status().engine
    print(f"Rebuilt the search indexes ({engine}) from the store: {count} vectors. "
          f"Check: {'; '.join(problems) or 'ok'}")
    return 1 if problems else 0


def cmd_migrate(args: argparse.Namespace) -> int:
    with _open(args) as rag:
        report = rag.migrate(args.to_store, args.to_engine, _progress("copying"))
    print(
        f"Copied {report.documents} document(s) and {report.chunks} chunks with their vectors (nothing re-embedded) "
        f"to {report.store} + {report.engine} in {report.seconds:.1f} s. Check: {'; '.join(report.problems) or 'ok'}"
    )
    if not report.problems:
        print(f"Use it with: rag --store {report.store} --engine {report.engine} COMMAND "
              f"(or set RAG_STORE and RAG_ENGINE)")
    return 1 if report.problems else 0


def _print_answer(args: argparse.Namespace, answer: Any) -> int:
    from rag.render import answer_json, answer_text

    if args.json:
        _print_json(answer_json(answer))
    else:
        print(answer_text(answer))
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    with _open(args) as rag:
        answer = rag.ask(args.question, doc_ids=args.docs)
    return _print_answer(args, answer)


def cmd_brief(args: argparse.Namespace) -> int:
    with _open(args) as rag:
        answer = rag.brief(doc_ids=args.doc_ids or None, topic=args.topic, length=args.length)
    return _print_answer(args, answer)


def cmd_models(args: argparse.Namespace) -> int:
    from rag.models import local_seq2seq_models

    settings = settings_from(args)
    models = local_seq2seq_models()
    if args.json:
        _print_json([
            {"model": m.model_id, "path": str(m.path), "family": m.family, "bytes": m.size_bytes} for m in models
        ])
        return 0
    print(f"Configured seq2seq model: {settings.seq2seq_model}")
    if not models:
        print("No seq2seq models on this machine; answers use the extractive generator.")
        print("Get one with `rag pull google/flan-t5-base` on a connected machine, or pass --model /path/to/folder.")
    for m in models:
        print(f"  {m.model_id:40} {m.family:8} {m.size_bytes / 1e6:8.0f} MB  {m.path}")
    return 0


def cmd_pull(args: argparse.Namespace) -> int:
    from rag.models import pull

    path = pull(args.model)
    print(f"Downloaded {args.model} to {path}. Use it with --model {args.model}.")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from rag.web import serve

    serve(settings_from(args), host=args.host, port=args.port)
    return 0


# -- parser -------------------------------------------------------------------
def _command(sub: Any, name: str, handler: Handler, help_: str, example: str) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        name, help=help_, description=help_, epilog=f"example:\n  {example}", formatter_class=FORMATTER
    )
    parser.set_defaults(handler=handler)
    return parser


def _generation_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--generator", choices=CHOICES, help="who writes (default: auto)")
    parser.add_argument("--model", dest="seq2seq_model", metavar="ID_OR_DIR", help="seq2seq checkpoint id or folder")
    parser.add_argument("--max-new-tokens", type=int, help="seq2seq: longest output per call (default 160)")
    parser.add_argument("--beams", dest="num_beams", type=int, help="seq2seq: beam search width (default 4)")
    parser.add_argument("--json", action="store_true", help="print JSON")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="rag",
        description="Ask questions about your articles and get briefings, every sentence cited.",
        epilog="examples:\n  rag ingest seeds/\n  rag ask \"How much should NATO boost air defense?\"\n  rag brief",
        formatter_class=FORMATTER,
    )
    parser.add_argument("--index-dir", default=os.environ.get("RAG_INDEX_DIR", "index"),
                        help="index folder (default: ./index, or $RAG_INDEX_DIR)")
    parser.add_argument("--embedder", dest="embedder_model", help="sentence-transformers model id or folder")
    parser.add_argument("--device", help="cpu, cuda, mps (default: auto)")
    parser.add_argument("--backend", dest="embedder_backend", choices=["auto", "torch", "onnx", "onnx-int8"],
                        help="embedding backend (default auto: ONNX int8 on CPU, PyTorch on GPU)")
    parser.add_argument("--store", metavar="SPEC",
                        help="where documents, chunks and vectors live: sqlite (the index folder; default), "
                             "sqlite:PATH or postgresql://USER@HOST:PORT/DATABASE (or $RAG_STORE)")
    parser.add_argument("--engine", metavar="SPEC",
                        help="the search engine: local (FAISS + BM25 files in the index folder; default), "
                             "milvus://HOST:PORT or milvus-lite:PATH.db (or $RAG_ENGINE)")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND", parser_class=Parser)

    p = _command(sub, "ingest", cmd_ingest, "Add articles (files, folders, or - for stdin) to the index.",
                 "rag ingest seeds/ notes.md -")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--rebuild", action="store_true", help="re-chunk and re-embed everything already stored first")
    p.add_argument("--max-file-mb", type=float, help="refuse files larger than this (default 20 MB)")

    p = _command(sub, "search", cmd_search, "Show the passages most relevant to a query.",
                 'rag search "air defense" -k 3 --json')
    p.add_argument("query")
    p.add_argument("-k", type=int, default=5, help="how many passages (default 5)")
    p.add_argument("--docs", nargs="+", metavar="DOC_ID", help="only search these documents")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = _command(sub, "docs", cmd_docs, "List the documents in the index.", "rag docs --json")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = _command(sub, "show", cmd_show, "Print one document's full text and metadata.", "rag show d152b494c9972668")
    p.add_argument("doc_id", metavar="DOC_ID")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = _command(sub, "remove", cmd_remove, "Delete documents from the index.", "rag remove d152b494c9972668")
    p.add_argument("doc_ids", nargs="+", metavar="DOC_ID")

    p = _command(sub, "status", cmd_status, "Counts, embedder, device, index kind and size on disk.",
                 "rag status --check")
    p.add_argument("--check", action="store_true", help="verify the store and the search indexes agree (exit 1 if not)")
    p.add_argument("--json", action="store_true", help="print JSON")

    _command(sub, "repair", cmd_repair, "Rebuild the search indexes from what the store holds.", "rag repair")

    p = _command(sub, "migrate", cmd_migrate,
                 "Copy this index, vectors and all (no re-embedding), into an empty shared store and engine.",
                 "rag migrate --to-store postgresql://rag@db:5432/news --to-engine milvus://milvus:19530")
    p.add_argument("--to-store", required=True, metavar="SPEC", help="postgresql://USER@HOST:PORT/DATABASE, "
                   "or sqlite:PATH")
    p.add_argument("--to-engine", required=True, metavar="SPEC", help="milvus://HOST:PORT, milvus-lite:PATH.db "
                   "or local")

    p = _command(sub, "ask", cmd_ask, "Answer a question from the articles, with citations.",
                 'rag ask "Who met Trump in April?" --json')
    p.add_argument("question")
    p.add_argument("--docs", nargs="+", metavar="DOC_ID", help="only use these documents")
    p.add_argument("-k", type=int, dest="top_k", help="passages to retrieve (default 5)")
    _generation_options(p)

    p = _command(sub, "brief", cmd_brief, "A cited briefing of articles, or of those about a topic.",
                 'rag brief --topic "air defense" --length short')
    p.add_argument("doc_ids", nargs="*", metavar="DOC_ID", help="documents to brief (default: all, or by --topic)")
    p.add_argument("--topic", help="brief the documents most relevant to this topic")
    p.add_argument("--length", choices=["short", "medium", "long"], default="medium")
    _generation_options(p)

    p = _command(sub, "models", cmd_models, "List the seq2seq models available on this machine.", "rag models")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = _command(sub, "pull", cmd_pull, "Download a seq2seq model into the Hugging Face cache (needs a network).",
                 "rag pull google/flan-t5-base")
    p.add_argument("model", metavar="MODEL")

    p = _command(sub, "serve", cmd_serve, "Start the web UI.", "rag serve --port 7860")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=7860)
    p.add_argument("--max-file-mb", type=float, help="refuse uploads larger than this (default 20 MB)")

    add_eval_commands(sub, _command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``rag`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help()
        return 1
    quiet_libraries(offline=args.handler is not cmd_pull)
    from rag.errors import RagError

    try:
        return args.handler(args)
    except RagError as e:
        print(f"rag: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("rag: interrupted; the index is unchanged by the unfinished command", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
