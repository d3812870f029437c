"""The ``rag`` command line: a thin front end over ``rag.Rag``.

Habits of git and llm: the options every command takes (``GLOBAL_OPTIONS``)
go before or after the command's name; ``rag --version``; a document id may
be any unique prefix of at least four characters (an ambiguous one lists its
matches); every argument has help saying its default. Exit codes: 0 done,
1 the command could not be done (a RagError, as one line: a missing index,
an unknown id, a bad file), 2 the command line itself is wrong (a usage
error, an empty question), 130 interrupted. Commands that only read refuse
a folder that holds no index instead of creating one; only ``ingest`` (and
``serve``, whose Library tab adds articles) create. Everything printed from
the articles is terminal-safe (rag/escaping.py); progress bars go to stderr
and only when it is a terminal. Reads RAG_INDEX_DIR (and RAG_CACHE_DIR,
RAG_STORE and RAG_ENGINE, through rag/frontend.py). Keeps Hugging Face offline unless the user runs
``rag pull``. Building the parser imports nothing heavy, so ``rag --help``
is instant; each command imports what it needs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING, Any, Callable, Sequence

from rag.cli_options import USAGE_ERROR, Formatter, Parser, UsageError, non_blank, positive
from rag.escaping import human_bytes, printable, shorten
from rag.evaluation.cli import add_eval_commands
from rag.frontend import progress_bar, quiet_libraries, resolve_with, settings_from, status_json
from rag.generation.registry import CHOICES
from rag.settings import DEFAULT_MAX_FILE_BYTES, Settings
from rag.version import __version__

if TYPE_CHECKING:
    from rag.core import Rag
    from rag.types import DocumentInfo, IngestReport

Handler = Callable[[argparse.Namespace], int]
DEFAULTS = Settings()
# Ingest lists at most this many unchanged (or replaced) documents by name.
NAMED_AT_MOST = 10


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False))


def _open(args: argparse.Namespace, check: bool = True, create: bool = False) -> Rag:
    from rag.core import Rag

    return Rag(settings_from(args), check=check, create=create)


def _prepared(rag: Rag) -> Rag:
    """``rag`` with its embedder's one-time set-up done (announced on stderr when it runs)."""
    from rag.frontend import prepare_embedder

    prepare_embedder(rag)
    return rag


# -- commands -----------------------------------------------------------------
def _named(kind: str, ids: Sequence[str], info: dict[str, tuple[str, str]]) -> list[str]:
    lines = []
    for doc_id in ids[:NAMED_AT_MOST]:
        title, source = info.get(doc_id, ("", ""))
        lines.append(f"  {kind:9}  {doc_id[:8]}  {printable(shorten(title, 60))}  ({printable(source)})")
    if len(ids) > NAMED_AT_MOST:
        lines.append(f"  {kind:9}  ... and {len(ids) - NAMED_AT_MOST} more")
    return lines


def _ingest_lines(report: IngestReport, before: Sequence[DocumentInfo], loaded: Sequence[Any]) -> list[str]:
    """One line per document left unchanged or replaced (the stored one's title and source)."""
    info = {d.id: (d.title, d.source) for d in loaded}
    info.update({d.doc_id: (d.title, d.source) for d in before})
    return _named("unchanged", report.unchanged, info) + _named("replaced", report.replaced, info)


def cmd_ingest(args: argparse.Namespace) -> int:
    from rag.ingest import load_paths

    if not args.paths and not args.rebuild:
        raise UsageError("name at least one PATH to ingest (a file, a folder, or - for stdin), or pass --rebuild")
    with _open(args, check=not args.rebuild, create=bool(args.paths)) as rag:
        _prepared(rag)
        if args.rebuild:
            rebuilt = rag.rebuild(progress_bar("re-embedding"))
            print(f"Rebuilt the index: {rebuilt} chunks re-embedded with {rag.settings.embedder_model}.")
            if not args.paths:
                return 0
        loaded = load_paths(args.paths, stdin=sys.stdin, max_bytes=rag.settings.max_file_bytes)
        for problem in loaded.problems:
            print(f"skipped: {printable(str(problem))}", file=sys.stderr)
        for note in loaded.notes:
            print(f"note: {printable(note)}", file=sys.stderr)
        before = rag.documents() if loaded.documents else []
        report = rag.ingest(loaded.documents, progress_bar("embedding"))
        print(
            f"Added {len(report.added)} document(s) ({report.chunks} chunks); "
            f"{len(report.unchanged)} unchanged; {len(report.replaced)} replaced; "
            f"{len(loaded.problems)} skipped. Index: {rag.location}"
        )
        for line in _ingest_lines(report, before, loaded.documents):
            print(line)
    return 1 if loaded.problems and not (report.added or report.unchanged) else 0


