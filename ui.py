"""Start the rag web UI and its JSON API: ``python ui.py [--host 127.0.0.1] [--port 7860] [--index-dir index]``.

A thin front end over rag/web/, the same as ``rag serve``: reads RAG_INDEX_DIR,
RAG_STORE, RAG_ENGINE and RAG_CACHE_DIR, keeps models offline, binds this machine only unless
``--host`` says otherwise, answers only requests naming this machine (or an
``--allow-host``), and turns a RagError into a one-line message.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ui.py",
        description="Start the rag web UI: ask, brief and manage your articles in a browser.",
        epilog="example:\n  python ui.py --index-dir index --port 7860",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to bind (default 127.0.0.1: this machine only; 0.0.0.0 exposes it)")
    parser.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    parser.add_argument("--index-dir", default=os.environ.get("RAG_INDEX_DIR", "index"),
                        help="index folder (default: ./index, or $RAG_INDEX_DIR)")
    parser.add_argument("--store", metavar="SPEC",
                        help="sqlite (the index folder), sqlite:PATH or postgresql://USER@HOST:PORT/DATABASE "
                             "(default: $RAG_STORE, else sqlite)")
    parser.add_argument("--engine", dest="search_engine", metavar="SPEC",
                        help="local, milvus://HOST:PORT or milvus-lite:PATH.db (default: $RAG_ENGINE, else local)")
    parser.add_argument("--allow-host", action="append", metavar="NAME",
                        help="also answer requests that name this host (repeatable; default: only localhost, "
                             "127.0.0.1, [::1] and --host)")
    parser.add_argument("--max-file-mb", type=float, help="refuse uploads and pastes larger than this (default: 20)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    from rag.errors import RagError
    from rag.frontend import settings_from
    from rag.web.server import serve

    try:
        serve(settings_from(args), host=args.host, port=args.port, allowed_hosts=args.allow_host or ())
    except RagError as e:
        print(f"rag: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
