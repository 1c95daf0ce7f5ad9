"""What the text module extracts, pinned on phrases as real articles write them (the seed
article and RealTime QA news: curly quotes, "U.S.", flattened tables, stray markup)."""

from __future__ import annotations

import pytest

from assistant.question import (fits, focus_words, person_names, question_kind, time_window,
                                wants_recent)
from assistant.text import (iso_date, mentions, name_words, numbers, quantities,
                            sentence_spans)

# (text, [(kind, text)]) -- every quantity found, in order
QUANTITIES = [
    ("hit with a massive $2.8 billion fine", [("money", "$2.8 billion")]),
    ("invest another 380 billion yuan over the next three years",
     [("money", "380 billion yuan")]),
    ("over 100 billion yuan (roughly $14 billion) in AI",
     [("money", "100 billion yuan"), ("money", "$14 billion")]),
    ("sunk over $3.3 billion into AI-related deals", [("money", "$3.3 billion")]),
    ("saw a 26% revenue surge", [("percent", "26%")]),
    ("shares have soared by over 90% this year", [("percent", "90%")]),
    ("Sep 20, 2025", [("date", "Sep 20, 2025")]),
    ("Sept. 20, 2025", [("date", "Sept. 20, 2025")]),
    ("Financial market analysis from 20/09/2025.", [("date", "20/09/2025")]),
    ("Updated Feb. 6, 2026, 12:14 p.m. ET", [("date", "Feb. 6, 2026"), ("number", "12:14")]),
    ("On March 23, an optical illusion", [("date", "March 23")]),
    ("due by Wednesday April 15, this year", [("date", "April 15")]),
    ("until Thursday, Oct. 15 to file", [("date", "Oct. 15")]),
    ("(February 10-February 26)", [("date", "February 10"), ("date", "February 26")]),
    ("on 3 March the board met", [("date", "3 March")]),
    ("published 2025-09-20 in print", [("date", "2025-09-20")]),
    ("since 1996, when Atlanta", [("year", "1996")]),
    ("nearly $40 million in assets", [("money", "$40 million")]),
    ("a $1 trillion market cap", [("money", "$1 trillion")]),
    ("less than $400 billion today", [("money", "$400 billion")]),
    ("$4.12 per gallon", [("money", "$4.12")]),
    ("average refund totaling $3,521.", [("money", "$3,521")]),
    ("more than 88.4 million tax returns", [("count", "88.4 million")]),
    ("standard penalty is 5% of any tax", [("percent", "5%")]),
    ("taking about 58% of the vote", [("percent", "58%")]),
    ("Its 7.2 million people", [("count", "7.2 million")]),
    ("41 cruise ships docked", [("count", "41")]),
    ("US$5.5 million was raised", [("money", "US$5.5 million")]),
    ("€120m fund", [("money", "€120")]),
    ("£3 billion deal", [("money", "£3 billion")]),
    ("2.5 million euros", [("money", "2.5 million euros")]),
    ("20 percent of sales", [("percent", "20 percent")]),
    ("Top 10 global rankings", [("count", "10")]),
    ("AI infrastructure26% revenue growth", [("percent", "26%")]),
    ("Charles, 74, rolled out", [("number", "74")]),
    ("No numbers at all here.", []),
    ("a deal worth $97.1 million, making", [("money", "$97.1 million")]),
    ("$532 million in guaranteed career earnings", [("money", "$532 million")]),
    ("rose from $3.12 per gallon to $4.12 as of April 12.",
     [("money", "$3.12"), ("money", "$4.12"), ("date", "April 12")]),
    ("approximately $221.7 billion in refunds", [("money", "$221.7 billion")]),
    ("0.5% of any unpaid amount", [("percent", "0.5%")]),
    ("up to 25% of the unpaid balance", [("percent", "25%")]),
    ("every 13 to 15 years", [("number", "13"), ("count", "15")]),
    ("nearly 75,000 miles", [("count", "75,000")]),
    ("more than 320 million years ago", [("count", "320 million")]),
    ("only 4.7 inches", [("count", "4.7")]),
    ("In 2018, Trioa discovered", [("year", "2018")]),
    ("by nearly 81.9 million years, to more than 328 million years ago",
     [("count", "81.9 million"), ("count", "328 million")]),
]


