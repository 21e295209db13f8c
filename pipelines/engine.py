"""Where the runs of an experiment train: in this process (the default, as `stability` and `sweep`
always did: one process, or several given the same command sharing seeds through lock files), or
as Ray tasks (`--engine ray`), each one run (one method on one seed of one task) asking for a
fraction of a GPU or for CPUs, on this machine (`ray.init()`) or on a cluster (`--ray-address`).

Both engines train a run with the same function, `train_run`, which calls
`stability.run_method` for one seed: the function `stability` and `sweep` call for every seed.
With Ray the runs are trained first, then the experiment's own code runs in this process as it
always does and finds every seed finished (run_seeds reuses a finished seed folder with the same
settings), so the reports, and their numbers, are the same whichever engine trained the runs.
Ray is an optional extra (`pip install .[ray]`).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from augment.common.errors import PTPError

ENGINES = ("local", "ray")
# Environment a Ray worker needs to see what this process sees (caches, offline mode, threads).
PASSED_ENV = ("PTP_", "HF_", "TRANSFORMERS_", "TOKENIZERS_", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NLTK_DATA")


@dataclass(frozen=True)
class Run:
    """One run: `preset` (a method) on `seed` of `task`, in run folder `folder` (its seed-N
    inside), text corpora under `corpora`; `data` is open_data's keyword arguments."""
    task: str
    preset: dict
    seed: int
    folder: str
    corpora: str
    base: object  # TrainSpec
    data: dict
    victim: str | None = None
    track: str = "none"
    label: str = ""  # what logs call it: the method, and a sweep's grid point

    @property
    def name(self) -> str:
        return f"{self.task} {self.label or Path(self.folder).name} seed {self.seed}"


def train_run(run: Run, log=print) -> dict:
    """Train one run (or reuse it when finished); returns its seed's metrics.json."""
    import json

    from augment.common.tasks import register_definition
    from training.protocol import open_data

    from .experiment import Experiment
    from .stability import run_method

    if run.base.task_definition:  # a task file's task, in a worker that has not read the file
        register_definition(run.base.task_definition, origin=f"the run {run.name}")
    ex = Experiment(run.task, run.data.get("source", "auto"), run.data.get("data_dir"), run.victim, log, run.track,
                    open_data(run.task, log=lambda *_: None, **run.data))
    run_method(ex, run.preset, [run.seed], Path(run.folder), Path(run.corpora), run.base)
    return json.loads((Path(run.folder) / f"seed-{run.seed}" / "metrics.json").read_text())


def finished(run: Run) -> bool:
    return (Path(run.folder) / f"seed-{run.seed}" / "metrics.json").is_file()


