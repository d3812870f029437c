"""The Markdown briefing download shows article text as text (issue 14 #15).

An article's HTML, Markdown links and remote images must not become markup
in the file a user opens in a Markdown viewer: rendered with a CommonMark
renderer (markdown-it-py, raw HTML on), the file has no tag, link or image
from the article, and the article's words are all still there to read.
Built from a real briefing of a real article by the extractive generator.
"""

from __future__ import annotations

import re

from markdown_it import MarkdownIt

from rag.render import answer_markdown
from rag.types import Document

HOSTILE = """Harbour <b>council</b> report <img src="http://remote.example.com/a.png">

The harbour council voted to rebuild the north pier ![x](http://remote.example.com/pixel.png) for 4 million euros.

A reader posted [a link](http://evil.example/steal) and <script>alert(1)</script> in the comments, the paper said.

# The pier will open next spring, the council said, and the *ferry* will use the south quay meanwhile.
"""


def briefing_markdown(make_rag) -> tuple[str, str]:
    rag = make_rag()
    document = Document(id="0123456789abcdef", title='Harbour <b>council</b> [report](http://evil.example)',
                        source="uploads/<i>x</i>.txt", text=HOSTILE)
    rag.ingest([document])
    answer = rag.brief(doc_ids=[document.id], length="long", generator="extractive")
    assert answer.citations and not answer.abstained
    return answer_markdown(answer, "Briefing: <u>pier</u> ![t](http://remote.example.com/t.png)"), HOSTILE


def test_the_markdown_export_has_no_html_links_or_images(make_rag) -> None:
    markdown, _ = briefing_markdown(make_rag)
    rendered = MarkdownIt("commonmark").render(markdown)
    tags = set(re.findall(r"<(/?[a-z0-9]+)", rendered))
    assert tags <= {"h1", "/h1", "h2", "/h2", "p", "/p", "ul", "/ul", "li", "/li", "ol", "/ol", "blockquote",
                    "/blockquote", "strong", "/strong", "em", "/em"}, tags
    assert "href" not in rendered and "src=" not in rendered
    # the article's markup is still there, as text a reader sees
    assert "![x](http://remote.example.com/pixel.png)" in rendered
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered
    assert "[a link](http://evil.example/steal)" in rendered
    assert "Harbour &lt;b&gt;council&lt;/b&gt; [report](http://evil.example)" in rendered


def test_the_markdown_export_keeps_every_quote_readable(make_rag) -> None:
    """Unescaped, each quote in the file is its exact source span (whitespace collapsed)."""
    markdown, article = briefing_markdown(make_rag)
    flat = " ".join(article.split())
    quotes = [line.strip()[2:] for line in markdown.split("## Sources", 1)[1].splitlines()
              if line.strip().startswith("> ")]
    assert quotes
    for quote in quotes:
        assert re.sub(r"\\(.)", r"\1", quote) in flat
