"""Task files: your own text classification task as one YAML or JSON file, read into the same
declarative `Task` record the SuperGLUE tasks are, so every stage runs on it unchanged.

    name: sentiment                     # letters, digits, _ and -; not a built-in task's name
    text_fields: [text]                 # one or more string columns
    label_field: label                  # [default: label]
    labels: {rotten: negative, fresh: positive}   # raw value -> name, or a list of names
    template: ["{text}", "The critic liked the movie."]  # one or two encoder segments
    perturbable: [text]                 # [default: every text field]
    protect:                            # [optional] spans no edit may touch
      - {field: text, words: [not, no, never]}
      - {field: text, start: span_start, end: span_end}   # character offsets in two columns
    metrics: [accuracy, f1_macro]       # accuracy | f1_macro | f1_binary; the first selects
    data: {train: train.jsonl, validation: val.csv, test: test.parquet}   # relative to this file

With a list of labels, the data's label column holds the names or their 0-based indices. Data
files are JSONL, CSV/TSV or Parquet, read with `datasets`' own loaders (`tables.load_table`).
`data:` may be left out and the files given with --data-dir instead.

A file is checked whole before anything runs: each problem is one message naming the file and the
key (a clash with a task already registered is found by the registry, tasks.register). The canonical JSON of the parsed file (`Task.definition`) travels in corpus manifests and run
configs, so `ptp-train --pairs`, `evaluate`, victims and the pipelines rebuild the same record.
"""
from __future__ import annotations

import json
import re
import string
from pathlib import Path

from .errors import PTPError
from .records import CharSpan, Task, Words

METRICS = ("accuracy", "f1_macro", "f1_binary")
SPLITS = ("train", "validation", "test")
KEYS = ("name", "description", "text_fields", "label_field", "labels", "template", "perturbable",
        "protect", "metrics", "data")
REQUIRED = ("name", "text_fields", "labels", "template")
RESERVED_COLUMNS = ("idx", "perturbed", "perturbation")
SHIPPED = Path(__file__).parent / "task_files"


def builtin_task_files() -> dict[str, Path]:
    """Task files shipped with the package: name -> path (the sentiment set is one)."""
    return {p.stem: p for p in sorted(SHIPPED.glob("*.yaml"))}


class _Checker:
    def __init__(self, path: Path):
        self.path = path

    def fail(self, key: str, message: str):
        raise PTPError(f"{self.path}: key '{key}': {message}")

    def names(self, raw: dict, key: str, allowed=None, required=True) -> list[str]:
        value = raw.get(key)
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
            self.fail(key, "should be a non-empty list of names")
        if len(set(value)) != len(value):
            self.fail(key, f"lists a name twice: {value}")
        if allowed is not None:
            unknown = [v for v in value if v not in allowed]
            if unknown:
                self.fail(key, f"{unknown[0]!r} is not one of {', '.join(allowed)}")
        return value


def read_task_file(path) -> dict:
    return read_mapping(path, "task file", f"a mapping of keys ({', '.join(REQUIRED)}, ...)")


