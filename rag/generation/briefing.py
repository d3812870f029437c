"""Extractive news briefings: each story's lead, then its most central later sentences.

News puts the main fact first, so a single article's briefing keeps its lead
(the first full sentence) as the overview and adds the most central later
sentences as key points, with a lead bias that keeps early sentences unless a
later one is clearly more central, and MMR so no two say the same thing.

Several articles are first grouped into stories: articles whose leads say
nearly the same thing (``STORY_LEAD_SIMILARITY``) and whose centroids agree
are one story. The overview then names each story by its lead sentence (or,
when the lead cannot stand alone, the earliest sentence that names something:
never a context-free sentence such as "The plan costs 38 million euros.").
Key points are shared out among the stories best first, grouped by story, and
a point said by two articles of one story cites both. Every sentence is an
exact quote. Sentence compression and headline writing are left out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from rag.candidates import Candidate
from rag.mmr import mmr

# Lead bias of later sentences: news states the gist first (Lead-3 is a strong baseline).
LEAD_WEIGHT = 0.3
DUPLICATE_SIMILARITY = 0.88
# Two articles are one story when their leads and their centroids are this close. Among the 50
# different stories of shared/devsets/summaries.jsonl no two leads reach 0.47 (centroids of two
# football reports reach 0.94, so centroids alone cannot tell stories apart).
STORY_LEAD_SIMILARITY = 0.6
STORY_CENTROID_SIMILARITY = 0.6
# A sentence opening with one of these leans on an earlier one ("It will cost...").
_LEANS_ON_CONTEXT = re.compile(
    r"^(?:He|She|It|They|We|His|Her|Its|Their|This|These|That|Those|There|Such|The (?:plan|project|company|"
    r"scheme|move|decision|deal|bill|proposal|firm|group|report|study|programme|program)|But|And|Also|"
    r"However|Meanwhile|Still|Yet)\b"
)


@dataclass(frozen=True)
class Story:
    """Articles about one event: their document indexes and the sentence that names the story."""

    docs: tuple[int, ...]
    lead: int  # index into the candidates


def has_context(text: str) -> bool:
    """Whether a sentence can stand alone: it names something and does not lean on an earlier one.

    >>> has_context("The plan costs 38 million euros.")
    False
    >>> has_context("Lindenfeld will build 64 kilometres of bike lanes by 2028.")
    True
    """
    if _LEANS_ON_CONTEXT.match(text):
        return False
    words = re.findall(r"[^\W\d_][\w’'-]*", text)
    return any(w[0].isupper() for w in words[1:]) or bool(words and words[0][0].isupper() and len(words[0]) > 1
                                                        and not _is_common_opening(words[0]))


def _is_common_opening(word: str) -> bool:
    return word.lower() in {"the", "a", "an", "in", "on", "at", "for", "after", "before", "when", "while", "as",
                            "some", "many", "most", "all", "both", "each", "one", "two", "three", "officials"}


def _lead_of(candidates: Sequence[Candidate], members: list[int]) -> int:
    """The first sentence of a document that can stand alone, else its first sentence."""
    ordered = sorted(members, key=lambda i: candidates[i].position)
    return next((i for i in ordered[:4] if has_context(candidates[i].text)), ordered[0])


def centrality(candidates: Sequence[Candidate], vectors: np.ndarray) -> np.ndarray:
    """Similarity of each sentence to its document's centroid, plus a lead bias."""
    scores = np.zeros(len(candidates))
    doc_ids = np.array([c.doc_index for c in candidates])
    for d in set(doc_ids.tolist()):
        mask = np.where(doc_ids == d)[0]
        centroid = vectors[mask].mean(axis=0)
        centroid /= np.linalg.norm(centroid) or 1.0
        order = np.argsort([candidates[i].position for i in mask], kind="stable")
        positions = np.empty(len(mask))
        positions[order] = np.arange(len(mask))
        scores[mask] = vectors[mask] @ centroid + LEAD_WEIGHT / (1.0 + positions / 3.0)
    return scores


def stories(candidates: Sequence[Candidate], vectors: np.ndarray) -> list[Story]:
    """Group the documents into stories (near-duplicate events), in document order."""
    docs = sorted({c.doc_index for c in candidates})
    members = {d: [i for i, c in enumerate(candidates) if c.doc_index == d] for d in docs}
    leads = {d: _lead_of(candidates, members[d]) for d in docs}
    centroids = {}
    for d in docs:
        c = vectors[members[d]].mean(axis=0)
        centroids[d] = c / (np.linalg.norm(c) or 1.0)
    groups: list[list[int]] = []
    for d in docs:
        for group in groups:
            g = group[0]
            if (float(vectors[leads[d]] @ vectors[leads[g]]) >= STORY_LEAD_SIMILARITY
                    and float(centroids[d] @ centroids[g]) >= STORY_CENTROID_SIMILARITY):
                group.append(d)
                break
        else:
            groups.append([d])
    return [Story(tuple(g), leads[g[0]]) for g in groups]


def share_points(
    scores: np.ndarray, vectors: np.ndarray, candidates: Sequence[Candidate], groups: Sequence[Story],
    count: int, lam: float,
) -> list[list[int]]:
    """``count`` key points shared out among the stories (best story first, round robin), each
    unlike every lead and point already chosen; near-repeats of them are skipped. Within a story,
    an article not cited yet is drawn from first, so every article contributes."""
    chosen: list[list[int]] = [[] for _ in groups]
    taken = [g.lead for g in groups]
    open_groups = set(range(len(groups)))
    while sum(map(len, chosen)) < count and open_groups:
        g = min(open_groups, key=lambda k: (len(chosen[k]), -scores[groups[k].lead]))
        cited = {candidates[i].doc_index for i in taken}
        fresh = [d for d in groups[g].docs if d not in cited]  # an article of the story not cited yet goes first
        allowed = set(fresh or groups[g].docs)
        masked = np.where([c.doc_index in allowed for c in candidates], scores, -np.inf)
        found = mmr(masked, vectors, len(taken) + 1, lam, taken)
        if not found or float((vectors[taken] @ vectors[found[0]]).max()) >= DUPLICATE_SIMILARITY:
            open_groups.discard(g)  # nothing new left in this story
            continue
        chosen[g] += found
        taken += found
    return chosen


def duplicates_of(i: int, candidates: Sequence[Candidate], vectors: np.ndarray, story: Story) -> list[int]:
    """Sentences of the story's other articles that say what sentence ``i`` says."""
    out = []
    for d in story.docs:
        if d == candidates[i].doc_index:
            continue
        own = [j for j, c in enumerate(candidates) if c.doc_index == d]
        if own:
            j = max(own, key=lambda j: float(vectors[j] @ vectors[i]))
            if float(vectors[j] @ vectors[i]) >= DUPLICATE_SIMILARITY:
                out.append(j)
    return out
