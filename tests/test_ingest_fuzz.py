"""Per-file failures stay per-file: a fuzz-ish batch where every file is broken some way.

The batch (seeded, so every run builds the same bytes): random bytes under
every extension, every fixture truncated at several points, every fixture
mutated (bytes flipped, runs deleted, duplicated or inserted), and PDFs that
fail in ways pypdf does not guard: AES encryption without the `cryptography`
package (``DependencyError`` while reading pages) and a certificate security
handler (``NotImplementedError`` while opening). ``load_paths`` must never
raise; every file must give exactly one document or exactly one one-line
problem that names it; the intact fixtures must all land; and every chunk of
every document read must be an exact slice of its text.
"""

from __future__ import annotations

import importlib.util
import random
import shutil
from pathlib import Path

import pytest

from conftest import ARTICLE_FILES
from pdf_bytes import build_pdf, encrypted_aes_pdf, text_page_stream
from rag.chunking import chunk_document
from rag.errors import BadInputError
from rag.ingest import load_paths, read_file
from rag.ingest.markdown import strip_markdown
from rag.sentences import split_sentences

SEED = 20_14
EXTENSIONS = (".txt", ".md", ".html", ".pdf")
HAS_CRYPTOGRAPHY = importlib.util.find_spec("cryptography") is not None


def _mutate(data: bytes, rng: random.Random) -> bytes:
    """``data`` with a few random edits: flipped bytes, a run deleted, duplicated or inserted."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        kind = rng.choice(("flip", "delete", "duplicate", "insert"))
        at = rng.randrange(max(len(out), 1))
        size = rng.randint(1, max(1, len(out) // 10))
        if kind == "flip":
            for i in range(at, min(at + size, len(out))):
                out[i] = rng.randrange(256)
        elif kind == "delete":
            del out[at : at + size]
        elif kind == "duplicate":
            out[at:at] = out[at : at + size]
        else:
            out[at:at] = rng.randbytes(size)
    return bytes(out)


def _special_pdfs(folder: Path) -> dict[str, str]:
    """PDFs pypdf fails on in unguarded ways, and what each message must say."""
    (folder / "aes.pdf").write_bytes(encrypted_aes_pdf())
    pubsec = build_pdf(
        [text_page_stream(["Certificate security."])],
        extra_objects=[b"<< /Filter /Adobe.PubSec /V 4 /R 4 >>"],
        trailer_extra=b"/Encrypt 6 0 R /ID [<00> <00>] ",
    )
    (folder / "pubsec.pdf").write_bytes(pubsec)
    expected = {"pubsec.pdf": "NotImplementedError"}
    if not HAS_CRYPTOGRAPHY:
        expected["aes.pdf"] = "encrypted with AES, which needs the `cryptography` package"
    return expected


@pytest.fixture(scope="module")
def fuzz_batch(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    folder = tmp_path_factory.mktemp("fuzz")
    rng = random.Random(SEED)
    for path in ARTICLE_FILES:
        shutil.copy(path, folder / f"intact_{path.name}")
        data = path.read_bytes()
        for n in range(3):
            cut = rng.randrange(1, len(data))
            (folder / f"truncated{n}_{path.name}").write_bytes(data[:cut])
        for n in range(4):
            (folder / f"mutated{n}_{path.name}").write_bytes(_mutate(data, rng))
    for n in range(3):
        for ext in EXTENSIONS:
            (folder / f"random{n}{ext}").write_bytes(rng.randbytes(rng.randint(1, 4000)))
    return folder, _special_pdfs(folder)


def test_every_broken_file_is_its_own_problem_and_the_rest_lands(fuzz_batch: tuple[Path, dict[str, str]]) -> None:
    folder, expected = fuzz_batch
    result = load_paths([str(folder)])  # must not raise, whatever the files hold
    files = sorted(p.name for p in folder.iterdir())
    read = [Path(d.source).name for d in result.documents]
    named = [str(p).split(": ", 1)[0] for p in result.problems]
    assert sorted(read + [Path(n).name for n in named]) == files  # each file once: a document or a problem
    assert {f"intact_{p.name}" for p in ARTICLE_FILES} <= set(read)
    for problem in result.problems:
        message = str(problem)
        assert "\n" not in message and message.startswith(f"{folder}/")
    for name, says in expected.items():
        (message,) = [str(p) for p in result.problems if str(p).startswith(f"{folder / name}: ")]
        assert says in message


def test_every_document_of_the_batch_chunks_into_exact_slices(fuzz_batch: tuple[Path, dict[str, str]]) -> None:
    folder, _ = fuzz_batch
    documents = load_paths([str(folder)]).documents
    assert len(documents) > len(ARTICLE_FILES)  # the damaged copies that still read are checked too
    for document in documents:
        for max_chars, overlap in ((400, 100), (120, 30)):
            chunks = chunk_document(document, max_chars, overlap)
            assert chunks, document.source
            for chunk in chunks:
                assert document.text[chunk.start : chunk.end] == chunk.text
                assert document.page_at(chunk.start) == chunk.page
        for start, end in split_sentences(document.text):
            assert document.text[start:end].strip() == document.text[start:end] != ""


def test_random_markup_never_breaks_the_markdown_stripper_or_the_splitter() -> None:
    rng = random.Random(SEED)
    alphabet = "*_[]()!<>-`#\n \t.?\"'aA1"
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 200)))
        plain = strip_markdown(text)
        assert len(plain) <= len(text)
        for start, end in split_sentences(plain):
            assert 0 <= start < end <= len(plain) and plain[start:end].strip() == plain[start:end]


def test_read_file_names_the_file_for_an_error_no_reader_expected(fuzz_batch: tuple[Path, dict[str, str]]) -> None:
    # Uploads in the web UI read one file at a time: they get the same one-line problem as a batch.
    folder, _ = fuzz_batch
    path = folder / "pubsec.pdf"
    with pytest.raises(BadInputError) as caught:
        read_file(path)
    assert str(caught.value).startswith(
        f"{path}: could not be read (NotImplementedError: only Standard PDF encryption handler is available)"
    )
    assert isinstance(caught.value.__cause__, NotImplementedError)