def read_mapping(path, what: str, expected: str) -> dict:
    """A YAML file (of which JSON is a subset) holding a mapping, or one clear error."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise PTPError(f"{path}: {what} not found")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        at = f":{mark.line + 1}" if mark is not None else ""
        raise PTPError(f"{path}{at}: not valid YAML or JSON ({getattr(err, 'problem', None) or err})") from None
    if not isinstance(raw, dict):
        raise PTPError(f"{path}: {what}: expected {expected}")
    return raw


def normalise(raw: dict, path: Path) -> dict:
    """Check every key and return the canonical definition (plain JSON)."""
    check = _Checker(path)
    for key in raw:
        if key not in KEYS:
            check.fail(key, f"unknown key; a task file has {', '.join(KEYS)}")
    for key in REQUIRED:
        if key not in raw:
            check.fail(key, "is missing")
    name = raw["name"]
    if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", name):
        check.fail("name", f"{name!r}: use lower-case letters, digits, _ and -")
    text_fields = check.names(raw, "text_fields")
    label_field = raw.get("label_field", "label")
    if not isinstance(label_field, str) or not label_field:
        check.fail("label_field", "should be a column name")
    for column in text_fields + [label_field]:
        if column in RESERVED_COLUMNS:
            check.fail("text_fields" if column in text_fields else "label_field",
                       f"'{column}' is a column this project writes; rename it in your data")
    if label_field in text_fields:
        check.fail("label_field", f"'{label_field}' is also a text field")
    labels, label_values = _labels(raw["labels"], check)
    template = raw["template"]
    if isinstance(template, str):
        template = [template]
    if not isinstance(template, list) or not 1 <= len(template) <= 2 or not all(isinstance(t, str) for t in template):
        check.fail("template", "should be one or two format strings, e.g. ['{premise}', '{hypothesis}']")
    protect, extra = _protect(raw.get("protect") or [], text_fields, check)
    for segment in template:
        try:
            used = [f for _, f, _, _ in string.Formatter().parse(segment) if f is not None]
        except ValueError as err:
            check.fail("template", f"{segment!r}: {err}")
        for placeholder in used:
            if placeholder not in text_fields:
                check.fail("template", f"{segment!r} names '{{{placeholder}}}', which is not a text field "
                                       f"({', '.join(text_fields)})")
    perturbable = check.names(raw, "perturbable", allowed=text_fields) if "perturbable" in raw else text_fields
    metrics = check.names(raw, "metrics", allowed=METRICS) if "metrics" in raw else ["accuracy"]
    if "f1_binary" in metrics and len(labels) != 2:
        check.fail("metrics", f"f1_binary needs two labels, this task has {len(labels)}")
    data = raw.get("data") or {}
    if not isinstance(data, dict):
        check.fail("data", "should map splits (train, validation, test) to files")
    for split, file in data.items():
        if split not in SPLITS:
            check.fail(f"data.{split}", f"unknown split; use {', '.join(SPLITS)}")
        if not isinstance(file, str) or not file:
            check.fail(f"data.{split}", "should be a file path")
    description = raw.get("description", "")
    if not isinstance(description, str):
        check.fail("description", "should be text")
    return {"name": name, "description": description, "text_fields": text_fields, "label_field": label_field,
            "labels": labels, "label_values": label_values, "template": template, "perturbable": perturbable,
            "protect": protect, "extra_fields": extra, "metrics": metrics,
            "data": {s: str((path.parent / f).resolve()) for s, f in sorted(data.items())}}


def _labels(value, check: _Checker) -> tuple[list[str], list[list[str]]]:
    """Label names in index order, and the raw value -> name table (raw values as text)."""
    if isinstance(value, list):
        if len(value) < 2 or not all(isinstance(v, str) and v for v in value) or len(set(value)) != len(value):
            check.fail("labels", "should list two or more distinct label names")
        return value, [[str(i), v] for i, v in enumerate(value)] + [[v, v] for v in value]  # names win
    if isinstance(value, dict):
        names = list(dict.fromkeys(value.values()))
        if len(names) < 2 or not all(isinstance(v, str) and v for v in names):
            check.fail("labels", "should map raw values to two or more label names")
        return names, [[raw_text(k), v] for k, v in value.items()]
    check.fail("labels", "should be a list of names or a mapping {raw value: name}")


def raw_text(value) -> str:
    # YAML reads `true:` and `1:` keys as bool and int; compare them as the data's text would.
    return str(value).lower() if isinstance(value, bool) else str(value)


def _protect(entries, text_fields: list[str], check: _Checker) -> tuple[list[dict], list[str]]:
    if not isinstance(entries, list):
        check.fail("protect", "should be a list of {field, words} or {field, start, end}")
    out, extra = [], []
    for i, entry in enumerate(entries):
        key = f"protect[{i}]"
        if not isinstance(entry, dict) or entry.get("field") not in text_fields:
            check.fail(key, f"needs 'field', one of the text fields ({', '.join(text_fields)})")
        if "words" in entry and set(entry) == {"field", "words"}:
            words = entry["words"]
            if not isinstance(words, list) or not words or not all(isinstance(w, str) and w.strip() for w in words):
                check.fail(f"{key}.words", "should be a non-empty list of words")
            out.append({"field": entry["field"], "words": words})
        elif set(entry) == {"field", "start", "end"}:
            for side in ("start", "end"):
                if not isinstance(entry[side], str) or entry[side] in text_fields:
                    check.fail(f"{key}.{side}", "should name an integer column of character offsets")
            out.append(dict(entry))
            extra += [entry["start"], entry["end"]]
        else:
            check.fail(key, "should be {field, words: [...]} or {field, start: COLUMN, end: COLUMN}")
    return out, list(dict.fromkeys(extra))


def task_from_definition(definition: dict, origin: str = "") -> Task:
    protected = tuple(Words(p["field"], tuple(p["words"])) if "words" in p else CharSpan(p["field"], p["start"], p["end"])
                      for p in definition["protect"])
    return Task(
        name=definition["name"], kind="classification", text_fields=tuple(definition["text_fields"]),
        extra_fields=tuple(definition["extra_fields"]), labels=tuple(definition["labels"]),
        metrics=tuple(definition["metrics"]), perturbable=tuple(definition["perturbable"]),
        protected=protected, template=tuple(definition["template"]), notes=definition["description"],
        label_field=definition["label_field"], label_values=tuple(tuple(p) for p in definition["label_values"]),
        data_files=tuple(definition["data"].items()),
        definition=json.dumps(definition, sort_keys=True, separators=(",", ":")), origin=origin)


def load_task_file(path) -> Task:
    path = Path(path)
    return task_from_definition(normalise(read_task_file(path), path), origin=str(path))