@dataclass
class Engine:
    """`local`: `train_all` trains nothing ahead (the experiment's own loop trains each run as it
    comes to it). `ray`: `train_all` trains every run not yet finished as a Ray task first."""
    name: str = "local"
    address: str | None = None  # a Ray cluster (`ray start --head` prints it); None: a local Ray
    gpus_per_run: float = 0.0
    cpus_per_run: float = 1.0
    num_cpus: int | None = None  # a local Ray's CPUs [default: all]

    def __post_init__(self):
        if self.name not in ENGINES:
            raise PTPError(f"--engine {self.name}: choose one of {', '.join(ENGINES)}")
        if self.gpus_per_run < 0 or self.cpus_per_run <= 0:
            raise PTPError("--gpus-per-run must be >= 0 and --cpus-per-run positive")
        if self.name == "ray":
            require_ray()

    _started: bool = field(default=False, init=False, repr=False)

    def __enter__(self) -> "Engine":
        return self

    def __exit__(self, *exc) -> None:
        """Stop the Ray this engine started (one Ray for all of a command's phases)."""
        if self._started:
            import ray

            ray.shutdown()
            self._started = False

    def train_all(self, runs: list[Run], log=print) -> None:
        if self.name == "local":
            return
        todo = [r for r in runs if not finished(r)]
        log(f"ray: {len(runs) - len(todo)} of {len(runs)} runs already finished; {len(todo)} to train, "
            f"each asking for {self.resources()}")
        if not todo:
            return
        import ray

        if not ray.is_initialized():
            env = {k: v for k, v in os.environ.items() if k.startswith(PASSED_ENV)}
            ray.init(address=self.address, num_cpus=None if self.address else self.num_cpus,
                     include_dashboard=False, log_to_driver=True, logging_level="ERROR",
                     runtime_env={"env_vars": env})
            self._started = True
        remote = ray.remote(_ray_train_run).options(**self.resources())
        pending = {remote.remote(r): r for r in todo}
        try:
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                run = pending.pop(done[0])
                try:
                    ray.get(done[0])
                except ray.exceptions.RayTaskError as err:
                    cause = err.as_instanceof_cause()
                    if isinstance(cause, PTPError):
                        raise PTPError(f"{run.name}: {cause}") from None
                    raise
                log(f"ray: finished {run.name} ({len(todo) - len(pending)}/{len(todo)})")
        finally:
            for ref in pending:
                ray.cancel(ref)

    def resources(self) -> dict:
        return {"num_gpus": self.gpus_per_run, "num_cpus": self.cpus_per_run}


def _ray_train_run(run: Run) -> None:
    train_run(run, log=lambda message: print(f"[{run.name}] {message}", flush=True))


def require_ray() -> None:
    try:
        import ray  # noqa: F401
    except ImportError:
        raise PTPError("--engine ray: Ray is not installed; pip install 'ptp-prompt-tuning[ray]' "
                       "(or pip install ray)") from None


# Where each command puts its runs: the folders its own loop (stability, sweep, map) trains into,
# so that the runs a Ray engine trains ahead are the ones the loop then finds finished.

def stability_runs(task: str, seeds: list[int], methods: dict[str, dict], out: Path, base, data: dict,
                   victim=None, track="none") -> list[Run]:
    """pipelines/stability.py's runs: OUT/runs/<method>/seed-N, corpora under OUT."""
    return [Run(task, preset, seed, str(out / "runs" / name), str(out), base, data, victim, track, name)
            for name, preset in methods.items() for seed in seeds]


def sweep_runs(task: str, method: str, preset: dict, grid: dict, seeds: list[int], out: Path, base, data: dict,
               victim=None, track="none") -> list[Run]:
    """pipelines/sweep.py's runs: its zero point and grid (sweep.grid_points), corpora under OUT."""
    from .sweep import ZERO, grid_points, label

    return [Run(task, candidate, seed, str(folder), str(out), base, data, victim, track,
                f"{method} {ZERO if setting is None else label(setting)}")
            for setting, candidate, folder in grid_points(preset, grid, out) for seed in seeds]


def map_runs(base, lrs, budgets, prefix_lens, seeds: list[int], out: Path, data: dict, track="none") -> list[Run]:
    """pipelines/stability_map.py's runs: OUT/runs/<cell>/seed-N, vanilla at each cell's settings."""
    import itertools

    from .stability_map import cell_spec

    runs = []
    for lr, epochs, prefix_len in itertools.product(lrs, budgets, prefix_lens):
        name, spec = cell_spec(base, lr, epochs, prefix_len)
        runs += [Run(base.task, {"pairs": None, "train": {}}, seed, str(out / "runs" / name), str(out), spec, data,
                     None, track, name) for seed in seeds]
    return runs


def data_args(source="auto", data_dir=None, eval_dir=None) -> dict:
    """open_data's keyword arguments, paths absolute (a worker elsewhere starts in another folder)."""
    return {"source": source, "data_dir": str(Path(data_dir).resolve()) if data_dir else None,
            **({"eval_dir": str(Path(eval_dir).resolve())} if eval_dir else {})}
