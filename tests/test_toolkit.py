"""The researcher's toolkit: config files, resumed runs, gradient accumulation, tracking,
leaderboard predictions, and the import graph."""
import ast
import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from tests.tiny_models import make_tiny_bert
from training.config import TrainSpec

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    return make_tiny_bert(tmp_path_factory.mktemp("models") / "bert")


def _spec(tiny_bert, **knobs):
    return TrainSpec(**{"task": "wic", "model": str(tiny_bert), "epochs": 3, "batch_size": 4, "device": "cpu",
                        "prefix_len": 4, "embed_noise": "gaussian", "sigma": 0.05, **knobs})


def _train(spec, out, fixtures, **kw):
    from training.protocol import open_data
    from training.runs import run_seeds

    return run_seeds(spec, [spec.seed], open_data(spec.task, data_dir=fixtures, log=lambda *_: None), out=out, log=lambda *_: None, **kw)


def _adapter(run):
    from safetensors.torch import load_file

    return load_file(str(run / "seed-1" / "adapter" / "adapter_model.safetensors"))


def _history(run):
    return [{k: v for k, v in h.items() if k != "seconds"}
            for h in json.loads((run / "seed-1" / "metrics.json").read_text())["history"]]


@pytest.mark.parametrize("method", ["prefix", "deep"])
def test_a_killed_seed_resumes_after_its_last_epoch_with_the_same_result(tmp_path, tiny_bert, fixtures,
                                                                          killed_in_epoch_2, method):
    spec = replace(_spec(tiny_bert), method=method)
    _train(spec, tmp_path / "whole", fixtures, track="none")
    with killed_in_epoch_2():
        _train(spec, tmp_path / "killed", fixtures, track="none")
    work = tmp_path / "killed" / ".seed-1.partial"
    assert (work / "checkpoint").is_dir() and not (tmp_path / "killed" / "seed-1").exists()
    # Only the trainable weights are checkpointed, not the frozen encoder.
    saved = sum(f.stat().st_size for f in (work / "checkpoint").glob("model*"))
    encoder = sum(f.stat().st_size for f in Path(tiny_bert).glob("*.safetensors"))
    assert saved < encoder / 2

    logs = []
    from training.protocol import open_data
    from training.runs import run_seeds

    run_seeds(spec, [1], open_data(spec.task, data_dir=fixtures, log=logs.append), out=tmp_path / "killed", log=logs.append, track="none")
    assert any("resuming after epoch 1" in line for line in logs)
    assert sum("epoch" in line and "train_loss" in line for line in logs) == 2  # epochs 2 and 3 only
    assert _history(tmp_path / "killed") == _history(tmp_path / "whole")
    a, b = _adapter(tmp_path / "whole"), _adapter(tmp_path / "killed")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not work.exists()


@pytest.mark.parametrize("changed", [{"lr": 5e-3}, {"sigma": 0.02}, {"grad_accum": 2}])
def test_a_changed_setting_starts_over_instead_of_resuming(tmp_path, tiny_bert, fixtures, killed_in_epoch_2, changed):
    """Killed after epoch 1's checkpoint (so resuming is possible), then run with one setting
    changed: it starts over, trains every epoch, and ends as a fresh run with that setting does."""
    from training.protocol import open_data
    from training.runs import run_seeds

    with killed_in_epoch_2():
        _train(_spec(tiny_bert, epochs=2), tmp_path / "run", fixtures, track="none")
    assert (tmp_path / "run" / ".seed-1.partial" / "checkpoint").is_dir()  # a checkpoint it could resume from
    logs = []
    spec = _spec(tiny_bert, epochs=2, **changed)
    run_seeds(spec, [1], open_data(spec.task, data_dir=fixtures, log=logs.append), out=tmp_path / "run", log=logs.append,
              track="none")
    assert not any("resuming" in line for line in logs)
    assert sum("epoch" in line and "train_loss" in line for line in logs) == 2
    _train(spec, tmp_path / "fresh", fixtures, track="none")
    assert _history(tmp_path / "run") == _history(tmp_path / "fresh")


