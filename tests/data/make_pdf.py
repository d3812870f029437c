"""Write tests/data/two_pages.pdf: a two-page report with real, extractable text.

A developer tool, not part of rag: it needs ``reportlab`` (``pip install reportlab``),
which rag itself does not depend on. The produced PDF is committed, so tests
never run this script. Each page holds its own facts, so tests can check that
an answer cites the right page:

- page 1: the 14.2 million cubic metres supplied, the 9 percent leak rate;
- page 2: the Elm Ford treatment plant opening in May, the 3 percent price rise.

Run from the repository root: ``python tests/data/make_pdf.py``.
"""

from __future__ import annotations

from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import cm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfgen.canvas import Canvas

OUTPUT = Path(__file__).with_name("two_pages.pdf")
FONT, SIZE, LEADING = "Helvetica", 11, 15
TITLE = "Millbrook Water Board Annual Report"

PAGES: list[list[str]] = [
    [
        "Millbrook Water Board supplied 14.2 million cubic metres of drinking water "
        "to 96,000 households last year, slightly less than the year before.",
        "Leaks in the pipe network fell to 9 percent of all water pumped, down from "
        "13 percent three years ago, after crews replaced 38 kilometres of old iron mains.",
        "The reservoir at Hatherley Moor was 71 percent full at the end of the year, "
        "which the board described as a comfortable level for the spring.",
        "Customer complaints fell by a quarter, and the average time to repair a burst "
        "main was cut to six hours.",
    ],
    [
        "A new treatment plant at Elm Ford will open in May and will filter water "
        "from the river Mill using ultraviolet light instead of extra chlorine.",
        "The plant cost 31 million euros and will allow the board to close its oldest "
        "works at Sandy Lane, which dates from 1911.",
        "Water prices will rise by 3 percent from April, the first increase in four "
        "years, to pay for the new plant and for further pipe replacement.",
        "Households that receive housing support will be exempt from the increase, "
        "the board's chair, Deborah Quinn, said in her foreword.",
    ],
]


def _draw_page(canvas: Canvas, number: int, paragraphs: list[str]) -> None:
    width, height = A4
    left, text_width = 2.5 * cm, width - 5 * cm
    y = height - 3 * cm
    canvas.setFont("Helvetica-Bold", 14)
    canvas.drawString(left, y, TITLE if number == 1 else f"{TITLE} (continued)")
    y -= 2 * LEADING
    canvas.setFont(FONT, SIZE)
    for paragraph in paragraphs:
        for line in simpleSplit(paragraph, FONT, SIZE, text_width):
            canvas.drawString(left, y, line)
            y -= LEADING
        y -= LEADING // 2
    canvas.drawCentredString(width / 2, 1.5 * cm, f"Page {number} of {len(PAGES)}")
    canvas.showPage()


def main() -> None:
    """Write the PDF with fixed metadata so rebuilding gives the same text."""
    canvas = Canvas(str(OUTPUT), pagesize=A4, invariant=1)
    canvas.setTitle(TITLE)
    canvas.setAuthor("rag test fixtures")
    for number, paragraphs in enumerate(PAGES, start=1):
        _draw_page(canvas, number, paragraphs)
    canvas.save()


if __name__ == "__main__":
    main()
