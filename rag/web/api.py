"""The JSON HTTP API, served under ``/api/v1`` beside the web UI (same server, same port).

``POST /ask``, ``POST /brief``, ``POST /search``; ``GET /docs``,
``GET /docs/{id}``, ``POST /docs`` (a pasted article as JSON, or files as
multipart/form-data), ``DELETE /docs/{id}``; ``GET /status``. The OpenAPI
document is ``/api/v1/openapi.json``. Bodies are the CLI's ``--json``
shapes (rag/web/schemas.py). Errors are JSON ``{"error": "..."}``: 400 for
bad input, 404 for an unknown document, 413 for too large (the one size
limit, ``Settings.max_file_bytes``, that files, uploads, pastes and stdin
share), 415 for a body that is neither JSON nor a form upload, 503 when the
index cannot serve (locked by a long write, damaged: the message says how to
fix it). A document id may be a unique prefix of at least four characters,
as in the CLI. Requests borrow a Rag from the UI's pool (rag/web/actions.py);
answers and briefings run at most ``GENERATE_CONCURRENCY`` at a time and
writes one at a time. Leaves out authentication: the server listens on this
machine only unless told otherwise, and rag/web/guard.py refuses requests
that name another host.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any, Awaitable, Callable, Mapping

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from rag.errors import (
    AmbiguousIdError,
    BadInputError,
    DocumentNotFoundError,
    IndexLockedError,
    InputTooLargeError,
    ModelNotFoundError,
    RagError,
    UnknownBackendError,
    UnknownGeneratorError,
)
from rag.frontend import resolve_with, status_json
from rag.ingest import check_file
from rag.ingest.limits import check_text_size, megabytes
from rag.render import answer_json, doc_info_json, document_json, hit_json
from rag.web import GENERATE_CONCURRENCY, schemas
from rag.web.actions import WebActions, largest_upload_bytes, safe_label
from rag.web.views import IngestOutcome

PREFIX = "/api/v1"
OPENAPI_URL = f"{PREFIX}/openapi.json"
# A JSON body may spell a character in up to 3 times its UTF-8 bytes ("\u00e9" for é), plus the field names.
JSON_OVERHEAD_FACTOR = 3
JSON_SLACK_BYTES = 64 * 1024
MAX_UPLOAD_FILES = 100
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": schemas.Error, "description": "bad input (the message says what and how to fix it)"},
    404: {"model": schemas.Error, "description": "no such document"},
    503: {"model": schemas.Error, "description": "the index cannot serve now (locked by a write, or damaged)"},
}
UPLOAD_SCHEMA = {
    "type": "object",
    "properties": {"files": {"type": "array", "items": {"type": "string", "format": "binary"}}},
    "required": ["files"],
}


class TooLarge(Exception):
    """A request body went over its limit while being read."""


def _error(status: int, message: str, **extra: Any) -> JSONResponse:
    headers = {"Retry-After": "5"} if status == 503 else None
    body = {"error": message, **{k: v for k, v in extra.items() if v is not None}}
    return JSONResponse(body, status_code=status, headers=headers)


def rag_error_status(error: RagError) -> int:
    """The HTTP status for a RagError: the client's mistake (4xx) or the index's state (503)."""
    if isinstance(error, InputTooLargeError):
        return 413
    if isinstance(error, DocumentNotFoundError):
        return 404
    if isinstance(error, IndexLockedError):
        return 503
    if isinstance(error, (BadInputError, UnknownGeneratorError, ModelNotFoundError, UnknownBackendError)):
        return 400
    return 503


def _field(location: tuple[Any, ...]) -> str:
    parts = [str(p) for p in location if p not in ("body", "query", "path")]
    return ".".join(parts) or "body"


def allowed_methods(routes: APIRouter, scope: Mapping[str, Any]) -> list[str]:
    """Every method some route of ``routes`` takes at the path of ``scope`` (for ``Allow``)."""
    allowed = set()
    for route in routes.routes:
        for method in getattr(route, "methods", None) or ():
            match, _ = route.matches({**scope, "method": method})
            if match == Match.FULL:
                allowed.add(method)
    return sorted(allowed)


def install_error_handlers(app: FastAPI, routes: APIRouter) -> None:
    """JSON errors for the API's routes: validation is 400 (FastAPI says 422), RagError by kind."""

    async def on_validation(request: Request, error: Exception) -> JSONResponse:
        problems = error.errors() if isinstance(error, RequestValidationError) else []
        if not problems:
            return _error(400, "the request is not valid")
        first = problems[0]
        if first.get("type") == "json_invalid":
            return _error(400, "the body is not valid JSON")
        message = str(first.get("msg", "invalid")).removeprefix("Value error, ")
        return _error(400, f"{_field(tuple(first.get('loc', ())))}: {message}")

    async def on_rag_error(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RagError)
        matches = list(error.matches) if isinstance(error, AmbiguousIdError) else None
        return _error(rag_error_status(error), str(error), matches=matches)

    async def on_http_error(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, StarletteHTTPException)
        message = {
            404: f"no such API endpoint: {request.url.path}; the endpoints are listed in {OPENAPI_URL}",
            405: f"{request.method} is not supported on {request.url.path}; see {OPENAPI_URL}",
        }.get(error.status_code, str(error.detail))
        response = _error(error.status_code, message)
        response.headers.update(error.headers or {})
        if error.status_code == 405:
            response.headers["Allow"] = ", ".join(allowed_methods(routes, request.scope))
        return response

    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(RagError, on_rag_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)


