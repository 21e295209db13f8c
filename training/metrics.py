"""Metrics as the SuperGLUE leaderboard computes them.

- accuracy (BoolQ, COPA, RTE, WiC, WSC), CB's macro-F1 over its three classes, and for task
  files binary F1 of the second label;
- MultiRC: F1a, binary F1 over every answer option, and EM, the share of questions whose answer
  options are all labelled right (the official `evaluate.py` of MultiRC, as the leaderboard uses it);
- ReCoRD: token F1 and exact match of the predicted entity against the best of the gold answers,
  after SQuAD-style normalisation (the official ReCoRD evaluation script).
Written out here (a few lines each) rather than through `evaluate`, whose metric scripts are
fetched from the hub, which users offline cannot reach.
"""
from __future__ import annotations

import re
import string
from collections import Counter, defaultdict

PUNCTUATION = frozenset(string.punctuation)


def accuracy(preds, labels) -> float:
    return sum(int(p == y) for p, y in zip(preds, labels)) / max(len(labels), 1)


def f1_macro(preds, labels, num_labels: int) -> float:
    return sum(binary_f1(preds, labels, positive=c) for c in range(num_labels)) / num_labels


def binary_f1(preds, labels, positive: int = 1) -> float:
    tp = sum(1 for p, y in zip(preds, labels) if p == positive and y == positive)
    fp = sum(1 for p, y in zip(preds, labels) if p == positive and y != positive)
    fn = sum(1 for p, y in zip(preds, labels) if p != positive and y == positive)
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def multirc_em(preds, labels, question_ids) -> float:
    """Share of questions whose every answer option is predicted right."""
    right = defaultdict(lambda: True)
    for p, y, q in zip(preds, labels, question_ids):
        right[q] &= p == y
    return sum(right.values()) / max(len(right), 1)


def normalize_answer(text: str) -> str:
    """Lower case, drop punctuation and articles, squeeze whitespace (the ReCoRD/SQuAD script)."""
    text = "".join(ch for ch in text.lower() if ch not in PUNCTUATION)
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def token_f1(prediction: str, gold: str) -> float:
    pred, ref = normalize_answer(prediction).split(), normalize_answer(gold).split()
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def record_scores(predictions: list[str], answers: list[list[str]]) -> tuple[float, float]:
    """(F1, EM) averaged over queries, each the max over that query's gold answers."""
    f1 = em = 0.0
    for pred, golds in zip(predictions, answers):
        f1 += max((token_f1(pred, g) for g in golds), default=0.0)
        em += max((float(normalize_answer(pred) == normalize_answer(g)) for g in golds), default=0.0)
    n = max(len(predictions), 1)
    return f1 / n, em / n


def task_metrics(task, rows: list[dict], preds: list[int], candidates: list[list[str]] | None = None) -> dict:
    """The task's leaderboard metrics (in percent) for one prediction per row.

    `preds` are label ids (classification, MultiRC) or candidate indices (COPA: the choice;
    ReCoRD: the index into `candidates[i]`, the row's entity strings)."""
    if task.kind == "record":
        f1, em = record_scores([c[p] for c, p in zip(candidates, preds)], [r["answers"] for r in rows])
        out = {"f1": f1, "em": em}
    else:
        labels = [r["label"] for r in rows]
        out = {"accuracy": accuracy(preds, labels)}
        if "f1_macro" in task.metrics:
            out["f1_macro"] = f1_macro(preds, labels, task.num_labels)
        if "f1_binary" in task.metrics:  # task files: F1 of the second label (e.g. positive)
            out["f1_binary"] = binary_f1(preds, labels, positive=1)
        if task.kind == "multirc":
            out = {"f1a": binary_f1(preds, labels), "em": multirc_em(preds, labels, [r["question_id"] for r in rows]),
                   **out}
    return {k: round(100 * v, 2) for k, v in out.items()}