def cmd_search(args: argparse.Namespace) -> int:
    from rag.render import hit_json, hits_text

    with _open(args) as rag:
        hits = _prepared(rag).search(args.query, k=args.k, doc_ids=resolve_with(rag, args.docs))
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
    from rag.render import document_json, document_text

    with _open(args) as rag:
        (doc_id,) = resolve_with(rag, [args.doc_id]) or []
        doc = rag.document(doc_id)
    print(json.dumps(document_json(doc), indent=2, ensure_ascii=False) if args.json else document_text(doc))
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    with _open(args) as rag:
        doc_ids = resolve_with(rag, args.doc_ids) or []
        titles = {i.doc_id: i.title for i in rag.documents()}
        removed = rag.remove(doc_ids)
    print(f"Removed {len(doc_ids)} document(s) and {removed} chunks.")
    for doc_id in doc_ids:
        print(f"  removed  {doc_id[:8]}  {printable(shorten(titles.get(doc_id, ''), 60))}")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    with _open(args, check=not args.check) as rag:
        status = status_json(rag, check=args.check)
    problems = status.get("check", "ok")
    if args.json:
        _print_json(status)
    else:
        shown = {("disk_size" if k == "disk_bytes" else k): v for k, v in status.items()}
        if "disk_bytes" in status:  # absent when damage kept the counts from being read
            shown["disk_size"] = human_bytes(status["disk_bytes"])
        width = max(len(key) for key in shown)
        for key, value in shown.items():
            print(f"{key:>{width}}: {printable(str(value))}")
    return 1 if problems != "ok" else 0


def cmd_repair(args: argparse.Namespace) -> int:
    with _open(args, check=False) as rag:
        report = rag.repair()
        problems = rag.check()
        engine = rag.index.names[1]
    for action in report.actions:
        print(f"repaired: {action}")
    print(f"Rebuilt the search indexes ({engine}) from the store: {report.vectors} vectors. "
          f"Check: {'; '.join(problems) or 'ok'}")
    return 1 if problems else 0


def cmd_migrate(args: argparse.Namespace) -> int:
    with _open(args) as rag:
        report = rag.migrate(args.to_store, args.to_engine, progress_bar("copying"))
    print(
        f"Copied {report.documents} document(s) and {report.chunks} chunks with their vectors (nothing re-embedded) "
        f"to {report.store} + {report.engine} in {report.seconds:.1f} s. Check: {'; '.join(report.problems) or 'ok'}"
    )
    if not report.problems:
        print(f"Use it with: rag --store {report.store} --engine {report.engine} COMMAND "
              f"(or set RAG_STORE and RAG_ENGINE)")
    return 1 if report.problems else 0


def _print_answer(args: argparse.Namespace, rag: Rag, answer: Any) -> int:
    from rag.render import answer_json, answer_text

    if args.json:
        _print_json(answer_json(answer))
    else:
        print(answer_text(answer, rag.settings.embedder_model))
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    with _open(args) as rag:
        answer = _prepared(rag).ask(args.question, doc_ids=resolve_with(rag, args.docs))
        return _print_answer(args, rag, answer)


def cmd_brief(args: argparse.Namespace) -> int:
    with _open(args) as rag:
        answer = _prepared(rag).brief(doc_ids=resolve_with(rag, args.doc_ids), topic=args.topic, length=args.length)
        return _print_answer(args, rag, answer)


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
        print(f"  {m.model_id:40} {m.family:8} {human_bytes(m.size_bytes):>9}  {m.path}")
    return 0


def cmd_pull(args: argparse.Namespace) -> int:
    from rag.models import pull

    path = pull(args.model)
    print(f"Downloaded {args.model} to {path}. Use it with --model {args.model}.")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from rag.web.server import serve

    serve(settings_from(args), host=args.host, port=args.port, allowed_hosts=args.allow_host or ())
    return 0


