"""The citation checker on hand-made cases."""

from __future__ import annotations

from assistant.citations import (check_claims, key_facts, missing_entities, question_entities,
                                 split_claims, supports)
from assistant.types import Chunk, Document, Hit

DOC = Document.make("mem://a", "Alibaba bets on AI",
                    "Alibaba plans to spend 380 billion yuan on AI. Cloud revenue grew 26%. "
                    "Chief executive Eddie Wu called it an opportunity.")
HIT = Hit(Chunk.of(DOC, 0, len(DOC.text)), 1.0, DOC.uri, DOC.title)


def test_split_claims_with_marker_styles() -> None:
    got = split_claims("Alibaba plans 380 billion yuan [Source 1]. Revenue grew [1, 2]. "
                       "Eddie Wu said so. [3] Done")
    assert got == [("Alibaba plans 380 billion yuan.", (1,)), ("Revenue grew.", (1, 2)),
                   ("Eddie Wu said so.", (3,)), ("Done", ())]
    # A run of markers after the full stop belongs to the sentence before it, all of it.
    assert split_claims("Biden tested positive. [2][3] Next [1].") == [
        ("Biden tested positive.", (2, 3)), ("Next.", (1,))]


def test_key_facts_and_support() -> None:
    facts = key_facts("Alibaba will spend 380 billion yuan, said Eddie Wu on 3 March.")
    assert {"380", "Eddie", "Wu", "3", "March"} <= set(facts)
    assert supports(["380", "Eddie"], DOC.text) == []
    assert supports(["500", "Tencent"], DOC.text) == ["500", "Tencent"]
    assert supports(["1,000"], "it cost 1000 dollars") == []
    assert supports(["5.00", "3.50"], "$5 a gallon, up 3.5%") == []
    assert supports(["5.01"], "$5 a gallon") == ["5.01"]
    assert supports(["Texas-Mexico"], "Texas, on the border with Mexico") == []
    # Possessives and typographic apostrophes do not hide a name.
    assert "NBA" in key_facts("He became the NBA's best-paid player.")
    assert supports(key_facts("The GOP's critic left."), "the GOP’s critic") == []


def test_check_claims() -> None:
    claims = check_claims([("Alibaba plans to spend 380 billion yuan.", (1,)),
                           ("Alibaba plans to spend 500 billion yuan.", (1,)),
                           ("Cloud revenue grew 26%.", (9,)),
                           ("Tencent is bigger.", (1,)),
                           ("Cloud revenue grew.", (1,))], [HIT])
    assert [c.supported for c in claims] == [True, False, True, False, True]
    assert claims[1].missing == ("500",)
    # [9] names no source; the claim is attributed to the source that holds it, and checked
    assert claims[2].sources == (1,)
    bare = check_claims([("Tencent grew 26%.", ()), ("Cloud revenue grew 26%.", ())],
                        [HIT])
    assert [c.sources for c in bare] == [(), (1,)]
    assert bare[0].missing == ("no valid citation",)


def test_facts_must_stand_together_in_the_source() -> None:
    text = ("A consensus emerged (79% feel he acted unethically, including 45% who say "
            "illegally). All told, 69% call it a crisis.")
    poll = Document.make("mem://poll", "Poll", text)
    hit = [Hit(Chunk.of(poll, 0, len(text)), 1.0, poll.uri, poll.title)]
    got = check_claims([("69% feel he acted unethically, including 45%.", (1,)),
                        ("79% feel he acted unethically, including 45%.", (1,))], hit)
    assert [(c.supported, c.missing) for c in got] == [(False, ("69",)), (True, ())]


def test_facts_stated_by_the_question_need_no_source() -> None:
    claim = [("Alibaba, with Tencent, plans to spend 380 billion yuan.", (1,))]
    assert not check_claims(claim, [HIT])[0].supported  # Tencent is not in DOC
    asked = "Alongside Tencent, how much will Alibaba spend?"
    assert check_claims(claim, [HIT], asked)[0].supported
    # The premise does not excuse a fact of the answer's own.
    wrong = [("Alibaba, with Tencent, plans to spend 999 billion yuan.", (1,))]
    assert check_claims(wrong, [HIT], asked)[0].missing == ("999",)


def test_wrong_marker_is_corrected_to_the_source_holding_the_facts() -> None:
    other = Document.make("mem://b", "Tencent", "Tencent reported profit of 50 billion yuan.")
    hits = [Hit(Chunk.of(other, 0, len(other.text)), 1.0, other.uri, other.title), HIT]
    got = check_claims([("Alibaba plans to spend 380 billion yuan.", (1,)),
                        ("Alibaba plans to spend 999 billion yuan.", (1,))], hits)
    assert (got[0].supported, got[0].sources) == (True, (2,))
    # No source holds 999: the claim stays unsupported, under its own marker.
    assert (got[1].supported, got[1].sources, got[1].missing) == (False, (1,), ("999",))


def test_question_entities() -> None:
    assert question_entities("How much has Alibaba committed to AI?") == ["Alibaba"]
    assert question_entities("Who won the 2022 FIFA World Cup?") == ["FIFA", "World", "Cup"]
    assert question_entities("What did Nvidia's CEO say?") == ["Nvidia"]
    assert missing_entities("Who leads Tencent?", DOC.text) == ["Tencent"]
    assert missing_entities("How much has Alibaba committed to AI?", DOC.text) == []
    # A compound is mentioned when each part is: "near the Texas border with Mexico".
    assert missing_entities("A bust near the Texas-Mexico border?",
                            "near the Texas border with Mexico") == []
    assert missing_entities("A bust near the Texas-Mexico border?", "in Texas") == [
        "Texas-Mexico"]


def test_date_facts_are_checked_like_numbers() -> None:
    src = [Hit(Chunk.of(DOC, 0, len(DOC.text)), 1.0)]
    said = [s for s in DOC.text.split(". ") if "380" in s][0]
    assert check_claims([(said, (1,))], src)[0].supported
    wrong_year = check_claims([("In 2019 Alibaba pledged 380 billion yuan", (1,))], src)[0]
    assert not wrong_year.supported and "2019" in wrong_year.missing
