"""The Hugging Face hub's `super_glue` (online users); the rows are mapped into the same flat
schema as the official files."""
from __future__ import annotations

import hashlib

from .errors import PTPError
from .schema import SourceInfo, features_for
from .tasks import Task

HUB_DATASET = "aps/super_glue"


def hub_row_to_flat(task: Task, row: dict) -> dict:
    """Map one `super_glue` hub row to this project's flat schema."""
    out = {k: row[k] for k in task.input_fields if k in row}
    out["label"] = row.get("label", -1)
    idx = row.get("idx")
    if task.name == "multirc":
        out["question_id"] = f"{idx['paragraph']}-{idx['question']}"
        out["idx"] = idx["answer"]
    elif task.name == "record":
        out["entity_spans"] = [{"start": s, "end": e} for s, e in
                               zip(row["entity_spans"]["start"], row["entity_spans"]["end"])]
        out["query_id"] = f"{idx['passage']}-{idx['query']}"
        out["idx"] = idx["query"]
    else:
        out["idx"] = idx
    return out


def _hub_reachable() -> bool:
    from .resources import host_reachable

    return host_reachable(("huggingface.co", 443))


def load_hub(task: Task):
    from datasets import DatasetDict, load_dataset

    if not _hub_reachable():
        raise PTPError("the Hugging Face hub is not reachable; use --data-dir with official files"
                       + (" or --source wordnet" if task.name == "wic" else ""))
    raw = load_dataset(HUB_DATASET, task.name)
    features = features_for(task)
    out = DatasetDict({split: ds.map(lambda r: hub_row_to_flat(task, r), remove_columns=ds.column_names,
                                     features=features) for split, ds in raw.items()})
    fp = "hub:" + hashlib.sha256("".join(ds._fingerprint for ds in raw.values()).encode()).hexdigest()[:16]
    return out, SourceInfo("hub", f"{HUB_DATASET}/{task.name}", fp)
