"""Leaderboard output: a trained run's predictions in the SuperGLUE submission format.

One JSONL file per task, named as the leaderboard expects (BoolQ.jsonl, CB.jsonl, ...), one line
per example: {"idx": ..., "label": ...}. MultiRC nests answers under their question and passage;
ReCoRD's label is the entity text; COPA's is the choice index. A task file's task writes its
label names.
"""
from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from augment.common.atomic import atomic_folder
from augment.common.official_files import OFFICIAL_DIRS
from augment.common.tasks import Task

from .reload import predict_split

# The leaderboard's spelling of the labels where it differs from the task record's.
SUBMISSION_LABELS = {"boolq": ("false", "true"), "wic": ("false", "true")}


def pick_seed(run: Path, log=print) -> Path:
    """A seed folder as is; in a multi-seed folder, the seed with the best validation score."""
    from .runs import seed_folders

    run = Path(run)
    folders = seed_folders(run)
    if folders == [run]:
        return run
    scored = []
    for folder in folders:
        metrics = json.loads((folder / "metrics.json").read_text())
        scored.append((metrics["best"][metrics["metric"]], folder))
    best = max(scored, key=lambda s: s[0])
    log(f"{run}: predicting with {best[1].name}, the seed with the best validation score ({best[0]})")
    return best[1]


def submission(task: Task, rows: list[dict], preds: list[int], names: list[list[str]]) -> list[dict]:
    if task.kind == "record":
        return [{"idx": int(r["query_id"]) if r["query_id"].isdigit() else r["query_id"], "label": n[p]}
                for r, p, n in zip(rows, preds, names)]
    if task.kind == "multirc":  # passage -> question -> answers, in file order
        passages = defaultdict(lambda: defaultdict(list))
        for r, p in zip(rows, preds):
            paragraph, question = r["question_id"].split("-", 1)
            passages[paragraph][question].append({"idx": r["idx"], "label": p})
        return [{"idx": int(pi), "passage": {"questions": [{"idx": int(qi), "answers": sorted(a, key=lambda x: x["idx"])}
                                                            for qi, a in questions.items()]}}
                for pi, questions in passages.items()]
    if task.kind == "multiple_choice":
        return [{"idx": r["idx"], "label": p} for r, p in zip(rows, preds)]
    labels = SUBMISSION_LABELS.get(task.name, task.labels)
    return [{"idx": r["idx"], "label": labels[p]} for r, p in zip(rows, preds)]


def predict_run(run: Path, split: str = "test", data_dir=None, out=None, device: str = "auto", log=print) -> Path:
    """Write RUN's predictions on `split` (labels not needed) to OUT/<Task>.jsonl."""
    run = pick_seed(run, log)
    task, rows, items, preds = predict_split(run, split, data_dir, device, labelled=False, log=log)
    lines = submission(task, rows, preds, [it["names"] for it in items])
    folder = Path(out) if out else run / "predictions"
    name = f"{OFFICIAL_DIRS.get(task.name, task.name)}.jsonl"
    # The folder is written whole: other tasks' files already there are kept.
    with atomic_folder(folder) as tmp:
        if folder.is_dir():
            for old in folder.glob("*.jsonl"):
                (tmp / old.name).write_bytes(old.read_bytes())
        (tmp / name).write_text("".join(json.dumps(line) + "\n" for line in lines))
    log(f"wrote {len(lines)} {split} predictions to {folder / name}")
    return folder / name
