"""`make mutants`: prove the suite can fail, and fail for the reason it names.

Each tests/mutants/NAME.patch breaks one property and starts with three header lines:
    Mutant: what it breaks
    Killed by: the tests that must catch it (pytest ids, space-separated)
    Fails with: a Python regex that the failing run's output must contain (the assertion that
                catches this property: its message, its `assert` line, or the error it raises)
The tracked files are copied once (edits included): the union of the named tests runs first on an
unmutated copy, and a mutant whose tests fail, error or skip there is not checked; then each patch
is applied to a fresh copy of the same files and its tests run (-x). Killed: pytest exits 1 and its output matches `Fails with`. Exit 1
without the match failed for another reason; exit 0 survived; any other exit did not run. Anything
but killed fails the run. The runs share their own cache (PTP_CACHE, default .ptp-cache-mutants).
    python scripts/mutants.py [NAME ...]     # all mutants, or the named ones
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEADERS = ("Mutant", "Killed by", "Fails with")


def header(patch: Path) -> dict[str, str]:
    fields = {}
    for line in patch.read_text().splitlines():
        if not line.strip():
            break
        key, _, value = line.partition(": ")
        fields[key] = value.strip()
    missing = [k for k in HEADERS if not fields.get(k)]
    if missing:
        raise SystemExit(f"{patch}: no '{missing[0]}:' line in its header")
    re.compile(fields["Fails with"])
    return fields


def tracked_files() -> Path:
    """A fresh folder holding this checkout's tracked files as they are now (edits included)."""
    copy = Path(tempfile.mkdtemp(prefix="ptp-mutants-"))
    names = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    for name in filter(None, names.split("\0")):
        if (ROOT / name).exists():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, copy / name, follow_symlinks=False)
    return copy


def pytest(copy: Path, tests: list[str], *options: str) -> tuple[int, str]:
    """Run the tests in `copy` (python -m puts the copy's packages first on the path)."""
    python = os.environ.get("PYTHON") or str(ROOT / ".venv" / "bin" / "python")
    done = subprocess.run([python, "-m", "pytest", "-p", "no:cacheprovider", *options, *tests], cwd=copy,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return done.returncode, done.stdout


def tail(output: str, lines: int = 15) -> str:
    return "\n".join("    " + line for line in output.rstrip().splitlines()[-lines:])


def fresh_copy(snapshot: Path) -> Path:
    copy = Path(tempfile.mkdtemp(prefix="ptp-mutant-")) / "tree"
    shutil.copytree(snapshot, copy, symlinks=True)
    return copy


def clean_run(snapshot: Path, tests: list[str]) -> dict[str, set[str]]:
    """Each named test's outcomes on an unmutated copy: {pytest id: {PASSED, FAILED, ...}}."""
    copy = fresh_copy(snapshot)
    try:
        rc, output = pytest(copy, tests, "-v")
    finally:
        shutil.rmtree(copy.parent, ignore_errors=True)
    outcomes: dict[str, set[str]] = {}
    for node, outcome in re.findall(r"^(\S.*?::.*?) (PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS)\b", output, re.M):
        outcomes.setdefault(node, set()).add(outcome)
    if rc not in (0, 1):
        print(f"clean run: pytest exit {rc}, so no mutant is checked:\n{tail(output)}")
    return outcomes


def unclean(test: str, outcomes: dict[str, set[str]]) -> str | None:
    """Why `test` (an id, a test without its parameters, or a file) cannot check a mutant, if it cannot."""
    runs = {node: seen for node, seen in outcomes.items()
            if node == test or node.startswith((test + "[", test + "::"))}
    if not runs:
        return f"{test} did not run on the clean tree"
    bad = {node: sorted(seen - {"PASSED"}) for node, seen in runs.items() if seen != {"PASSED"}}
    return "; ".join(f"{node} {'/'.join(seen)} on the clean tree" for node, seen in bad.items()) or None


def main(names: list[str]) -> int:
    os.environ["PTP_CACHE"] = os.environ.get("PTP_CACHE") or str(ROOT / ".ptp-cache-mutants")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    patches = [ROOT / "tests" / "mutants" / f"{n}.patch" for n in names] or sorted((ROOT / "tests" / "mutants").glob("*.patch"))
    mutants = {p.stem: (p, header(p)) for p in patches}
    started = time.time()
    union = list(dict.fromkeys(t for _, h in mutants.values() for t in h["Killed by"].split()))
    snapshot = tracked_files()
    try:
        killed = run_all(mutants, snapshot, union, started)
    finally:
        shutil.rmtree(snapshot, ignore_errors=True)
    minutes = (time.time() - started) / 60
    if killed == len(mutants):
        print(f"mutants: all {killed} killed for their reason ({minutes:.1f} min)")
        return 0
    print(f"mutants: {killed} of {len(mutants)} killed for their reason; the rest survived, failed otherwise "
          f"or were not checked ({minutes:.1f} min)")
    return 1


def run_all(mutants: dict, snapshot: Path, union: list[str], started: float) -> int:
    outcomes = clean_run(snapshot, union)
    print(f"clean run: {len(union)} named tests ({time.time() - started:.0f}s)")
    killed = 0
    for name, (patch, fields) in mutants.items():
        tests = fields["Killed by"].split()
        why = [w for w in (unclean(t, outcomes) for t in tests) if w]
        if why:
            print(f"mutant {name}: NOT CHECKED: {'; '.join(why)}")
            continue
        copy = fresh_copy(snapshot)
        try:
            applied = subprocess.run(["git", "apply", str(patch)], cwd=copy, capture_output=True, text=True)
            if applied.returncode:
                print(f"mutant {name}: DOES NOT APPLY (update the patch): {applied.stderr.strip()}")
                continue
            start = time.time()
            rc, output = pytest(copy, tests, "-q", "-x")
        finally:
            shutil.rmtree(copy.parent, ignore_errors=True)
        took = f"{time.time() - start:.0f}s"
        if rc == 1 and re.search(fields["Fails with"], output, re.M):
            killed += 1
            print(f"mutant {name}: killed by {' '.join(tests)} ({took})")
        elif rc == 1:
            print(f"mutant {name}: FAILED FOR ANOTHER REASON (no match for {fields['Fails with']!r}; {took}):\n{tail(output)}")
        elif rc == 0:
            print(f"mutant {name}: SURVIVED {' '.join(tests)} ({took})")
        else:
            print(f"mutant {name}: tests did not run (pytest exit {rc}; {took}):\n{tail(output)}")
    return killed


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
