"""Evaluation datasets: RealTime QA (the layout of ../shared/eval/realtimeqa) and our own
JSONL format. Both become a list of ``Question`` and a corpus of articles (dicts with
``url``, ``title``, ``text``, ``published``) that the harness ingests as JSONL."""

from __future__ import annotations

import gzip
import json
import random
from dataclasses import dataclass, field
from pathlib import Path

from assistant.errors import ConfigError
from assistant.eval.metrics import plain
from assistant.text import iso_date


@dataclass
class Question:
    id: str
    question: str
    answers: list[str]
    answerable: bool = True
    gold_uris: list[str] = field(default_factory=list)
    choices: list[str] = field(default_factory=list)
    answer_index: int | None = None
    quote: list[str] = field(default_factory=list)  # words a citation must quote
    split: str = "dev"
    date: str | None = None  # the day the question was asked (RealTime QA)


@dataclass
class EvalSet:
    name: str
    questions: list[Question]
    corpus: list[dict]  # {"url", "title", "text", "published"}
    by_question: dict[str, list[str]] = field(default_factory=dict)  # id -> article urls


def _article(r: dict) -> dict | None:
    if not r.get("url") or not (r.get("text") or "").strip():
        return None
    return {"url": r["url"], "title": r.get("title") or "", "text": r["text"],
            "published": r.get("publish_date") or r.get("published") or ""}


def load_realtimeqa(path: Path) -> EvalSet:
    """``path``: a year folder (2022: gold articles; 2026: search results) or the parent
    folder holding both. Questions without any article are skipped."""
    path = Path(path)
    folders = [path] if list(path.glob("*_qa.jsonl")) else sorted(p for p in path.iterdir()
                                                                   if p.is_dir())
    if not folders or not any(list(f.glob("*_qa.jsonl")) for f in folders):
        raise ConfigError(f"{path}: no RealTime QA *_qa.jsonl files here")
    questions: list[Question] = []
    corpus: dict[str, dict] = {}
    by_question: dict[str, list[str]] = {}
    for folder in folders:
        for qa_file in sorted(folder.glob("*_qa.jsonl")):
            week = qa_file.name.split("_")[0]
            gold = folder / f"{week}_gold.jsonl"
            gcs = folder / f"{week}_gcs.jsonl.gz"
            docs: dict[str, list[dict]] = {}
            if gold.exists():
                lines = gold.read_text(encoding="utf-8").splitlines()
            elif gcs.exists():
                with gzip.open(gcs, "rt", encoding="utf-8") as fh:
                    lines = fh.read().splitlines()
            else:
                continue
            for line in lines:
                r = json.loads(line)
                docs[r["question_id"]] = [a for a in map(_article, r.get("search_result")
                                                         or []) if a]
            for line in qa_file.read_text(encoding="utf-8").splitlines():
                q = json.loads(line)
                arts = docs.get(q["question_id"]) or []
                if not arts:
                    continue
                idx = int(q["answer"][0])
                answer = q["choices"][idx]
                for a in arts:
                    corpus.setdefault(a["url"], a)
                by_question[q["question_id"]] = [a["url"] for a in arts]
                if gold.exists():
                    gold_uris = [a["url"] for a in arts]
                else:  # search results: gold are those that contain the answer
                    norm = plain(answer)
                    gold_uris = [a["url"] for a in arts if norm and norm in plain(a["text"])]
                questions.append(Question(q["question_id"], q["question_sentence"], [answer],
                                          bool(gold_uris), gold_uris, q["choices"], idx,
                                          date=iso_date(q.get("question_date") or "")))
    return EvalSet("realtimeqa", questions, list(corpus.values()), by_question)


def load_jsonl(path: Path, corpus: Path) -> EvalSet:
    """Our format: one ``{"question", "answers", "answerable", "gold_uris"}`` per line.

    ``corpus`` is either a file or folder that ``assistant ingest`` takes, or, when rows
    name an ``article``, the root those names are read under (``../shared``): a plain file
    ("corpus/x.txt"), or one article of a RealTime QA search-results file
    ("eval/realtimeqa/2026/W_gcs.jsonl.gz#URL"). Rows may carry ``quote`` (words a
    citation must quote) and ``split`` (dev or test)."""
    questions, articles = [], {}
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            r = json.loads(line)
            gold = list(r.get("gold_uris") or [])
            if r.get("article"):
                art = _named_article(Path(corpus), r["article"])
                articles.setdefault(art.get("url") or art["path"], art)
                gold = gold or [art.get("url") or art["path"]]
            questions.append(Question(r.get("id") or f"q{n}", r["question"],
                                      list(r.get("answers") or []),
                                      bool(r.get("answerable", True)), gold,
                                      quote=list(r.get("quote") or []),
                                      split=r.get("split") or "dev"))
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            raise ConfigError(f"{path}:{n}: not a question line ({e})") from None
    corpus_entries = list(articles.values()) or [{"path": str(Path(corpus).resolve())}]
    return EvalSet("jsonl", questions, corpus_entries)


def load_squad(path: Path, articles: list[str] | None = None) -> EvalSet:
    """SQuAD JSON (1.1 or 2.0, ``.json`` or ``.json.gz``): each article one document (its
    paragraphs, a blank line apart), all its questions asked; SQuAD 2.0's impossible
    questions are unanswerable. ``articles`` keeps only those titles."""
    opener = gzip.open if str(path).endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8") as fh:
            data = json.load(fh)["data"]
    except (OSError, ValueError, KeyError) as e:
        raise ConfigError(f"{path}: not a SQuAD JSON file ({e})") from None
    wanted = set(articles or [])
    unknown = wanted - {a["title"] for a in data}
    if unknown:
        raise ConfigError(f"{path}: no article titled {', '.join(sorted(unknown))}")
    questions, corpus = [], []
    for art in data:
        if wanted and art["title"] not in wanted:
            continue
        url = f"https://en.wikipedia.org/wiki/{art['title']}"
        corpus.append({"url": url, "title": art["title"].replace("_", " "),
                       "text": "\n\n".join(p["context"] for p in art["paragraphs"]),
                       "published": ""})
        for para in art["paragraphs"]:
            for qa in para["qas"]:
                impossible = bool(qa.get("is_impossible"))
                answers = list(dict.fromkeys(a["text"] for a in qa.get("answers") or []))
                questions.append(Question(qa["id"], qa["question"], answers, not impossible,
                                          [url], split=art["title"]))
    return EvalSet("squad", questions, corpus)


def _named_article(root: Path, name: str) -> dict:
    """One article named by a dataset row: {"path"} for a file, or an article dict."""
    file, _, url = name.partition("#")
    full = (root / file).resolve()
    if not full.exists():
        raise ConfigError(f"{full}: article file not found (is --corpus the folder the "
                          f"dataset's article names are relative to?)")
    if not url:
        return {"path": str(full)}
    opener = gzip.open if full.suffix == ".gz" else open
    with opener(full, "rt", encoding="utf-8") as fh:
        for line in fh:
            for a in json.loads(line).get("search_result") or []:
                if a.get("url") == url and (art := _article(a)):
                    return art
    raise ConfigError(f"{full}: no article with url {url}")


def split_of(questions: list[Question], split: str) -> list[Question]:
    """The questions of one split ("dev", "test"), or all of them ("all")."""
    return list(questions) if split == "all" else [q for q in questions if q.split == split]


def sample(questions: list[Question], limit: int | None, seed: int) -> list[Question]:
    if limit is None or limit >= len(questions):
        return list(questions)
    return random.Random(seed).sample(questions, limit)
