"""The words a reader sees for an answer's probability of being right (no numpy: the CLI's light paths use it).

>>> describe(0.8), describe(0.2), describe(None)
('likely', 'uncertain', '')
"""

from __future__ import annotations

LIKELY_AT = 0.5  # at or above: "likely"; below: "uncertain"


def describe(probability: float | None) -> str:
    """"likely" or "uncertain" ("" when there is no estimate)."""
    if probability is None:
        return ""
    return "likely" if probability >= LIKELY_AT else "uncertain"