def test_grad_accum_gives_the_gradient_of_the_whole_batch(tmp_path, tiny_bert, fixtures, monkeypatch):
    import training.objective as objective

    one = _spec(tiny_bert, epochs=2)
    _train(one, tmp_path / "one", fixtures, track="none")
    chunks, real = [], objective.training_loss
    monkeypatch.setattr(objective, "training_loss", lambda model, embed, batch, *a: chunks.append(
        batch["gold"].shape[0]) or real(model, embed, batch, *a))
    _train(TrainSpec(**{**one.to_dict(), "grad_accum": 3}), tmp_path / "three", fixtures, track="none")
    # Each batch of 4 rows went through in 3 chunks (2 + 1 + 1), never whole.
    assert chunks and max(chunks) <= 2 and sum(chunks) % 4 == 0 and len(chunks) == 3 * sum(chunks) // 4
    for h1, h3 in zip(_history(tmp_path / "one"), _history(tmp_path / "three")):
        assert abs(h1["train_loss"] - h3["train_loss"]) < 1e-4
    a, b = _adapter(tmp_path / "one"), _adapter(tmp_path / "three")
    assert all(torch.allclose(a[k], b[k], atol=1e-5) for k in a)
    assert "grad_accum" not in one.to_dict()  # unset knobs keep earlier run hashes


def test_the_lr_schedule_steps_once_per_batch_whatever_grad_accum(tmp_path, tiny_bert, fixtures, monkeypatch):
    """The scheduler steps once per optimiser step (a batch), never per chunk: under grad_accum 2
    every step applies the learning rate it applies with grad_accum 1, warmup then linear decay
    over epochs x batches steps."""
    import training.loop as loop

    applied, make = {}, loop.make_optimizer

    def spied(model, spec, steps):
        params, optimizer, scheduler = make(model, spec, steps)
        lrs = applied.setdefault(spec.grad_accum, [])
        optimizer.register_step_pre_hook(lambda opt, *_: lrs.append(opt.param_groups[0]["lr"]))
        return params, optimizer, scheduler

    monkeypatch.setattr(loop, "make_optimizer", spied)
    spec = _spec(tiny_bert, lr=1e-2, warmup=0.5)  # 3 epochs x 2 batches of 4 rows: 6 steps, 3 of warmup
    _train(spec, tmp_path / "one", fixtures, track="none")
    _train(replace(spec, grad_accum=2), tmp_path / "two", fixtures, track="none")
    expected = [1e-2 * f for f in (0, 1 / 3, 2 / 3, 1, 2 / 3, 1 / 3)]
    assert applied[2] == pytest.approx(expected, abs=1e-9), f"the lr of each step under grad_accum 2: {applied[2]}"
    assert applied[1] == applied[2]


def test_tensorboard_log_has_both_loss_terms_and_validation(tmp_path, tiny_bert, fixtures):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    _train(_spec(tiny_bert, epochs=2), tmp_path / "run", fixtures, track="tensorboard")
    logs = tmp_path / "run" / "seed-1" / "logs"
    events = EventAccumulator(str(logs))
    events.Reload()
    tags = set(events.Tags()["scalars"])
    assert {"train/loss", "train/loss_clean", "train/loss_perturbed", "train/lr", "train/grad_norm",
            "train/skipped_steps", "validation/accuracy"} <= tags
    steps = [e.step for e in events.Scalars("train/loss")]
    assert steps == sorted(steps) and len(steps) > 2
    assert len(events.Scalars("validation/accuracy")) == 2  # one per epoch


