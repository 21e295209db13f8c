"""Official SuperGLUE/FewGLUE files (train/val/test.jsonl, train/unlabeled.jsonl), read row by row
and validated into the flat schema of `tasks.py`.

A malformed line, a missing or mistyped field, a label outside the task's labels or a span that
does not match its sentence is reported with its file, line and field.
"""
from __future__ import annotations

import hashlib
import json
import string
from pathlib import Path

from .errors import PTPError, where
from .schema import SourceInfo, features_for
from .tasks import Task

SPLIT_FILES = {"train": "train.jsonl", "validation": "val.jsonl", "test": "test.jsonl",
               "unlabeled": "unlabeled.jsonl"}
# Folder names in the official SuperGLUE archive.
OFFICIAL_DIRS = {"boolq": "BoolQ", "cb": "CB", "copa": "COPA", "multirc": "MultiRC",
                 "record": "ReCoRD", "rte": "RTE", "wic": "WiC", "wsc": "WSC"}


def read_jsonl(path: Path) -> list[tuple[int, dict]]:
    if not path.is_file():
        raise PTPError(f"{path}: file not found")
    rows = []
    with path.open(encoding="utf-8") as handle:
        for lineno, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise PTPError(f"{where(path, lineno)}: not valid JSON ({err.msg}); "
                               "each line must be one JSON object") from None
            if not isinstance(row, dict):
                raise PTPError(f"{where(path, lineno)}: expected a JSON object, got {type(row).__name__}")
            rows.append((lineno, row))
    return rows


class _Row:
    """Typed field access that names the file, line and field in its errors."""

    def __init__(self, obj: dict, path: Path, line: int, task: Task):
        self.obj, self.path, self.line, self.task = obj, path, line, task

    def get(self, key: str, kind, obj: dict | None = None, optional=False):
        obj = self.obj if obj is None else obj
        if key not in obj or obj[key] is None:
            if optional:
                return None
            raise PTPError(f"{where(self.path, self.line, key)} is missing; "
                           f"rows of {self.task.name} need it (see the official SuperGLUE schema)")
        value = obj[key]
        ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
        if not ok:
            raise PTPError(f"{where(self.path, self.line, key)} should be {_kind_name(kind)}, "
                           f"got {type(value).__name__} {value!r:.40}")
        return value

    def fail(self, key: str, message: str):
        raise PTPError(f"{where(self.path, self.line, key)} {message}")

    def label(self, key: str = "label"):
        """Index of the row's label in task.labels; -1 where the file carries none (test)."""
        value = self.obj.get(key)
        if value is None:
            return -1
        names = self.task.labels
        if isinstance(value, bool):
            value = str(value)
        if isinstance(value, int) and 0 <= value < len(names):
            return value
        if isinstance(value, str) and value in names:
            return names.index(value)
        self.fail(key, f"has label {value!r}, which is not one of {list(names)}")


def _kind_name(kind) -> str:
    if isinstance(kind, tuple):
        return " or ".join(_kind_name(k) for k in kind)
    return {str: "a string", int: "an integer", bool: "true/false", dict: "an object",
            list: "a list"}.get(kind, kind.__name__)


def _words(text: str) -> list[str]:
    return text.split()


def _strip(word: str) -> str:
    return word.strip(string.punctuation + "“”‘’").lower()


def check_word_span(row: _Row, text: str, index: int, span_text: str, key: str) -> None:
    words = _words(text)
    span_words = [_strip(w) for w in span_text.split()]
    got = [_strip(w) for w in words[index:index + len(span_words)]]
    if index < 0 or index >= len(words) or got[:1] != span_words[:1]:
        row.fail(key, f"= {index} points at {' '.join(words[index:index + len(span_words)])!r}, "
                      f"not at {span_text!r}; fix the index (a whitespace-word index into 'text')")


def check_char_span(row: _Row, text: str, start: int, end: int, word: str, key: str) -> None:
    if not (0 <= start < end <= len(text)):
        row.fail(key, f"offsets {start}:{end} fall outside the sentence ({len(text)} characters)")
    surface = text[start:end]
    cuts = (start > 0 and text[start - 1].isalnum()) or (end < len(text) and text[end].isalnum())
    if cuts or not surface.strip() or not surface_matches(word, surface):
        row.fail(key, f"offsets {start}:{end} select {surface!r}, which is not the word {word!r} "
                      "(offsets must select the word's surface form in the sentence)")


def surface_matches(word: str, surface: str) -> bool:
    """Does `surface` plausibly spell `word` (itself, an inflection, or its WordNet base form)?"""
    word, surface = word.lower(), surface.lower()
    if surface.startswith(word[: max(1, min(len(word), 3) - 1)]):
        return True
    from .resources import ensure_resources

    ensure_resources()
    from nltk.corpus import wordnet as wn

    return any(wn.morphy(surface, pos) == word for pos in ("n", "v", "a", "r"))