@pytest.mark.parametrize("text,expected", QUANTITIES)
def test_quantities(text: str, expected: list[tuple[str, str]]) -> None:
    assert [(q.kind, q.text) for q in quantities(text)] == expected
    for q in quantities(text):
        assert text[q.start:q.end].strip() == q.text


# (text, name words)
NAMES = [
    ("The company’s U.S.-traded shares have soared", ["U.S."]),
    ("competitors like Pinduoduo and Douyin gained ground", ["Pinduoduo", "Douyin"]),
    ("Steven Soarez passionately shares his expertise", ["Steven", "Soarez"]),
    ("However, Alibaba said", ["Alibaba"]),
    ("Investing in tech aligns with national goals", []),
    ("King Charles hosted his first state visit", ["King", "Charles"]),
    ("— Nick Murray", ["Nick", "Murray"]),
    ("U.S. tech giants like Google and Amazon", ["U.S.", "Google", "Amazon"]),
    # A lone capitalised word opening a sentence is taken for an ordinary word.
    ("Alibaba’s bold shift from e-commerce", []),
    ("Alibaba’s bold shift puts Alibaba’s future at stake", ["Alibaba", "Alibaba"]),
    ("a direct challenge to companies like Meta.", ["Meta"]),
    ("tools like ChatGPT, this company", ["ChatGPT"]),
    ("the GOP’s critic", ["GOP"]),
    ("Patrick De Haan, head of petroleum analysis at GasBuddy",
     ["Patrick", "De", "Haan", "GasBuddy"]),
    ("Gen. Rumen Radev, 53, a former chief", ["Rumen", "Radev"]),
    ("It beat home favorite, the tearjerker", []),
    ("The BAFTAs were held", ["BAFTAs"]),
    ("Approximately 1 billion people", []),
    ("South African President Cyril Ramaphosa", ["South", "African", "President", "Cyril",
                                                 "Ramaphosa"]),
    ("she said. Biden tested positive", []),
    ("she said. Joe Biden tested positive", ["Joe", "Biden"]),
    ("Texas-Mexico border", ["Texas-Mexico"]),
    ("the Strait of Hormuz, which", ["Strait", "Hormuz"]),
    ("NBA superstar LeBron James has agreed", ["NBA", "LeBron", "James"]),
    ("according to the Alzheimer's Association.", ["Alzheimer", "Association"]),
    ("said in an April 13 blog post", ["April"]),
    ("the “Buck Moon,” believed", ["Buck", "Moon"]),
]


@pytest.mark.parametrize("text,expected", NAMES)
def test_name_words(text: str, expected: list[str]) -> None:
    assert name_words(text) == expected


def test_short_acronyms_and_openers() -> None:
    assert name_words("How much has Alibaba committed to AI?", short_acronyms=False) == [
        "Alibaba"]
    assert name_words("Investing pays.", openers=True) == ["Investing"]