def test_run_from_a_config_file_flags_win_and_a_saved_config_replays(tmp_path, tiny_bert, fixtures, cli):
    config = tmp_path / "run.yaml"
    config.write_text(f"task: wic\ndata-dir: {fixtures}\nmodel: {tiny_bert}\nepochs: 3\nbatch_size: 4\n"
                      "prefix-len: 4\ndevice: cpu\nlambda: 0.5\nembed-noise: gaussian\nseeds: [1]\ntrack: none\n")
    first = cli("training.cli", "--config", config, "--epochs", "2", "--out", tmp_path / "a")
    assert first.returncode == 0, first.stderr[-2000:]
    saved = json.loads((tmp_path / "a" / "seed-1" / "config.json").read_text())
    assert saved["spec"]["epochs"] == 2 and saved["spec"]["lam"] == 0.5 and saved["spec"]["batch_size"] == 4
    replay = cli("training.cli", "--config", tmp_path / "a" / "seed-1" / "config.json", "--out", tmp_path / "b",
                 "--track", "none")
    assert replay.returncode == 0, replay.stderr[-2000:]
    replayed = json.loads((tmp_path / "b" / "seed-1" / "config.json").read_text())
    assert replayed["spec"].pop("device") == "auto"  # where it ran is history; everything else is the same
    assert replayed == {**saved, "spec": {k: v for k, v in saved["spec"].items() if k != "device"}}
    assert _history(tmp_path / "b") == _history(tmp_path / "a")

    config.write_text("task: wic\nlearning_rate: 0.1\n")
    bad = cli("training.cli", "--config", config, "--out", tmp_path / "c")
    assert bad.returncode == 2 and "unknown key 'learning_rate'" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1 and not (tmp_path / "c").exists()


def test_augment_and_pipeline_commands_read_config_files(tmp_path, fixtures, cli):
    config = tmp_path / "build.json"
    config.write_text(json.dumps({"task": "rte", "data-dir": str(fixtures), "ops": ["delete"], "rate": 0.5,
                                  "seed": 3}))
    out = cli("augment.cli", "build", "--config", config, "--out", tmp_path / "rte_rand")
    assert out.returncode == 0, out.stderr[-2000:]
    manifest = json.loads((tmp_path / "rte_rand" / "ptp_manifest.json").read_text())
    assert manifest["params"]["ops"] == ["delete"] and manifest["params"]["rate"] == 0.5 and manifest["seed"] == 3
    config.write_text(json.dumps({"task": "rte", "rates": 0.5}))
    bad = cli("augment.cli", "build", "--config", config)
    assert bad.returncode == 2 and "unknown key 'rates'" in bad.stderr
    config.write_text(json.dumps({"seeds": "1,2", "methodz": "vanilla"}))
    bad = cli("pipelines.cli", "stability", "--config", config)
    assert bad.returncode == 2 and "unknown key 'methodz'" in bad.stderr


def _own_labels(run, task, rows) -> list[str]:
    """The leaderboard label of each row's highest score from the run's own reloaded model: the
    task's label at the argmax, lower-cased ('False' -> 'false'; CB's are lower-case already)."""
    from training.data import Collator, encode_rows, flatten, head_size
    from training.objective import flat_scores
    from training.reload import load_run

    spec, _, model, tokenizer = load_run(run)
    batch = Collator(tokenizer.pad_token_id, head_size(task))(encode_rows(tokenizer, task, rows, spec.max_length))["clean"]
    with torch.no_grad():
        scores = flat_scores(model.eval(), flatten(batch), batch["valid"])
    return [task.labels[i].lower() for i in scores.argmax(-1).tolist()]


