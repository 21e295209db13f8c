"""Helpers shared by the benchmark scripts: machine description, JSON output, and the pieces of a
--smoke run (tiny random encoders, tiny victims), which checks that a script still runs end to end
in seconds on a CPU and never writes to benchmarks/results."""
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


def add_output_options(parser) -> None:
    """--smoke and --out, the same in every script."""
    parser.add_argument("--smoke", action="store_true",
                        help="a tiny run on the CPU (random 2-layer encoders, a few rows) that checks the script "
                             "runs end to end; its numbers mean nothing, its JSON says smoke: true")
    parser.add_argument("--out", default=None,
                        help="folder for the JSON [default: benchmarks/results; with --smoke a new temporary folder]")


def output_folder(args) -> Path:
    """Where this run writes: --out, else benchmarks/results; a smoke run never writes there."""
    folder = Path(args.out) if args.out else (Path(tempfile.mkdtemp(prefix="ptp-bench-smoke-")) if args.smoke
                                              else RESULTS)
    if args.smoke and folder.resolve() == RESULTS.resolve():
        raise SystemExit(f"--smoke --out {args.out}: a smoke run never writes to {RESULTS}; choose another folder")
    return folder


def write(name: str, result: dict, folder: Path = RESULTS, smoke: bool = False) -> Path:
    """FOLDER/NAME.json: the result, the machine and the commit (and smoke: true for a smoke run).
    A result is never lost: the file's earlier results move, newest first, into its `history`."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    history = []
    if path.is_file():
        try:
            earlier = json.loads(path.read_text())
        except json.JSONDecodeError:
            earlier = None
        if isinstance(earlier, dict):
            history = [{k: v for k, v in earlier.items() if k != "history"}] + earlier.get("history", [])
    record = {**({"smoke": True} if smoke else {}), **result, "machine": machine(), "history": history}
    path.write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    print(f"wrote {path}")
    return path


def smoke_encoder(kind: str, folder: Path) -> str:
    """A tiny randomly initialised encoder of `kind` (bert, mpnet, ...: 2 layers, width 32) in
    `folder`, for --smoke runs: the test suite's own (tests/tiny_models.py), so a checkout has it."""
    sys.path.insert(0, str(ROOT))
    from tests.tiny_models import make_tiny

    return str(make_tiny(kind, Path(folder)))


def smoke_victim(task: str, folder: Path, model: str, pooling: str = "", rows: int = 16, log=None) -> Path:
    """A tiny victim for --smoke runs: `model` prefix-tuned on the task's first `rows` train rows for
    one epoch into `folder`; its seed-1 run folder (what --victim takes)."""
    from training.config import TrainSpec
    from training.protocol import open_data
    from training.runs import run_seeds

    quiet = log or (lambda *_: None)
    spec = TrainSpec(task=task, model=model, pooling=pooling, epochs=1, max_train=rows, batch_size=4)
    run_seeds(spec, [1], open_data(task, log=quiet), out=folder, log=quiet, track="none")
    return Path(folder) / "seed-1"


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
