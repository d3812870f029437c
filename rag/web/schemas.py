"""The JSON HTTP API's request and response bodies (pydantic), mirroring the CLI's ``--json``.

Responses are made from the same functions as ``rag ... --json``
(rag/render.py, ``rag.frontend.status_json``) and validated against these
models, so the API and the CLI print one shape; tests/test_api.py checks that
the two agree field for field. Requests are checked here: text must be
non-blank and valid Unicode (no lone surrogates), numbers in range, choices
from their lists; what fails is a 400 with one line saying why.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Annotated, Any, Literal

from fastapi import Path
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, create_model

from rag import types
from rag.generation.registry import CHOICES

MAX_QUESTION_CHARS = 2_000
MAX_K = 100
MAX_DOC_IDS = 1_000
GeneratorName = Literal[CHOICES]  # type: ignore[valid-type]  # the registry's names, as one Literal


def _unicode(value: str) -> str:
    """Refuse strings that cannot be stored or shown (a lone surrogate from ``\\ud800`` in JSON)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as e:
        raise ValueError("text must be valid Unicode (it holds an unpaired surrogate)") from e
    return value


def _non_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty or only spaces")
    return value


Text = Annotated[str, AfterValidator(_unicode)]
Query = Annotated[str, Field(min_length=1, max_length=MAX_QUESTION_CHARS), AfterValidator(_unicode),
                  AfterValidator(_non_blank)]
# A document id, or a unique prefix of one (ids are hexadecimal; at least 4 characters, like git).
ID_PATTERN = "^[0-9A-Fa-f]{4,64}$"
DocId = Annotated[str, Field(pattern=ID_PATTERN, description="a document id, or a unique prefix of 4+ characters")]
PathId = Annotated[str, Path(pattern=ID_PATTERN, description="a document id, or a unique prefix of 4+ characters")]
DocIds = Annotated[list[DocId], Field(min_length=1, max_length=MAX_DOC_IDS)]


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AskRequest(Request):
    question: Query = Field(description="the question", examples=["How much did the bridge repairs cost?"])
    docs: DocIds | None = Field(None, description="only these documents (ids or unique prefixes of 4+ characters)")
    k: int | None = Field(None, ge=1, le=MAX_K, description="passages to retrieve (default 5)")
    generator: GeneratorName | None = Field(None, description="who writes (default: the server's, auto)")


class BriefRequest(Request):
    docs: DocIds | None = Field(None, description="documents to brief (default: those about topic, else recent)")
    topic: Query | None = Field(None, description="brief the documents most relevant to this topic")
    length: Literal["short", "medium", "long"] = Field("medium", description="3, 5 or 8 key points")
    generator: GeneratorName | None = None


class SearchRequest(Request):
    query: Query = Field(description="what to look for", examples=["air defense"])
    k: int = Field(5, ge=1, le=MAX_K, description="how many passages")
    docs: DocIds | None = Field(None, description="only these documents (ids or unique prefixes of 4+ characters)")


class TextDocument(Request):
    """A pasted article (JSON); files go as multipart/form-data in the field ``files``."""

    text: Text = Field(min_length=1, description="the article text (at most the server size limit, 20 MB by default)")
    title: Text | None = Field(None, max_length=1_000, description="its title (default: the first line)")


# -- responses ----------------------------------------------------------------
def _fields_of(record: type) -> dict[str, Any]:
    """Pydantic field definitions for every field of a dataclass of rag/types.py (all required)."""
    hints = typing.get_type_hints(record)
    return {f.name: (hints[f.name], ...) for f in dataclasses.fields(record)}


class Error(BaseModel):
    error: str = Field(description="what went wrong and how to fix it, one line")
    matches: list[str] | None = Field(None, description="for an ambiguous id prefix: the ids it matches")


class Hit(BaseModel):
    rank: int
    score: float
    doc_id: str
    title: str
    source: str
    chunk_id: int
    start: int
    end: int
    text: str


DocumentInfo = create_model("DocumentInfo", **_fields_of(types.DocumentInfo))  # ``rag docs --json``


class Page(BaseModel):
    page: int
    start: int
    end: int


class Document(BaseModel):
    doc_id: str
    title: str
    source: str
    text: str
    chars: int
    added_at: str
    metadata: dict[str, Any]
    pages: list[Page]


class Sentence(BaseModel):
    text: str
    citations: list[int]
    supported: bool


class Citation(BaseModel):
    n: int
    doc_id: str
    title: str
    source: str
    chunk_id: int
    start: int
    end: int
    page: int | None
    quote: str
    support: float


class Coverage(BaseModel):
    doc_id: str
    title: str
    chunks_used: int
    chunks_total: int


ConfidenceLabel = Literal["likely", "uncertain", ""]


class Answer(BaseModel):
    text: str
    short_answer: str | None
    generator: str
    model: str
    abstained: bool
    notice: str
    confidence: float | None = Field(
        description="calibrated probability (0-1) that the cited sentences hold a right answer; null for "
        "briefings and abstentions"
    )
    confidence_label: ConfidenceLabel = Field(
        description='"likely" at 0.5 or more, else "uncertain"; "" when there is no confidence'
    )
    short_answer_confidence: float | None = Field(
        description="calibrated probability (0-1) that the short answer is right; null without a short answer"
    )
    short_answer_label: ConfidenceLabel = Field(description="the words for short_answer_confidence")
    sentences: list[Sentence]
    citations: list[Citation]
    coverage: list[Coverage]
    timings: dict[str, float]


CheckResult = Literal["ok"] | list[str] | None
_CHECK_FIELD: Any = (CheckResult, Field(None, description='with ?check=true: "ok" or the problems found'))
# ``rag status --json``: every field of IndexStatus (so a field added there appears here), then three more.
Status = create_model(
    "Status", **_fields_of(types.IndexStatus), index_dir=(str, ...), generator=(str, ...), check=_CHECK_FIELD,
)


class DocumentRef(BaseModel):
    doc_id: str
    title: str
    source: str


class IngestResult(BaseModel):
    added: list[DocumentRef]
    unchanged: list[DocumentRef]
    replaced: list[DocumentRef]
    skipped: list[str] = Field(description="files that were not taken, each with why")
    chunks: int


class Removed(BaseModel):
    removed: list[DocumentRef]
    chunks: int
