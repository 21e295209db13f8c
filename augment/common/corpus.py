"""Corpora on disk: the pair schema, the manifest, fingerprints, atomic writes and the write lock.

A corpus folder is what `DatasetDict.save_to_disk` writes, plus `ptp_manifest.json` (how it was
made; written last, so its presence marks a complete corpus), a dataset card `README.md`, and
optionally JSONL copies. Writes go to a hidden temporary sibling that is renamed into place, so a
killed build never leaves a half-written corpus where a reader would find it.

Fingerprints follow `datasets`' idea (a hash of the inputs and of the arguments that change the
output) but hash canonical JSON and fail loudly on anything that is not JSON, instead of falling
back to a random fingerprint.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
from pathlib import Path

from .atomic import atomic_folder
from .errors import PTPError

SCHEMA_VERSION = 1
MANIFEST = "ptp_manifest.json"


def fingerprint_of(parts: dict) -> str:
    """sha256 of canonical JSON; raises TypeError on values that are not plain JSON."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def atomic_save(data, folder: Path, extra: dict[str, str] | None = None,
                manifest: dict | None = None, jsonl: bool = False) -> Path:
    """Write a DatasetDict (+ extra text files, + manifest last) and rename it into place."""
    from datasets.utils import disable_progress_bars, enable_progress_bars

    folder = Path(folder)
    with atomic_folder(folder) as tmp:
        disable_progress_bars()  # a save of a few MB needs no bar; ours show the long steps
        try:
            data.save_to_disk(str(tmp))
        finally:
            enable_progress_bars()
        if jsonl:
            for split, ds in data.items():
                ds.to_json(str(tmp / f"{split}.jsonl"), lines=True, force_ascii=False)
        for name, text in (extra or {}).items():
            (tmp / name).write_text(text, encoding="utf-8")
        if manifest is not None:
            (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return folder


def free_lock(path: Path):
    """The file lock at `path`, acquired if no other process holds it now, else None."""
    from filelock import FileLock, Timeout

    lock = FileLock(str(path))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return None
    return lock


@contextlib.contextmanager
def write_lock(folder: Path):
    """Exclusive lock for writing `folder`; a second writer gets a clear error, not a mess."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    path = folder.parent / f".{folder.name}.lock"
    if (lock := free_lock(path)) is None:
        raise PTPError(f"{folder}: another process is writing this folder (lock "
                       f"{path}); wait for it to finish or choose another --out")
    try:
        yield
    finally:
        lock.release()


@contextlib.contextmanager
def waited_lock(path: Path, log, waiting: str):
    """Exclusive lock at `path`, waited for; `waiting` goes to `log` when another process holds it."""
    from filelock import FileLock

    if (lock := free_lock(path)) is None:
        log(waiting)
        lock = FileLock(str(path))
        lock.acquire()
    try:
        yield
    finally:
        lock.release()


def read_manifest(folder: Path) -> dict | None:
    path = Path(folder) / MANIFEST
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError:
        return None


def load_corpus(folder, task: str | None = None):
    """Open a corpus folder written by ptp-augment, checking its manifest and schema version."""
    from datasets import load_from_disk

    folder = Path(folder)
    if not folder.exists():
        raise PTPError(f"{folder}: corpus folder not found; build it with "
                       f"`ptp-augment build --task {task or 'TASK'} --out {folder}`")
    manifest = read_manifest(folder)
    if manifest is None or "schema_version" not in manifest:
        raise PTPError(f"{folder}: not a ptp-augment corpus (no complete {MANIFEST}); "
                       "rebuild it with `ptp-augment build`")
    if manifest["schema_version"] != SCHEMA_VERSION:
        raise PTPError(f"{folder}: corpus schema version {manifest['schema_version']}, this "
                       f"version reads {SCHEMA_VERSION}; rebuild it with `ptp-augment build --force`")
    if manifest.get("task_definition"):  # a task file's corpus carries its record
        from .tasks import register_definition

        register_definition(manifest["task_definition"], origin=f"{folder}/{MANIFEST}")
    if task is not None and manifest.get("task") != task:
        raise PTPError(f"{folder}: corpus is for task '{manifest.get('task')}', not '{task}'")
    return load_from_disk(str(folder)), manifest


def ensure_writable(folder: Path) -> None:
    """Refuse to replace a non-empty folder that is not one of our corpora."""
    folder = Path(folder)
    if folder.exists() and (not folder.is_dir() or (any(folder.iterdir()) and read_manifest(folder) is None)):
        raise PTPError(f"{folder}: exists and is not a ptp corpus; choose another --out or remove it")
