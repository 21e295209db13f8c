"""Metrics as the SuperGLUE leaderboard computes them (accuracy, CB macro-F1, ...)."""
from __future__ import annotations


def accuracy(preds, labels) -> float:
    return sum(int(p == y) for p, y in zip(preds, labels)) / max(len(labels), 1)


def f1_macro(preds, labels, num_labels: int) -> float:
    scores = []
    for c in range(num_labels):
        tp = sum(1 for p, y in zip(preds, labels) if p == c and y == c)
        fp = sum(1 for p, y in zip(preds, labels) if p == c and y != c)
        fn = sum(1 for p, y in zip(preds, labels) if p != c and y == c)
        scores.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return sum(scores) / num_labels


def classification_metrics(task, preds, labels) -> dict[str, float]:
    out = {"accuracy": accuracy(preds, labels)}
    if "f1_macro" in task.metrics:
        out["f1_macro"] = f1_macro(preds, labels, task.num_labels)
    return {k: round(100 * v, 2) for k, v in out.items()}