def _normalise(task: Task, row: _Row) -> list[dict]:
    """One official row -> flat rows in the task's schema."""
    g = row.get
    idx = row.obj.get("idx", row.line - 1)
    if task.name in ("boolq",):
        return [dict(question=g("question", str), passage=g("passage", str), label=row.label(), idx=idx)]
    if task.name in ("cb", "rte"):
        return [dict(premise=g("premise", str), hypothesis=g("hypothesis", str), label=row.label(), idx=idx)]
    if task.name == "copa":
        question = g("question", str)
        if question not in ("cause", "effect"):
            row.fail("question", f"is {question!r}; COPA questions are 'cause' or 'effect'")
        return [dict(premise=g("premise", str), choice1=g("choice1", str), choice2=g("choice2", str),
                     question=question, label=row.label(), idx=idx)]
    if task.name == "wic":
        out = dict(word=g("word", str), sentence1=g("sentence1", str), sentence2=g("sentence2", str),
                   start1=g("start1", int), end1=g("end1", int), start2=g("start2", int),
                   end2=g("end2", int), label=row.label(), idx=idx)
        check_char_span(row, out["sentence1"], out["start1"], out["end1"], out["word"], "start1")
        check_char_span(row, out["sentence2"], out["start2"], out["end2"], out["word"], "start2")
        return [out]
    if task.name == "wsc":
        target = g("target", dict)
        out = dict(text=g("text", str), span1_index=g("span1_index", int, target),
                   span2_index=g("span2_index", int, target), span1_text=g("span1_text", str, target),
                   span2_text=g("span2_text", str, target), label=row.label(), idx=idx)
        check_word_span(row, out["text"], out["span1_index"], out["span1_text"], "target.span1_index")
        check_word_span(row, out["text"], out["span2_index"], out["span2_text"], "target.span2_index")
        return [out]
    if task.name == "multirc":
        passage = g("passage", dict)
        text = g("text", str, passage)
        out = []
        for q in g("questions", list, passage):
            if not isinstance(q, dict):
                row.fail("passage.questions", "should hold objects")
            qid = f"{idx}-{q.get('idx', len(out))}"
            for answer in g("answers", list, q):
                if not isinstance(answer, dict):
                    row.fail("passage.questions.answers", "should hold objects")
                out.append(dict(paragraph=text, question=g("question", str, q),
                                answer=g("text", str, answer), question_id=qid,
                                label=_label_in(row, answer),
                                idx=answer.get("idx", len(out))))
        return out
    if task.name == "record":
        passage = g("passage", dict)
        text = g("text", str, passage)
        spans = []
        for ent in g("entities", list, passage):
            start, end = g("start", int, ent), g("end", int, ent)  # official end is inclusive
            if not 0 <= start <= end < len(text):
                row.fail("passage.entities", f"span {start}..{end} falls outside the passage")
            spans.append({"start": start, "end": end + 1})
        entities = [text[s["start"]:s["end"]] for s in spans]
        out = []
        for q in g("qas", list):
            query = g("query", str, q)
            if "@placeholder" not in query:
                row.fail("qas.query", "has no @placeholder")
            answers = [g("text", str, a) for a in (q.get("answers") or [])]
            out.append(dict(passage=text, query=query, entities=entities, entity_spans=spans,
                            answers=answers, query_id=str(q.get("idx", f"{idx}-{len(out)}")),
                            label=-1, idx=len(out)))
        return out
    raise AssertionError(task.name)


def _label_in(row: _Row, answer: dict) -> int:
    saved = row.obj
    row.obj = answer
    try:
        return row.label()
    finally:
        row.obj = saved


def local_files(task: Task, data_dir) -> dict[str, Path]:
    """split -> official file under `data_dir` (or its <Task>/ subfolder, as archives unpack)."""
    root = Path(data_dir)
    if not root.is_dir():
        raise PTPError(f"{root}: data folder not found; pass --data-dir a folder holding "
                       "train.jsonl / val.jsonl / test.jsonl")
    for candidate in (root / OFFICIAL_DIRS[task.name], root / task.name):
        if candidate.is_dir() and any((candidate / f).exists() for f in SPLIT_FILES.values()):
            root = candidate
            break
    present = {s: root / f for s, f in SPLIT_FILES.items() if (root / f).is_file()}
    if not present:
        raise PTPError(f"{root}: none of {', '.join(SPLIT_FILES.values())} found; "
                       "point --data-dir at a folder of official SuperGLUE or FewGLUE files")
    return present


def local_fingerprint(files: dict[str, Path], definition: str = "") -> str:
    """Of the files' bytes (and a task file's definition: its label table changes the rows)."""
    digest = hashlib.sha256(definition.encode())
    for split, path in sorted(files.items()):
        digest.update(split.encode() + b"\0" + path.read_bytes())
    return "sha256:" + digest.hexdigest()[:16]


def load_local(task: Task, data_dir: str | Path):
    """Read official SuperGLUE (train/val/test.jsonl) or FewGLUE (train/unlabeled.jsonl) files."""
    from datasets import Dataset, DatasetDict

    files = local_files(task, data_dir)
    features = features_for(task)
    out = {}
    for split, path in files.items():
        rows = []
        for line, obj in read_jsonl(path):
            rows.extend(_normalise(task, _Row(obj, path, line, task)))
        if not rows:
            raise PTPError(f"{path}: the {split} split is empty; remove the file or add rows")
        out[split] = Dataset.from_list(rows, features=features)
    location = str(next(iter(files.values())).parent)
    return DatasetDict(out), SourceInfo("local", location, local_fingerprint(files))
