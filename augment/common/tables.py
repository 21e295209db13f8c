"""Tables: a task file's data (and the sentiment set), JSONL/CSV/TSV/Parquet read through
`datasets`' own loaders and checked row by row."""
from __future__ import annotations

from pathlib import Path

from .errors import PTPError
from .official_files import local_fingerprint, read_jsonl
from .schema import SourceInfo, features_for
from .tasks import CharSpan, Task

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