def test_predict_writes_the_superglue_submission_format(tmp_path, tiny_bert, fixtures, cli):
    from augment.common.official_files import load_local
    from training.predict import pick_seed, predict_run, submission
    from augment.common.tasks import get_task

    for task, folder in (("wic", "WiC"), ("cb", "CB"), ("multirc", "MultiRC")):
        spec = TrainSpec(task=task, model=str(tiny_bert), epochs=1, batch_size=4, device="cpu", prefix_len=4)
        from training.protocol import open_data
        from training.runs import run_seeds

        run_seeds(spec, [1] if task == "cb" else [1, 2], open_data(spec.task, data_dir=fixtures, log=lambda *_: None),
                  out=tmp_path / task, log=lambda *_: None, track="none")
        if task == "cb":  # the library call behind the command (one process start fewer)
            predict_run(tmp_path / task, data_dir=fixtures, out=tmp_path / "sub", device="cpu", log=lambda *_: None)
        else:
            result = cli("training.cli", "predict", tmp_path / task, "--data-dir", fixtures, "--out", tmp_path / "sub")
            assert result.returncode == 0, result.stderr[-2000:]
        lines = [json.loads(x) for x in (tmp_path / "sub" / f"{folder}.jsonl").read_text().splitlines()]
        official = [json.loads(x) for x in (fixtures / folder / "test.jsonl").read_text().splitlines()]
        assert [line["idx"] for line in lines] == [row["idx"] for row in official]
        if task != "multirc":  # each label is the model's own prediction, through the task's labels
            rows = load_local(get_task(task), fixtures)[0]["test"].to_list()
            own = _own_labels(pick_seed(tmp_path / task, log=lambda *_: None), get_task(task), rows)
            assert [line["label"] for line in lines] == own, f"{folder}.jsonl's labels are not the model's argmax"
            assert task != "wic" or set(own) <= {"true", "false"}
        else:
            answers = [a["idx"] for row in official for q in row["passage"]["questions"] for a in q["answers"]]
            got = [a["idx"] for line in lines for q in line["passage"]["questions"] for a in q["answers"]]
            assert got == answers and all(a["label"] in (0, 1) for line in lines
                                          for q in line["passage"]["questions"] for a in q["answers"])
            rows = load_local(get_task(task), fixtures)[0]["test"].to_list()  # one row per answer
            own = _own_labels(pick_seed(tmp_path / task, log=lambda *_: None), get_task(task), rows)
            written = {a["idx"]: a["label"] for line in lines for q in line["passage"]["questions"] for a in q["answers"]}
            assert written == {r["idx"]: ["false", "true"].index(label) for r, label in zip(rows, own)}
    assert sorted(p.name for p in (tmp_path / "sub").iterdir()) == ["CB.jsonl", "MultiRC.jsonl", "WiC.jsonl"]
    record = submission(get_task("record"), [{"query_id": "7"}], [1], [["Paris", "London"]])
    assert record == [{"idx": 7, "label": "London"}]


# The house, floor by floor: each package may import only the floors below it.
FLOORS = {"augment.common": (), "augment": ("augment.common",), "training": ("augment.common",),
          "pipelines": ("augment", "augment.common", "training")}


def _floor(module: str) -> str | None:
    return "augment.common" if module.startswith("augment.common") else module.split(".")[0] \
        if module.split(".")[0] in FLOORS else None


def _imports(path: Path, package: str):
    """Absolute names of the project modules a file imports (relative imports resolved)."""
    here = package.split(".")
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                yield node.module or ""
            else:
                base = here[:len(here) - node.level + 1]
                yield ".".join(base + ([node.module] if node.module else []))


def test_imports_flow_one_way():
    """augment.common <- augment (stage 1) and training (stage 2) <- pipelines: stage 1 and stage 2
    never import each other, and the shared ground imports neither."""
    for path in ROOT.glob("*/**/*.py"):
        rel = path.relative_to(ROOT)
        package = ".".join(rel.with_suffix("").parts[:-1] if rel.name != "__init__.py" else rel.parent.parts)
        floor = _floor(package)
        if floor is None:
            continue
        for name in _imports(path, package):
            target = _floor(name)
            assert target in (None, floor, *FLOORS[floor]), f"{rel} imports {name}: {target} is not below {floor}"


def test_no_private_names_cross_modules():
    for package in ("augment", "training", "pipelines"):
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ImportFrom):
                    private = [a.name for a in node.names if a.name.startswith("_")]
                    assert not private, f"{path.name} imports {private} from {node.module}"