# -- parser -------------------------------------------------------------------
def _global_options(parser: argparse.ArgumentParser, in_command: bool) -> None:
    """The options every command takes, before or after its name: defined here once, added to each.

    The top-level parser holds the defaults; a command's copy has none
    (``SUPPRESS``), so a value given before the command's name is kept.
    """

    def default(value: Any) -> Any:
        return argparse.SUPPRESS if in_command else value

    group = parser.add_argument_group("options of every command (before or after its name)")
    group.add_argument("--index-dir", metavar="DIR", default=default(os.environ.get("RAG_INDEX_DIR", "index")),
                       help="index folder (default: ./index, or $RAG_INDEX_DIR)")
    group.add_argument("--embedder", dest="embedder_model", metavar="MODEL", default=default(None),
                       help=f"sentence-transformers model id or folder (default: {DEFAULTS.embedder_model})")
    group.add_argument("--device", default=default(None),
                       help="cpu, cuda, mps (default: auto, a GPU when there is one)")
    group.add_argument("--backend", dest="embedder_backend", choices=["auto", "torch", "onnx", "onnx-int8"],
                       default=default(None),
                       help="embedding backend (default: auto, ONNX int8 on a CPU, PyTorch on a GPU)")
    group.add_argument("--store", metavar="SPEC", default=default(None),
                       help="where documents, chunks and vectors live: sqlite (the index folder), sqlite:PATH or "
                            "postgresql://USER@HOST:PORT/DATABASE (default: $RAG_STORE, else sqlite)")
    group.add_argument("--engine", dest="search_engine", metavar="SPEC", default=default(None),
                       help="the search engine: local (FAISS + BM25 files in the index folder), milvus://HOST:PORT "
                            "or milvus-lite:PATH.db (default: $RAG_ENGINE, else local)")


def _command(sub: Any, name: str, handler: Handler, help_: str, example: str) -> Parser:
    parser = sub.add_parser(name, help=help_, description=help_, epilog=f"example:\n  {example}",
                            formatter_class=Formatter)
    parser.set_defaults(handler=handler)
    _global_options(parser, in_command=True)
    return parser


def _json_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")


def _generation_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--generator", choices=CHOICES,
                        help="who writes: auto (seq2seq when its model is here, else extractive), seq2seq or "
                             "extractive (default: auto)")
    parser.add_argument("--model", dest="seq2seq_model", metavar="ID_OR_DIR",
                        help=f"seq2seq checkpoint id or folder (default: {DEFAULTS.seq2seq_model})")
    parser.add_argument("--max-new-tokens", type=positive(int), metavar="N",
                        help=f"seq2seq: longest output per call (default: {DEFAULTS.max_new_tokens})")
    parser.add_argument("--beams", dest="num_beams", type=positive(int), metavar="N",
                        help=f"seq2seq: beam search width (default: {DEFAULTS.num_beams})")
    _json_option(parser)


def _limits_help() -> str:
    from rag.ingest import limits_help

    return limits_help(DEFAULTS.max_file_bytes)


def _reading_commands(sub: Any) -> None:
    p = _command(sub, "search", cmd_search, "Show the passages most relevant to a query.",
                 'rag search "air defense" -k 3 --json')
    p.add_argument("query", type=non_blank("query", 'say what to look for, e.g. rag search "air defense"'),
                   help="what to look for, in your own words")
    p.add_argument("-k", type=positive(int), default=DEFAULTS.top_k, help="how many passages (default: %(default)s)")
    p.add_argument("--docs", nargs="+", metavar="DOC_ID",
                   help="only search these documents; ids or unique prefixes (default: every document)")
    _json_option(p)

    p = _command(sub, "docs", cmd_docs, "List the documents in the index.", "rag docs --json")
    _json_option(p)

    p = _command(sub, "show", cmd_show, "Print one document's full text and metadata.", "rag show d152b494")
    p.add_argument("doc_id", metavar="DOC_ID", help="the document's id, or a unique prefix of 4 or more characters")
    _json_option(p)

    p = _command(sub, "status", cmd_status, "Counts, embedder, device, index kind and size on disk.",
                 "rag status --check")
    p.add_argument("--check", action="store_true",
                   help="verify the database (SQLite quick_check, tables, manifest, every document's chunks) and "
                        "every search index file against the checksums recorded when it was written; exit 1 "
                        "naming each problem and its fix")
    _json_option(p)

    p = _command(sub, "ask", cmd_ask, "Answer a question from the articles, with citations.",
                 'rag ask "Who met Trump in April?" --json')
    p.add_argument("question", type=non_blank("question", 'ask something, e.g. rag ask "When did the bridge reopen?"'),
                   help="the question, in quotes")
    p.add_argument("--docs", nargs="+", metavar="DOC_ID",
                   help="only use these documents; ids or unique prefixes (default: every document)")
    p.add_argument("-k", type=positive(int), dest="top_k", metavar="K",
                   help=f"passages to retrieve (default: {DEFAULTS.top_k})")
    _generation_options(p)

    p = _command(sub, "brief", cmd_brief, "A cited briefing of articles, or of those about a topic.",
                 'rag brief --topic "air defense" --length short')
    p.add_argument("doc_ids", nargs="*", metavar="DOC_ID",
                   help="documents to brief, ids or unique prefixes (default: those about --topic, else the most "
                        "recent)")
    p.add_argument("--topic", type=non_blank("topic", 'name one, e.g. --topic "air defense", or leave it out'),
                   help="brief the documents most relevant to this topic (default: none)")
    p.add_argument("--length", choices=["short", "medium", "long"], default="medium",
                   help="how many key points: short 3, medium 5, long 8 (default: %(default)s)")
    _generation_options(p)


