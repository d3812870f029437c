"""Short answers: the span of the asked-for type inside an answer sentence, exact and minimal."""

from __future__ import annotations

import pytest

from rag.generation.short_answer import question_type, short_answer_span

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
    ("When were the kittens photographed?",
     "The kittens were photographed on June 12, the park authority said on Wednesday.", "June 12"),
    ("Who found the coins?", "The coins were discovered in October by Tom Reyes, a retired postman.", "Tom Reyes"),
    ("Who won the prize?", "The prize went to Aino Korhonen and Rasmus Berg, who shared it.", "Aino Korhonen and Rasmus Berg"),
    ("Who scored the decisive goal?", "For Eastfield, the defeat was bitter after Jonah Okafor scored.", "Jonah Okafor"),
    ("Where did Rutte give a speech?", "Rutte said in remarks for a speech at Chatham House in London.", "Chatham House"),
]


@pytest.mark.parametrize("question,sentence,expected", CASES, ids=[c[0][:40] for c in CASES])
def test_short_answer_span(question, sentence, expected):
    span = short_answer_span(question, sentence)
    assert span is not None
    assert sentence[span[0] : span[1]] == expected


@pytest.mark.parametrize(
    "question,sentence",
    [
        ("Who found the coins?", "A hoard of coins was found near the village of Hollin, archaeologists said."),
        ("Where was the painting found?", "The painting was found on Saturday."),
        ("How big was the crowd?", "At half-time the crowd was silent."),
        ("Why did prices fall?", "Prices fell 6.5 percent after the refinery reopened."),
    ],
)
def test_no_short_answer_when_nothing_of_the_type_is_there(question, sentence):
    assert short_answer_span(question, sentence) is None


def test_question_types():
    assert [question_type(q) for q in ["When did it open?", "On which nights did frost strike?", "How close did it come?",
                                       "Who won?", "Where is it?", "Which company bought it?", "What held it up?"]] == [
        "date", "date", "number", "person", "place", "name", None]