def test_seed_folders_of_a_run_in_seed_order(tmp_path):
    from augment.common.errors import PTPError
    from training.runs import seed_folders

    run = tmp_path / "run"
    for seed in (10, 2, 1):
        (run / f"seed-{seed}" / "adapter").mkdir(parents=True)
    (run / "summary.json").write_text("{}")
    assert [f.name for f in seed_folders(run)] == ["seed-1", "seed-2", "seed-10"]
    assert seed_folders(run / "seed-2") == [run / "seed-2"]
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "summary.json").write_text("{}")
    with pytest.raises(PTPError, match="without finished seed"):
        seed_folders(empty)


def test_sweep_has_one_method_option_and_takes_the_peft_method_apart(monkeypatch):
    """sweep's --method names the swept preset; TrainSpec's own (prefix | prompt) is --peft-method."""
    import warnings

    from click.testing import CliRunner

    import pipelines.sweep as sweep_module
    from pipelines.cli import main

    help_text = CliRunner().invoke(main, ["sweep", "--help"]).output
    assert help_text.count("--method ") == 1 and "--peft-method" in help_text
    seen = {}

    def fake_sweep(experiment, method, preset, grid, seeds, folder, spec):
        seen.update(method=method, spec=spec)
        raise SystemExit(0)

    monkeypatch.setattr(sweep_module, "sweep", fake_sweep)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        CliRunner().invoke(main, ["sweep", "--task", "rte", "--method", "rn-embed", "--peft-method", "prompt",
                                  "--grid", "sigma=0.01,0.02"])
    assert not [w for w in caught if "more than once" in str(w.message)]  # click's duplicate-option warning
    assert seen["method"] == "rn-embed" and seen["spec"].method == "prompt"


@pytest.mark.parametrize("recorded", ["kv-prefix", "deep", None])
def test_a_killed_checkpoint_resumes_only_with_its_own_mechanism(tmp_path, fixtures, killed_in_epoch_2, recorded):
    """The prompt mechanism joins a checkpoint's identity: a killed MPNet --method prefix seed (the
    key/value prefix) resumes from its own checkpoint, but not from one that ran VPT-deep, nor
    from one that predates the record (then --method prefix ran VPT-deep on MPNet)."""
    from tests.tiny_models import make_tiny
    from training.protocol import open_data
    from training.runs import run_seeds

    spec = _spec(make_tiny("mpnet", tmp_path / "mpnet"), epochs=2)
    with killed_in_epoch_2():
        _train(spec, tmp_path / "run", fixtures, track="none")
    work = tmp_path / "run" / ".seed-1.partial"
    assert (work / "mechanism").read_text().strip() == "kv-prefix"
    if recorded is None:
        (work / "mechanism").unlink()
    else:
        (work / "mechanism").write_text(recorded + "\n")
    logs = []
    run_seeds(spec, [1], open_data(spec.task, data_dir=fixtures, log=logs.append), out=tmp_path / "run", log=logs.append,
              track="none")
    resumed = any("resuming after epoch 1" in line for line in logs)
    assert resumed == (recorded == "kv-prefix"), logs
    assert resumed or any("starting over" in line for line in logs)
    assert json.loads((tmp_path / "run" / "seed-1" / "metrics.json").read_text())["mechanism"] == "kv-prefix"


def test_no_function_takes_more_than_ten_parameters_and_no_file_is_over_450_lines():
    """The house rules (#53): outside the command-line modules, a function that needs more than
    ten inputs takes an object that holds them (an Experiment, a Request, a perturber), and a
    module that grows past 450 lines is split by job."""
    long_files, wide = [], []
    for package in ("augment", "training", "pipelines"):
        for path in sorted((ROOT / package).rglob("*.py")):
            source = path.read_text()
            if source.count("\n") > 450:
                long_files.append(f"{path.relative_to(ROOT)}: {source.count(chr(10))} lines")
            if path.name == "cli.py":
                continue
            for node in ast.walk(ast.parse(source)):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    args = node.args
                    names = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]
                    count = len([n for n in names if n not in ("self", "cls")])
                    if count > 10:
                        wide.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({count})")
    assert not long_files and not wide, long_files + wide
