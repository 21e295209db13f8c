"""Helpers shared by the benchmark scripts: machine description and JSON output."""
from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results"
ROOT = Path(__file__).resolve().parents[1]


def machine() -> dict:
    import torch

    from training.loop import hardware

    return {**hardware(), "cores": os.cpu_count(), "python": platform.python_version(), "torch": torch.__version__,
            "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                     cwd=Path(__file__).parent).stdout.strip()}


def write(name: str, result: dict) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({**result, "machine": machine()}, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    print(f"wrote {path}")
    return path


def timed_build(task: str, procs: int, options: list[str], port: int = 29561) -> tuple[float, str, int]:
    """`ptp-augment build --task TASK --mode adversarial OPTIONS` as one process or under torchrun
    with `procs` processes (the cores shared out as threads), into a temporary folder removed after:
    (wall seconds of the whole command, its stdout, threads per process). Exits on failure."""
    threads = max((os.cpu_count() or 1) // procs, 1)
    launcher = ([str(Path(sys.executable).parent / "torchrun"), "--nproc_per_node", str(procs),
                 "--master_port", str(port)] if procs > 1 else [sys.executable])
    folder = Path(tempfile.mkdtemp(prefix="ptp-build-"))
    cmd = launcher + ["-m", "augment.cli", "build", "--task", task, "--mode", "adversarial",
                      "--out", str(folder / "adv"), *options]
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "OMP_NUM_THREADS": str(threads)})
    seconds = time.perf_counter() - start
    shutil.rmtree(folder, ignore_errors=True)
    if done.returncode:
        raise SystemExit(f"build at {procs} process(es) with {' '.join(options)} failed:\n{done.stderr[-2000:]}")
    return seconds, done.stdout, threads