def _writing_commands(sub: Any) -> None:
    p = _command(sub, "ingest", cmd_ingest, "Add articles (files, folders, or - for stdin) to the index.",
                 "rag ingest seeds/ notes.md -\n  rag ingest --rebuild")
    p.more_help = _limits_help
    p.add_argument("paths", nargs="*", metavar="PATH",
                   help="files (.txt .md .html .pdf), folders (read recursively) or - for stdin "
                        "(default: none, which only --rebuild allows)")
    p.add_argument("--rebuild", action="store_true",
                   help="re-chunk and re-embed everything already stored with the current settings first")
    p.add_argument("--max-file-mb", type=positive(float), metavar="MB",
                   help=f"refuse files larger than this (default: {DEFAULT_MAX_FILE_BYTES / 1e6:g})")

    p = _command(sub, "remove", cmd_remove, "Delete documents from the index.", "rag remove d152b494")
    p.add_argument("doc_ids", nargs="+", metavar="DOC_ID", help="ids, or unique prefixes of 4 or more characters")

    _command(sub, "repair", cmd_repair,
             "Rebuild the search indexes from what the store holds; also upgrades an older index, restores a "
             "lost manifest and re-embeds documents that lost their chunks.", "rag repair")

    p = _command(sub, "migrate", cmd_migrate,
                 "Copy this index, vectors and all (nothing re-embedded), into an empty shared store and engine.",
                 "rag migrate --to-store postgresql://rag@db:5432/news --to-engine milvus://milvus:19530")
    p.add_argument("--to-store", required=True, metavar="SPEC",
                   help="the empty store to fill: postgresql://USER@HOST:PORT/DATABASE or sqlite:PATH")
    p.add_argument("--to-engine", required=True, metavar="SPEC",
                   help="its search engine: milvus://HOST:PORT, milvus-lite:PATH.db or local")


def _other_commands(sub: Any) -> None:
    p = _command(sub, "models", cmd_models, "List the seq2seq models available on this machine.", "rag models")
    _json_option(p)

    p = _command(sub, "pull", cmd_pull, "Download a seq2seq model into the Hugging Face cache (needs a network).",
                 "rag pull google/flan-t5-base")
    p.add_argument("model", metavar="MODEL", help="a Hugging Face model id, e.g. google/flan-t5-base")

    p = _command(sub, "serve", cmd_serve, "Start the web UI and the JSON HTTP API (under /api/v1).",
                 "rag serve --port 7860")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default: %(default)s, this machine only; 0.0.0.0 exposes it)")
    p.add_argument("--port", type=int, default=7860, help="port to listen on (default: %(default)s)")
    p.add_argument("--allow-host", action="append", metavar="NAME",
                   help="also answer requests that name this host (repeatable; default: only localhost, "
                        "127.0.0.1, [::1] and --host)")
    p.add_argument("--max-file-mb", type=positive(float), metavar="MB",
                   help=f"refuse uploads and pastes larger than this (default: {DEFAULT_MAX_FILE_BYTES / 1e6:g})")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="rag",
        description="Ask questions about your articles and get briefings, every sentence cited.",
        epilog="examples:\n  rag ingest seeds/\n  rag ask \"How much should NATO boost air defense?\"\n  rag brief",
        formatter_class=Formatter,
    )
    parser.add_argument("--version", action="version", version=f"rag {__version__}",
                        help="print rag's version and exit")
    _global_options(parser, in_command=False)
    sub = parser.add_subparsers(title="commands", metavar="COMMAND", parser_class=Parser)
    _writing_commands(sub)
    _reading_commands(sub)
    _other_commands(sub)
    add_eval_commands(sub, _command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``rag`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help()
        return USAGE_ERROR
    quiet_libraries(offline=args.handler is not cmd_pull)
    from rag.errors import RagError

    try:
        return args.handler(args)
    except UsageError as e:
        print(f"rag: {e} (see `rag {args.handler.__name__.removeprefix('cmd_')} --help`)", file=sys.stderr)
        return USAGE_ERROR
    except RagError as e:
        print(f"rag: {printable(str(e))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("rag: interrupted; the index is unchanged by the unfinished command", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
