"""Short answers inside one answer sentence: the span asked for, exact, or honestly marked uncertain.

Each row is read by the extractive generator (real MiniLM) from a passage holding only the
sentence, so only span choice is tested: the short answer must be the expected span, or be
marked uncertain (confidence below one half); it is always an exact slice of the sentence.
"""

from __future__ import annotations

import pytest

from rag.generation.extractive import ExtractiveGenerator
from rag.settings import Settings
from rag.types import Chunk, Document, Passage

CASES = [
    ("By how much did Rutte urge NATO members to boost air and missile defense?",
     "Rutte urged NATO members to boost air and missile defense by 400%, citing lessons from Russia's attacks on Ukraine.", "400%"),
    ("How long did the race take?", "She finished in 2 hours and 10 minutes, a record.", "2 hours and 10 minutes"),
    ("How much did it cost?", "The project cost 38 million euros in total.", "38 million euros"),
    ("How long was the delay?", "Trains were delayed by 34 minutes on average.", "34 minutes"),
    ("How many workers does the plant employ?", "The plant makes 12,000 tonnes a year and employs 340 workers.", "340"),
    ("How far has the glacier retreated?", "Its volume fell 10 percent as the front retreated 420 metres.", "420 metres"),
    ("What was the country's annual inflation rate in March?", "Inflation fell to 2.8 percent in March.", "2.8 percent"),
    ("By what margin did the council vote?", "The council voted 17 to 12 in favour.", "17 to 12"),
    ("When was the hoard buried?", "The coin suggests the hoard was buried around the year 260.", "the year 260"),
    ("When did the frost strike?", "Frost struck on the nights of April 27 and 28.", "April 27 and 28"),
    ("What time do classes begin?", "Classes will begin at 9 a.m. instead of 8.", "9 a.m."),
    ("When was the comet last near the Sun?", "It last passed the Sun about 40,000 years ago.", "about 40,000 years ago"),
    ("Who found the coins?", "The coins were discovered in October by Tom Reyes, a retired postman.", "Tom Reyes"),
    ("Who won the prize?", "The prize went to Aino Korhonen and Rasmus Berg, who shared it.", "Aino Korhonen and Rasmus Berg"),
    ("Who scored the decisive goal?", "For Eastfield, the defeat was bitter after Jonah Okafor scored.", "Jonah Okafor"),
    ("Where did Rutte give a speech?", "Rutte said in remarks for a speech at Chatham House in London.", "Chatham House"),
    ("In which century was the abbey founded?", "The abbey was founded in the 10th century by monks from Cluny.", "the 10th century"),
    ("When did the Vikings sack the town?", "Viking raiders sacked the town in 911, burning the harbour.", "911"),
    ("What position did Okafor play?", "Okafor, who played goalkeeper for ten years, now coaches the youth team.", "goalkeeper"),
]


@pytest.fixture(scope="module")
def generator(minilm) -> ExtractiveGenerator:
    return ExtractiveGenerator(Settings(generator="extractive"), minilm)


def read_short(generator: ExtractiveGenerator, question: str, sentence: str):
    doc = Document(id="d1", title="t", source="s", text=sentence)
    draft = generator.answer(question, [Passage(doc, Chunk(1, "d1", 0, len(sentence), sentence), 0.6)])
    return draft


@pytest.mark.parametrize("question,sentence,expected", CASES, ids=[c[0][:40] for c in CASES])
def test_short_answer_is_right_or_marked_uncertain(generator, question, sentence, expected):
    draft = read_short(generator, question, sentence)
    assert draft.short_answer is not None
    source = draft.short_answer.sources[0]
    assert sentence[source.start : source.end] == draft.short_answer.text
    assert draft.short_answer.text == expected or draft.short_confidence < 0.5, (
        draft.short_answer.text, draft.short_confidence)


def test_most_short_answers_are_exactly_right(generator):
    right = sum(read_short(generator, q, s).short_answer.text == e for q, s, e in CASES)
    assert right >= 0.7 * len(CASES)


def test_yes_no_questions_get_the_sentence_not_a_span(generator):
    draft = read_short(generator, "Did the council approve the plan?", "The council approved the plan by 31 votes to 14.")
    assert draft.short_answer is None and draft.sentences
