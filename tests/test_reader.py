"""The reader's training script end to end on a tiny SQuAD made here (train, export to
int8 ONNX, score through the one door), and the pairs it trains on."""

from __future__ import annotations

import gzip
import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.eval import reader_data as rd
from assistant.reader import OnnxReader, Reader, reader_text
from tests.conftest import ROOT, SAMPLES


def article(title: str, n: int, impossible: bool = False) -> dict:
    paras = []
    for i in range(n):
        context = (f"The {title} ferry number {i} carried {900 + i} cars in June. "
                   f"Its captain, Ilona Varga {i}, joined in {1990 + i}. "
                   f"The ship was built in Gdansk for {20 + i} million euros.")
        start = context.index(str(900 + i))
        qas = [{"id": f"{title}{i}a", "question": f"How many cars did ferry number {i} carry?",
                "answers": [{"text": str(900 + i), "answer_start": start}],
                "is_impossible": False}]
        if impossible:
            qas.append({"id": f"{title}{i}b", "question": f"How many trucks did ferry {i} "
                        "carry in May?", "answers": [], "is_impossible": True,
                        "plausible_answers": [{"text": str(900 + i), "answer_start": start}]})
        paras.append({"context": context, "qas": qas})
    return {"title": title, "paragraphs": paras}


def write(path: Path, articles: list[dict]) -> None:
    with gzip.open(path, "wt", encoding="utf-8") as f:
        json.dump({"version": "v2.0", "data": articles}, f)


def test_pairs_have_hard_negatives_and_the_sentence_first() -> None:
    rows = rd.pairs([article("Danube", 2, impossible=True)], random.Random(0))
    positives = [r for r in rows if r[2] == 1.0]
    assert len(positives) == 2 and all("carried" in r[1].split(" | ")[1] for r in positives)
    impossible = [r for r in rows if "trucks" in r[0]]
    assert impossible and all(r[2] == 0.0 for r in impossible)
    # the plausible answer's sentence is the first negative of an impossible question
    assert "carried" in impossible[0][1].split(" | ")[1]
    assert reader_text("T", "S.", "C.") == "T | S. | C." and reader_text("T", "S.", "") == "T | S."


def test_the_training_script_trains_exports_and_scores(tmp_path: Path) -> None:
    from assistant.eval.train_reader import main

    data = tmp_path / "train"
    data.mkdir()
    write(data / rd.FILES["squad11"], [article(f"A{i}", 3) for i in range(4)])
    write(data / rd.FILES["squad2_train10"], [article("B", 2, impossible=True)])
    write(data / rd.FILES["squad2_dev25"], [article("C", 2, impossible=True),
                                            article("D", 3, impossible=True)])
    out = tmp_path / "reader"
    assert main(["--data", str(data), "--out", str(out), "--questions", "8", "--held-out",
                 "1", "--eval-questions", "6", "--batch-size", "8", "--max-length", "64",
                 "--version", "test"]) == 0
    card = json.loads((out / "card.json").read_text())
    assert card["version"] == "test" and card["pairs"] > card["positives"] > 0
    assert set(card["data"]) == set(rd.FILES) and len(card["held_out_articles"]) == 1
    assert card["files"]["model.onnx"]["bytes"] < 25_000_000
    assert set(card["held_out"]["onnx_int8"]) >= {"top1_answerable", "auroc_answerable"}
    reader = OnnxReader(out, max_length=64)
    assert isinstance(reader, Reader) and reader.name == "reader-test"
    scores = reader.score("How many cars did ferry number 1 carry?", [
        reader_text("C", "The C ferry number 1 carried 901 cars in June.", ""),
        reader_text("C", "The ship was built in Gdansk for 21 million euros.", "")])
    assert len(scores) == 2 and all(0.0 <= s <= 1.0 for s in scores)
    assert reader.score("anything", []) == []

    # The latency benchmark times the decision without and with this reader, alternating.
    r = subprocess.run([sys.executable, "benchmarks/ask_latency.py", "--ingest", str(SAMPLES),
                        "--questions", str(ROOT / "eval" / "samples_qa.jsonl"), "--limit", "4",
                        "--reader", str(out)], cwd=ROOT, capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "answer decision without the reader: median" in r.stdout
    assert "answer decision with the reader: median" in r.stdout


def test_the_shipped_reader_is_the_one_its_card_names_and_its_scores_are_pinned() -> None:
    from assistant.reader import MODEL_DIR, sha256

    reader = OnnxReader()
    card = reader.card
    assert reader.name == "reader-1" and card["base"] == "all-MiniLM-L6-v2"
    for name, entry in card["files"].items():  # the weights are the ones measured
        assert sha256(MODEL_DIR / name) == entry["sha256"]
    assert (MODEL_DIR / "model.onnx").stat().st_size <= 25_000_000
    assert card["held_out"]["onnx_int8"]["top1_answerable"] >= 0.85
    title = "Alibaba bets on AI"
    invest = reader_text(title, "Alibaba said it would invest more than 380 billion yuan "
                         "($53 billion) in AI infrastructure over three years.", "")
    founded = reader_text(title, "Alibaba was founded in 1999 by Jack Ma in Hangzhou.", "")
    shares = reader_text(title, "Shares of the company rose 5% in Hong Kong trading on "
                         "Friday.", "")
    # int8 kernels differ a little between CPUs (AVX2, AVX-512 VNNI, AMX): 0.02 apart at most
    got = reader.score("How much has Alibaba committed to AI?", [invest, founded, shares])
    assert got == pytest.approx([0.5100, 0.2832, 0.2004], abs=0.02)
    got = reader.score("Who founded Alibaba?", [founded, invest])
    assert got == pytest.approx([0.8294, 0.0615], abs=0.02)