# (question, kind)
KINDS = [
    ("How much has Alibaba committed to AI?", "amount"),
    ("How big was the penalty Alibaba received?", "amount"),
    ("By what percentage did cloud revenue grow?", "amount"),
    ("What is the diameter of Saturn's rings?", "amount"),
    ("How long does Saturn take to orbit the sun?", "amount"),
    ("How old was King Charles?", "amount"),
    ("How many employees does Alibaba have?", "count"),
    ("How many BAFTA prizes did the film take home?", "count"),
    ("What number of cruise ships docked?", "count"),
    ("When was the article published?", "date"),
    ("On what date will Saturn's rings disappear?", "date"),
    ("In what year was Alibaba founded?", "date"),
    ("By when must taxpayers file?", "date"),
    ("Who is the author of the article?", "person"),
    ("Who won the BAFTA for best actress?", "person"),
    ("What is the name of Alibaba's chief executive?", "person"),
    ("Which high-ranking US official tested positive for Covid-19?", "person"),
    ("Which member of the Biden administration tested positive?", "person"),
    ("Which professional basketball player became the highest paid?", "person"),
    ("Which leader did King Charles welcome?", "person"),
    ("Where are the 2032 Summer Games going to be held?", "place"),
    ("Which city will host the 2028 Summer Olympics?", "place"),
    ("In which city is Alibaba headquartered?", "place"),
    ("Which country won the World Cup?", "place"),
    ("Which competitors took ground from Alibaba?", "organisation"),
    ("Which company do Alibaba's AI glasses challenge?", "organisation"),
    ("Which film was named best film?", "organisation"),
    ("In which journal was the study published?", "organisation"),
    ("Is Alibaba profitable?", "yesno"),
    ("Did the IRS extend the deadline?", "yesno"),
    ("Why was Alibaba fined?", "other"),
    ("What was Alibaba fined for?", "other"),
    ("What did the president say?", "other"),
    ("Supermarkets in France are struggling to stock which condiment?", "other"),
    ("What wearable product is Alibaba developing?", "other"),
    ("What is the population of Sofia?", "amount"),
    ("What is Alibaba's current market value according to the article?", "amount"),
    ("How old was King Charles when he hosted his first state visit?", "amount"),
    ("What is the federal tax filing deadline in 2026?", "date"),
    ("What is the name of the humanoid robotics startup Alibaba invested in?",
     "organisation"),
    ("What is the name of the film that won?", "organisation"),
    ("Who heads petroleum analysis at GasBuddy?", "person"),
    ("Which president is the octopus ancestor named after?", "person"),
    ("When is the next full moon?", "date"),
    ("Are gas prices going up?", "yesno"),
    ("Why is July's full moon called the Buck Moon?", "other"),
    ("Which rival gained ground in livestream shopping?", "organisation"),
    ("Broadway’s biggest stars were recognized this week at which prestigious awards show?",
     "other"),
]


@pytest.mark.parametrize("question,kind", KINDS)
def test_question_kind(question: str, kind: str) -> None:
    assert question_kind(question) == kind


# (question kind, sentence, fits)
FITS = [
    ("amount", "Plans to invest another 380 billion yuan over the next three years.", 1.0),
    ("amount", "The cloud division saw a 26% revenue surge.", 1.0),
    ("amount", "Charles, 74, rolled out the pomp.", 0.5),
    ("amount", "The shares have soared this year.", 0.0),
    ("amount", "It was founded in 1999.", 0.0),
    ("amount", "It circles L2, about 1.5 million kilometres from Earth.", 1.0),
    ("count", "41 cruise ships docked in the port.", 1.0),
    ("count", "It took home a total of six prizes.", 1.0),
    ("count", "The company employs many people.", 0.0),
    ("date", "July's full moon will occur on July 10, 2025.", 1.0),
    ("date", "The Winter Games return for the first time since 2002.", 0.7),
    ("date", "Biden tested positive on Thursday morning.", 0.7),
    ("date", "The rings are made of ice.", 0.0),
    ("person", "Jessie Buckley won best actress for playing Agnes.", 1.0),
    ("person", "The article was written by the staff.", 0.0),
    ("person", "The president of Alibaba spoke.", 0.5),
    ("place", "The 2032 Games will be held in Brisbane, Australia.", 1.0),
    ("place", "It will be hosted by Brisbane.", 0.5),
    ("place", "The games will be held soon.", 0.0),
    ("organisation", "Competitors like Pinduoduo and Douyin gained ground.", 1.0),
    ("organisation", "the competitors gained ground.", 0.0),
    ("other", "Anything at all.", 1.0),
    ("yesno", "Anything at all.", 1.0),
]


@pytest.mark.parametrize("kind,sentence,expected", FITS)
def test_fits(kind: str, sentence: str, expected: float) -> None:
    assert fits(kind, sentence) == expected


# (text, sentences)
SENTENCES = [
    ("The company’s U.S.-traded shares have soared. One fund manager agreed.",
     ["The company’s U.S.-traded shares have soared.", "One fund manager agreed."]),
    ("Gen. Rumen Radev, 53, won. Tsacheva lost.", ["Gen. Rumen Radev, 53, won.",
                                                   "Tsacheva lost."]),
    ("“They’re positioning themselves,” one said. Next.",
     ["“They’re positioning themselves,” one said.", "Next."]),
    ("SectorInvestment FocusImpact\nAI ModelsText and video generationTop 10",
     ["SectorInvestment FocusImpact", "AI ModelsText and video generationTop 10"]),
    ("Published Sept. 20, 2025 by staff. It rose 26%.",
     ["Published Sept. 20, 2025 by staff.", "It rose 26%."]),
    ("Related Articles\n\n?>", ["Related Articles", "?>"]),
    ("Dr. Jill Biden tested positive. She is well.", ["Dr. Jill Biden tested positive.",
                                                     "She is well."]),
    ("At 10 a.m. ET the market opened. It fell.", ["At 10 a.m. ET the market opened.",
                                                   "It fell."]),
]


