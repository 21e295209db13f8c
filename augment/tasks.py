"""The task registry: one frozen, declarative record per SuperGLUE task, read by both stages.

A record says which fields an example has (in the flat schema that Hugging Face's `super_glue`
uses, which the local loaders also produce), its labels, how the SuperGLUE leaderboard scores it,
which text fields a perturbation may edit, which spans it must leave alone, and how the fields are
rendered into the encoder's input (the template is shared by the trainer and the adversarial
victim, so both see the same text).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .errors import PTPError


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
    # Task files (augment/task_file.py) only. The raw value -> label name table of the data's label
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

TASKS: dict[str, Task] = {}


def _register(task: Task) -> None:
    if task.name in TASKS:
        raise ValueError(f"task {task.name} registered twice")
    TASKS[task.name] = task


_register(Task(
    name="boolq", kind="classification",
    text_fields=("question", "passage"), extra_fields=(),
    labels=BOOL, metrics=("accuracy",), perturbable=("passage",),
    template=("{question}", "{passage}"),
    notes="The question is kept intact: edits to a short yes/no question change its meaning.",
))
_register(Task(
    name="cb", kind="classification",
    text_fields=("premise", "hypothesis"), extra_fields=(),
    labels=("entailment", "contradiction", "neutral"), metrics=("accuracy", "f1_macro"),
    perturbable=("premise", "hypothesis"),
    template=("{premise}", "{hypothesis}"),
))
_register(Task(
    name="copa", kind="multiple_choice",
    text_fields=("premise", "choice1", "choice2"), extra_fields=("question",),
    labels=("choice1", "choice2"), metrics=("accuracy",),
    perturbable=("premise", "choice1", "choice2"),
    # `question` is "cause" or "effect": rendered as the connective that makes the pair read.
    template=("{premise} {connective}", "{choice}"),
    choice_fields=("choice1", "choice2"),
    notes="Each choice is scored as (premise + 'because'/'so', choice); softmax over the two.",
))
_register(Task(
    name="multirc", kind="multirc",
    text_fields=("paragraph", "question", "answer"), extra_fields=(),
    labels=BOOL, metrics=("f1a", "em"), perturbable=("paragraph", "question", "answer"),
    template=("{paragraph}", "{question} {answer}"),
    group_field="question_id",
    notes="Answer-level binary rows; F1a over all answers, exact match per question.",
))
_register(Task(
    name="record", kind="record",
    text_fields=("passage", "query"), extra_fields=("entities", "entity_spans", "answers"),
    labels=BOOL, metrics=("f1", "em"), perturbable=("passage", "query"),
    protected=(EntitySpans("passage", "entity_spans"), Literal("query", "@placeholder")),
    template=("{passage}", "{query}"),
    group_field="query_id",
    notes="Each candidate entity fills @placeholder and is scored; best candidate vs gold answers.",
))
_register(Task(
    name="rte", kind="classification",
    text_fields=("premise", "hypothesis"), extra_fields=(),
    labels=("entailment", "not_entailment"), metrics=("accuracy",),
    perturbable=("premise", "hypothesis"),
    template=("{premise}", "{hypothesis}"),
))
_WIC_SPANS = (CharSpan("sentence1", "start1", "end1"), CharSpan("sentence2", "start2", "end2"))
_register(Task(
    name="wic", kind="classification",
    text_fields=("word", "sentence1", "sentence2"), extra_fields=("start1", "end1", "start2", "end2"),
    labels=BOOL, metrics=("accuracy",), perturbable=("sentence1", "sentence2"),
    protected=_WIC_SPANS,
    # P-tuning v2's WiC template for BERT: the pair ("word: sentence1", "word: sentence2").
    template=("{word}: {sentence1}", "{word}: {sentence2}"),
    pooled_spans=_WIC_SPANS,
))
_WSC_SPANS = (WordSpan("text", "span1_index", "span1_text"), WordSpan("text", "span2_index", "span2_text"))
_register(Task(
    name="wsc", kind="classification",
    text_fields=("text", "span1_text", "span2_text"), extra_fields=("span1_index", "span2_index"),
    labels=BOOL, metrics=("accuracy",), perturbable=("text",),
    protected=_WSC_SPANS,
    template=("{text}", "Does '{span2_text}' refer to '{span1_text}'?"),
    pooled_spans=_WSC_SPANS,
))


def register(task: Task) -> Task:
    """Add a task-file record; the same definition twice is one task, two under one name an error."""
    known = TASKS.get(task.name)
    if known is not None and known.definition != task.definition:
        where = f" (from {known.origin})" if known.origin else " (a built-in task)"
        raise PTPError(f"{task.origin or 'task file'}: key 'name': task '{task.name}' already exists{where}; "
                       "choose another name")
    if known is None:
        TASKS[task.name] = task
    return TASKS[task.name]


def get_task(name: str) -> Task:
    """A registered task, or a task file shipped with the package (augment/task_files/NAME.yaml)."""
    key = name.lower()
    if key not in TASKS:
        from .task_file import builtin_task_files, load_task_file

        shipped = builtin_task_files()
        if key not in shipped:
            raise PTPError(f"unknown task '{name}': choose one of {', '.join(sorted(set(TASKS) | set(shipped)))}, "
                           "or describe your own with --task-file")
        register(load_task_file(shipped[key]))
    return TASKS[key]


def copa_connective(question: str) -> str:
    return {"cause": "because", "effect": "so"}[question]


def candidate_names(task: Task, example: dict) -> list[str]:
    """What each scored input of a row stands for: COPA's choice fields, ReCoRD's distinct entity
    strings (first-mention order), or [""] for the row itself (classification, MultiRC)."""
    if task.kind == "multiple_choice":
        return list(task.choice_fields)
    if task.kind == "record":
        return list(dict.fromkeys(example["entities"]))
    return [""]


def gold(task: Task, example: dict) -> list[int]:
    """Indices of the right outputs: the label (classification, MultiRC, COPA's choice), or every
    candidate entity that is one of ReCoRD's gold answers (empty when none is)."""
    if task.kind == "record":
        answers = {a.strip() for a in example["answers"]}
        return [i for i, name in enumerate(candidate_names(task, example)) if name.strip() in answers]
    return [example["label"]]