def _capped(request: Request, limit: int) -> Request:
    """``request`` whose body reading raises TooLarge past ``limit`` bytes (checked as it streams in)."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise TooLarge
    received = 0

    async def receive() -> Any:
        nonlocal received
        message = await request.receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise TooLarge
        return message

    return Request(request.scope, receive)


def _refs(ids: Any, known: dict[str, schemas.DocumentRef]) -> list[schemas.DocumentRef]:
    return [known.get(i, schemas.DocumentRef(doc_id=i, title="", source="")) for i in ids]


class Api:
    """The API's handlers over the UI's back end (one per server)."""

    def __init__(self, actions: WebActions) -> None:
        self.actions = actions
        self.settings = actions.settings
        self.generating = threading.BoundedSemaphore(GENERATE_CONCURRENCY)
        self.writing = threading.Lock()
        self.upload_root = actions.work_dir / "api-uploads"
        self.upload_root.mkdir(parents=True, exist_ok=True, mode=0o700)

    # -- reading ---------------------------------------------------------------------
    def ask(self, body: schemas.AskRequest) -> dict[str, Any]:
        with self.generating, self.actions.rag() as rag:
            docs = resolve_with(rag, body.docs)
            return answer_json(rag.ask(body.question, doc_ids=docs, k=body.k, generator=body.generator))

    def brief(self, body: schemas.BriefRequest) -> dict[str, Any]:
        with self.generating, self.actions.rag() as rag:
            docs = resolve_with(rag, body.docs)
            return answer_json(rag.brief(doc_ids=docs, topic=body.topic, length=body.length,
                                         generator=body.generator))

    def search(self, body: schemas.SearchRequest) -> list[dict[str, Any]]:
        with self.actions.rag() as rag:
            return [hit_json(h) for h in rag.search(body.query, k=body.k, doc_ids=resolve_with(rag, body.docs))]

    def documents(self) -> list[dict[str, Any]]:
        with self.actions.rag() as rag:
            return [doc_info_json(i) for i in rag.documents()]

    def document(self, doc_id: str) -> dict[str, Any]:
        with self.actions.rag() as rag:
            (resolved,) = resolve_with(rag, [doc_id]) or []
            return document_json(rag.document(resolved))

    def status(self, check: bool) -> dict[str, Any]:
        with self.actions.rag() as rag:
            return status_json(rag, check=check)

    # -- writing ---------------------------------------------------------------------
    def remove(self, doc_id: str) -> dict[str, Any]:
        with self.writing, self.actions.rag() as rag:
            (resolved,) = resolve_with(rag, [doc_id]) or []
            doc = rag.document(resolved)
            chunks = rag.remove([resolved])
        ref = schemas.DocumentRef(doc_id=doc.id, title=doc.title, source=doc.source)
        return {"removed": [ref.model_dump()], "chunks": chunks}

    def _known(self) -> dict[str, schemas.DocumentRef]:
        with self.actions.rag() as rag:
            return {i.doc_id: schemas.DocumentRef(doc_id=i.doc_id, title=i.title, source=i.source)
                    for i in rag.documents()}

    def _result(self, outcome: IngestOutcome, before: dict[str, schemas.DocumentRef]) -> JSONResponse:
        if outcome.error:
            raise _rag_error_from(outcome.error)
        if not outcome.ok and outcome.problems:
            raise BadInputError("; ".join(outcome.problems))
        after = self._known()
        report = outcome.report
        result = schemas.IngestResult(
            added=_refs(report.added, after), unchanged=_refs(report.unchanged, after),
            replaced=_refs(report.replaced, before), skipped=list(outcome.problems), chunks=report.chunks,
        )
        return JSONResponse(result.model_dump(), status_code=201 if report.added else 200)

    def paste(self, body: schemas.TextDocument) -> JSONResponse:
        check_text_size(body.text, self.settings.max_file_bytes, "text")
        with self.writing:
            before = self._known()
            outcome = self.actions.ingest_text(body.text, body.title)
            if outcome.refused:
                raise BadInputError(outcome.refused)
            return self._result(outcome, before)

    def upload(self, files: list[tuple[Path, str]]) -> JSONResponse:
        too_large = []
        for path, label in files:
            try:
                check_file(path, self.settings.max_file_bytes)
            except InputTooLargeError as e:
                too_large.append(str(e).replace(str(path), label, 1))
            except BadInputError:
                pass  # said per file by the ingest below
        if too_large and len(too_large) == len(files):
            raise InputTooLargeError("; ".join(too_large))
        with self.writing:
            before = self._known()
            outcome = self.actions.ingest_files([str(p) for p, _ in files], [label for _, label in files])
            return self._result(outcome, before)


def _rag_error_from(message: str) -> RagError:
    """An ingest stopped by a RagError (reported as text by the UI's back end): the index's state."""
    return RagError(message)


async def _read_upload_form(request: Request, api: Api, folder: Path) -> list[tuple[Path, str]]:
    form = await _capped(request, largest_upload_bytes(api.settings) + 1_000_000).form(
        max_files=MAX_UPLOAD_FILES, max_fields=MAX_UPLOAD_FILES,
    )
    uploads = [f for f in form.getlist("files") if isinstance(f, UploadFile)]
    if not uploads:
        raise BadInputError("send the files as multipart/form-data in a field named `files`")
    saved = []
    for i, upload in enumerate(uploads):
        label = safe_label(upload.filename or "")
        path = folder / f"{i}{Path(label).suffix.lower()}"
        with path.open("wb") as out:
            await run_in_threadpool(shutil.copyfileobj, upload.file, out)
        saved.append((path, label))
    return saved


def _add_documents(api: Api) -> Callable[[Request], Awaitable[JSONResponse]]:
    async def add_documents(request: Request) -> JSONResponse:
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        limit = api.settings.max_file_bytes
        try:
            if kind == "application/json":
                raw = await _capped(request, limit * JSON_OVERHEAD_FACTOR + JSON_SLACK_BYTES).body()
                try:
                    data = json.loads(raw)
                except (ValueError, UnicodeDecodeError):
                    return _error(400, "the body is not valid JSON")
                body = schemas.TextDocument.model_validate(data)
                return await run_in_threadpool(api.paste, body)
            if kind == "multipart/form-data":
                folder = Path(tempfile.mkdtemp(dir=api.upload_root))
                try:
                    files = await _read_upload_form(request, api, folder)
                    return await run_in_threadpool(api.upload, files)
                finally:
                    shutil.rmtree(folder, ignore_errors=True)
        except TooLarge:
            return _error(413, f"the request is over the size limit ({megabytes(limit)} per article); "
                               f"split it, or start the server with a larger --max-file-mb")
        except ValueError as e:  # pydantic's ValidationError, a malformed form
            errors = getattr(e, "errors", None)
            if callable(errors):
                raise RequestValidationError(errors()) from e
            return _error(400, f"the form is not valid ({e})")
        return _error(415, "send a pasted article as application/json ({\"text\": ..., \"title\": ...}) "
                           "or files as multipart/form-data (field `files`)")

    return add_documents


def create_app(actions: WebActions) -> FastAPI:
    """The API as an app to mount at ``PREFIX``: its routes, JSON errors, and its OpenAPI document.

    Mounted apart from the web UI, so a path or method it does not know is a
    JSON 404 or 405 (with ``Allow``) of its own, never the UI's page.
    """
    from rag.version import __version__

    app = FastAPI(title="rag", version=__version__, openapi_url="/openapi.json", docs_url=None, redoc_url=None,
                  description="Ask questions about your articles and get briefings, every sentence cited. "
                              "Bodies are the shapes of the CLI's --json.")
    routes = router(actions)
    app.include_router(routes)
    install_error_handlers(app, routes)
    return app


def router(actions: WebActions) -> APIRouter:
    """The API's routes (to include at ``PREFIX``), over ``actions``' pool of Rag objects."""
    api = Api(actions)
    r = APIRouter(responses=ERRORS)
    r.add_api_route("/ask", api.ask, methods=["POST"], response_model=schemas.Answer,
                    summary="Answer a question from the articles, with citations")
    r.add_api_route("/brief", api.brief, methods=["POST"], response_model=schemas.Answer,
                    summary="A cited briefing of documents, or of those about a topic")
    r.add_api_route("/search", api.search, methods=["POST"], response_model=list[schemas.Hit],
                    summary="The passages most relevant to a query")
    r.add_api_route("/docs", api.documents, methods=["GET"], response_model=list[schemas.DocumentInfo],
                    summary="The documents in the index")

    def document(doc_id: schemas.PathId) -> dict[str, Any]:
        return api.document(doc_id)

    def remove(doc_id: schemas.PathId) -> dict[str, Any]:
        return api.remove(doc_id)

    r.add_api_route("/docs/{doc_id}", document, methods=["GET"], response_model=schemas.Document,
                    summary="One document's text and metadata (id or unique prefix)")
    r.add_api_route("/docs/{doc_id}", remove, methods=["DELETE"], response_model=schemas.Removed,
                    summary="Delete a document (id or unique prefix)")

    def status(check: bool = Query(False, description="also verify the index (slower)")) -> dict[str, Any]:
        return api.status(check)

    r.add_api_route("/status", status, methods=["GET"], response_model=schemas.Status,
                    response_model_exclude_unset=True, summary="Counts, embedder, device, index kind and size in bytes")
    r.add_api_route(
        "/docs", _add_documents(api), methods=["POST"], status_code=201,
        summary="Add an article: pasted text as JSON, or files (.txt .md .html .pdf) as multipart/form-data",
        responses={
            201: {"model": schemas.IngestResult, "description": "added (and what was skipped)"},
            200: {"model": schemas.IngestResult, "description": "nothing new: already in the index"},
            413: {"model": schemas.Error, "description": "over the size limit"},
            415: {"model": schemas.Error, "description": "neither JSON nor multipart/form-data"},
        },
        openapi_extra={"requestBody": {"required": True, "content": {
            "application/json": {"schema": schemas.TextDocument.model_json_schema()},
            "multipart/form-data": {"schema": UPLOAD_SCHEMA},
        }}},
    )
    return r
