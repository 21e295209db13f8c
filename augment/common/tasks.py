"""The task registry: the one module that owns `TASKS`, the name -> record table both stages read.

It holds one frozen, declarative record per SuperGLUE task (the record types are in records.py)
and adds task-file records (read by task_file.py) when a command names one.

A record says which fields an example has (in the flat schema that Hugging Face's `super_glue`
uses, which the local loaders also produce), its labels, how the SuperGLUE leaderboard scores it,
which text fields a perturbation may edit, which spans it must leave alone, and how the fields are
rendered into the encoder's input (the template is shared by the trainer and the adversarial
victim, so both see the same text).
"""
from __future__ import annotations

import json

from .errors import PTPError
from .records import (BOOL, CharSpan, EntitySpans, Literal, SpanSpec, Task, WordSpan,  # noqa: F401
                      Words)
from .task_file import builtin_task_files, load_task_file, task_from_definition

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
    if known is not None and not known.definition:
        raise PTPError(f"{task.origin or 'task file'}: key 'name': '{task.name}' is a built-in SuperGLUE task; "
                       "choose another name")
    if known is not None and known.definition != task.definition:
        where = f" (from {known.origin})" if known.origin else " (a built-in task)"
        raise PTPError(f"{task.origin or 'task file'}: key 'name': task '{task.name}' already exists{where}; "
                       "choose another name")
    if known is None:
        TASKS[task.name] = task
    return TASKS[task.name]


def get_task(name: str) -> Task:
    """A registered task, or a task file shipped with the package (augment/common/task_files/NAME.yaml)."""
    key = name.lower()
    if key not in TASKS:
        shipped = builtin_task_files()
        if key not in shipped:
            raise PTPError(f"unknown task '{name}': choose one of {', '.join(sorted(set(TASKS) | set(shipped)))}, "
                           "or describe your own with --task-file")
        register(load_task_file(shipped[key]))
    return TASKS[key]


def register_task_file(path) -> str:
    """Read, check and register a task file; returns the task's name (for --task-file options)."""
    return register(load_task_file(path)).name


def register_definition(definition: str, origin: str) -> str:
    """Register the record a corpus manifest or run config carries (its canonical JSON)."""
    return register(task_from_definition(json.loads(definition), origin=origin)).name


def resolve_task(task: str | None, task_file) -> str | None:
    """The task an option pair names: --task NAME, or --task-file FILE (registered here)."""
    if task_file is None:
        return task
    name = register_task_file(task_file)
    if task is not None and task.lower() != name:
        raise PTPError(f"--task {task} and --task-file {task_file} (task '{name}') disagree; pass one of them")
    return name


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