@pytest.mark.parametrize("text,expected", SENTENCES)
def test_sentences(text: str, expected: list[str]) -> None:
    assert [text[s:e] for s, e in sentence_spans(text)] == expected


DATES = [
    ("Sep 20, 2025", "2025-09-20"), ("Sept. 20, 2025", "2025-09-20"),
    ("20 September 2025", "2025-09-20"), ("2025/09/20", "2025-09-20"),
    ("Updated June 9, 2025, 12:30 p.m. ET", "2025-06-09"), ("2026/02/06", "2026-02-06"),
    ("Feb. 22, 2026, 7:59 p.m. ET", "2026-02-22"), ("no date here", None),
]


@pytest.mark.parametrize("text,expected", DATES)
def test_iso_date(text: str, expected: str | None) -> None:
    assert iso_date(text) == expected


def test_numbers_focus_and_mentions() -> None:
    assert numbers("1,000 people paid $5.00 on 3.50") == {"1000", "5", "3.5"}
    assert focus_words("How much has Alibaba committed to AI?") == {"alibaba", "commit", "ai"}
    assert focus_words("What is the name of Alibaba's chief executive?") >= {"alibaba",
                                                                          "execut"}
    assert focus_words("Who leads Alibaba?") == {"alibaba"}  # "leads": the role asked for
    assert focus_words("What leads to inflation?") == {"lead", "inflat"}
    assert mentions("the BAFTA Awards", "BAFTAs")
    assert mentions("in Texas and Mexico", "Texas-Mexico")
    assert not mentions("in Texas", "Texas-Mexico")
    assert mentions("Alibaba’s shares", "Alibaba's")


# (question, as-of day, window of publication days)
WINDOWS = [
    ("Which agency said this week it is running out of cash?", "2026-05-08",
     ("2026-05-01", "2026-05-08")),
    ("What did the Fed announce yesterday?", "2026-05-08", ("2026-05-06", "2026-05-08")),
    ("Which food was recalled last month?", "2026-05-08", ("2026-03-07", "2026-05-08")),
    ("Who won the election last week?", "2026-05-08", ("2026-04-24", "2026-05-08")),
    ("What happened today in Paris?", "2026-05-08", ("2026-05-07", "2026-05-08")),
    ("How much did Alibaba invest in 2025?", "2026-05-08", ("2025-01-01", "2025-12-31")),
    ("How much did Alibaba invest in 2025?", "2025-09-20", ("2025-01-01", "2025-09-20")),
    ("What is planned in 2030?", "2026-05-08", None),
    ("What did sales do this year?", "2026-05-08", ("2026-01-01", "2026-05-08")),
    ("What did sales do last year?", "2026-05-08", ("2025-01-01", "2025-12-31")),
    ("How much has Alibaba committed to AI?", "2026-05-08", None),
]


@pytest.mark.parametrize("question,as_of,window", WINDOWS)
def test_time_window(question: str, as_of: str, window: tuple[str, str] | None) -> None:
    assert time_window(question, as_of) == window


def test_wants_recent() -> None:
    assert wants_recent("What has Alibaba recently announced?")
    assert wants_recent("Which agency said this week it is running out of cash?")
    assert not wants_recent("How much has Alibaba committed to AI?")


PEOPLE = [
    ("Chief executive Eddie Wu has described the shift", ["Eddie Wu"]),
    ("Alibaba Group, best known for its Taobao and Tmall shopping sites", []),
    ("Revenue at the Cloud Intelligence Group grew 26%", []),
    ("In February 2025 the Hangzhou-based group said", []),
    ("Dr. Jill Biden tested positive", ["Jill Biden"]),
    ("The Winter Games return to the Beehive State", []),
    ("said Patrick De Haan, head of petroleum analysis", ["Patrick De Haan"]),
]


@pytest.mark.parametrize("text,expected", PEOPLE)
def test_person_names(text: str, expected: list[str]) -> None:
    assert person_names(text) == expected
