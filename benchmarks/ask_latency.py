"""Median ``ask`` latency on the extractive path, retrieval and answering separately.

    python benchmarks/ask_latency.py --ingest samples/ --questions eval/samples_qa.jsonl
    python benchmarks/ask_latency.py --home eval/out/rtqa2026/home \
        --questions ../shared/eval/realtimeqa/2026

``--home`` reuses an index (e.g. the one an eval run built); ``--ingest`` builds a fresh
one in a temp folder first. The first question (model and index loading) is reported
apart from the rest. ``--reader DIR`` compares the answer decision without and with the
reader at DIR on the same questions, alternating (ABAB), and reports both medians.
``--sentences`` compares, the same way, the decision reading the sentence vectors stored at
ingest with computing them per question (as for a home made before they were stored:
each candidate passage encoded again, no cache kept between questions).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def questions_of(path: Path) -> list[str]:
    if path.is_dir():
        return [json.loads(line)["question_sentence"] for f in sorted(path.glob("*_qa.jsonl"))
                for line in f.read_text(encoding="utf-8").splitlines()]
    return [json.loads(line)["question"] for line in path.read_text().splitlines() if line]


def main() -> None:
    from assistant import Assistant

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--home", type=Path, help="an existing state directory")
    ap.add_argument("--ingest", nargs="*", help="build a fresh index from these sources")
    ap.add_argument("--questions", type=Path, required=True,
                    help="a questions .jsonl (ours) or a RealTime QA week folder")
    ap.add_argument("--limit", type=int, help="at most N questions")
    ap.add_argument("--reader", type=Path, help="a reader folder (model.onnx, tokenizer.json)"
                    ": time the decision without and with it, alternating")
    ap.add_argument("--sentences", action="store_true", help="time the decision with the "
                    "stored sentence vectors and without them, alternating")
    args = ap.parse_args()
    qs = questions_of(args.questions)[:args.limit]
    with tempfile.TemporaryDirectory() as tmp:
        a = Assistant(home=args.home or Path(tmp) / "home")
        if args.ingest:
            a.ingest(args.ingest, progress=False)
        first = a.ask(qs[0]).timings
        if args.reader:
            compare_reader(a, qs, args.reader)
        if args.sentences:
            compare_sentences(a, qs)
        timings = [a.ask(q).timings for q in qs[1:]]
        answered = [t for t in timings if t["answer_ms"] > 0]
        med = lambda xs: statistics.median(xs) if xs else float("nan")  # noqa: E731
        print(f"{len(a.sources())} documents, {len(qs)} questions")
        print(f"first question: retrieve {first['retrieve_ms']:.0f} ms, answer "
              f"{first['answer_ms']:.0f} ms (loads the model and indexes)")
        print(f"median of the rest: retrieve {med([t['retrieve_ms'] for t in timings]):.1f} ms"
              f", answer {med([t['answer_ms'] for t in answered]):.1f} ms over the "
              f"{len(answered)} answered, total "
              f"{med([t['retrieve_ms'] + t['answer_ms'] for t in timings]):.1f} ms")
        a.close()


def compare_reader(a, qs: list[str], folder: Path) -> None:
    """The same questions answered without (A) and with (B) the reader, alternating."""
    from assistant.evidence import READER
    from assistant.reader import OnnxReader

    ev = a.answerer.evidence
    reader = OnnxReader(folder)
    reader.score(qs[0], ["warm-up"])
    if READER not in ev.params.weights:  # an unfitted reader: time it with a neutral weight
        from dataclasses import replace

        ev.params = replace(ev.params, weights={**ev.params.weights, READER: 0.0})
    took: dict[str, list[float]] = {"without": [], "with": []}
    for q in qs[1:]:
        for side in ("without", "with"):
            ev.use_reader(reader if side == "with" else None)
            took[side].append(a.ask(q).timings["answer_ms"])
    ev.use_reader(None)
    for side, ms in took.items():
        print(f"answer decision {side} the reader: median {statistics.median(ms):.1f} ms "
              f"over {len(ms)} questions")


def compare_sentences(a, qs: list[str]) -> None:
    """The same questions with the stored sentence vectors (B) and computing them (A)."""
    ev = a.answerer.evidence
    stored = ev.stored
    took: dict[str, list[float]] = {"computed per question": [], "stored at ingest": []}
    for q in qs[1:]:
        for side in took:
            ev._cache.clear(), ev._chunk_cache.clear()
            ev.stored = stored if side == "stored at ingest" else (
                lambda spans: [[] for _ in spans])
            t = a.ask(q).timings
            took[side].append(t["retrieve_ms"] + t["answer_ms"])
    ev.stored = stored
    for side, ms in took.items():
        print(f"sentence vectors {side}: median {statistics.median(ms):.1f} ms a question "
              f"(retrieval and answer) over {len(ms)} questions")


if __name__ == "__main__":
    main()
