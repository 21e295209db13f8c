"""The declarative records a task is made of: `Task` and the kinds of span it can protect or pool.

Plain frozen data, imported by the task registry (`tasks.py`) and by the task-file reader
(`task_file.py`) alike, so neither has to import the other.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class CharSpan:
    """A span given by character offsets stored in two fields (WiC: start1/end1 in sentence1)."""

    field: str
    start: str
    end: str


@dataclass(frozen=True)
class WordSpan:
    """A span given by a whitespace-word index and its text (WSC: span1_index, span1_text)."""

    field: str
    index: str
    text: str


@dataclass(frozen=True)
class EntitySpans:
    """Every entity of a list of character spans (ReCoRD: entity_spans over the passage)."""

    field: str
    spans: str


@dataclass(frozen=True)
class Literal:
    """Every occurrence of a fixed token (ReCoRD: '@placeholder' in the query)."""

    field: str
    text: str


@dataclass(frozen=True)
class Words:
    """Every whole-word occurrence of listed words, case-insensitive (a task file's `words:`
    protection, e.g. negations a sentiment edit must not drop)."""

    field: str
    words: tuple[str, ...]


SpanSpec = CharSpan | WordSpan | EntitySpans | Literal | Words


@dataclass(frozen=True)
class Task:
    name: str
    kind: str  # classification | multiple_choice | multirc | record
    text_fields: tuple[str, ...]
    extra_fields: tuple[str, ...]  # non-text inputs kept alongside (offsets, indices, entities)
    labels: tuple[str, ...]
    metrics: tuple[str, ...]  # the first one selects the best epoch
    perturbable: tuple[str, ...]
    protected: tuple[SpanSpec, ...] = ()
    template: tuple[str, ...] = ()  # one format string per encoder segment (text_a, text_b)
    pooled_spans: tuple[SpanSpec, ...] = ()  # spans `--pooling span` pools, in order
    group_field: str | None = None  # MultiRC/ReCoRD/COPA: rows that belong to one question
    notes: str = ""
    choice_fields: tuple[str, ...] = field(default=())  # COPA: the alternatives
    # Task files (augment/common/task_file.py) only. The raw value -> label name table of the data's label
    # column, the split -> file table the file names, and the file's canonical JSON: a corpus
    # manifest or a run's config carries it, so later commands rebuild the same record.
    label_field: str = "label"
    label_values: tuple[tuple[str, str], ...] = ()
    data_files: tuple[tuple[str, str], ...] = ()
    definition: str = ""
    origin: str = field(default="", compare=False)  # the task file, for messages

    def __post_init__(self):
        unknown = set(self.perturbable) - set(self.text_fields)
        if unknown:
            raise ValueError(f"{self.name}: perturbable fields {unknown} are not text fields")
        for spec in self.protected + self.pooled_spans:
            if spec.field not in self.text_fields:
                raise ValueError(f"{self.name}: protected span on unknown field {spec.field}")

    @property
    def input_fields(self) -> tuple[str, ...]:
        return self.text_fields + self.extra_fields

    @property
    def num_labels(self) -> int:
        return len(self.labels)


BOOL = ("False", "True")
