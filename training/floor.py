"""Zero-training floors: every trained method must beat them.

- Any labelled task: the majority class of train, scored with the task's metrics (`majority_floor`).
- WiC: each sentence is encoded alone by the frozen encoder; the target word's vector is the mean of
its word pieces' last-layer vectors; the score is the cosine of the two vectors, and the one
threshold that maximises train accuracy is applied to validation.
"""
from __future__ import annotations

import torch

from augment.common.errors import PTPError


def majority_floor(task, train_rows: list[dict], rows: list[dict]) -> dict:
    """Always predict train's most frequent label (ties: the lower index), scored on `rows`."""
    from collections import Counter

    from .metrics import task_metrics

    if task.kind == "record":
        raise PTPError("ReCoRD has no majority class (its answers are entities)")
    counts = Counter(r["label"] for r in train_rows)
    label = max(sorted(counts), key=counts.get)
    return {"rule": f"always {task.labels[label]!r} (train's majority class)",
            **task_metrics(task, rows, [label] * len(rows))}


@torch.no_grad()
def word_vectors(encoder, tokenizer, sentences, spans, batch_size: int = 64) -> torch.Tensor:
    out = []
    encoder.eval()
    for i in range(0, len(sentences), batch_size):
        enc = tokenizer(sentences[i:i + batch_size], padding=True, truncation=True, max_length=128,
                        return_offsets_mapping=True, return_tensors="pt")
        offsets = enc.pop("offset_mapping")
        hidden = encoder(**enc).last_hidden_state
        for j, (start, end) in enumerate(spans[i:i + batch_size]):
            s, e = offsets[j, :, 0], offsets[j, :, 1]
            mask = (s < end) & (e > start) & (e > s)
            out.append(hidden[j][mask].mean(0) if mask.any() else hidden[j, 0])
    return torch.stack(out)


def cosines(encoder, tokenizer, rows) -> torch.Tensor:
    a = word_vectors(encoder, tokenizer, [r["sentence1"] for r in rows], [(r["start1"], r["end1"]) for r in rows])
    b = word_vectors(encoder, tokenizer, [r["sentence2"] for r in rows], [(r["start2"], r["end2"]) for r in rows])
    return torch.nn.functional.cosine_similarity(a, b)


def best_threshold(scores: torch.Tensor, labels: torch.Tensor) -> float:
    candidates = torch.sort(scores).values
    accs = [((scores >= t).long() == labels).float().mean().item() for t in candidates]
    return candidates[max(range(len(accs)), key=accs.__getitem__)].item()


def cosine_floor(model: str = "minilm", source: str = "auto", data_dir=None, log=print) -> dict:
    """The cosine rule with its threshold fit on train, scored on validation and, where the test
    split is labelled (WordNet-WiC; not official SuperGLUE), on test: the split the protocol reports."""
    from augment.common.sources import load_task_data

    from .model import load_encoder

    data, info = load_task_data("wic", source, data_dir, log=log)
    if "train" not in data or "validation" not in data:
        raise PTPError("the floor needs WiC train and validation splits")
    encoder, tokenizer = load_encoder(model)

    def scored(rows):
        return cosines(encoder, tokenizer, rows), torch.tensor([r["label"] for r in rows])

    s_train, y_train = scored(data["train"].to_list())
    t = best_threshold(s_train, y_train)
    acc = lambda s, y: round(100 * ((s >= t).long() == y).float().mean().item(), 2)  # noqa: E731
    result = {"task": "wic", "model": model, "source": info.fingerprint, "threshold": round(t, 4),
              "train_accuracy": acc(s_train, y_train),
              "validation_accuracy": acc(*scored(data["validation"].to_list()))}
    test = data["test"].to_list() if "test" in data else []
    if test and all(r["label"] in (0, 1) for r in test):  # official test files carry no labels
        result["test_accuracy"] = acc(*scored(test))
    return result
