import json
import math
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from tests.reload_check import assert_reloads_the_same, saved_scores
from tests.tiny_models import make_tiny_bert, make_tiny_roberta
from training.config import TrainSpec
from training.perturb import project
from training.regularisers.gaussian import gaussian_noise
from training.regularisers.pgd import pgd


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory):
    return make_tiny_bert(tmp_path_factory.mktemp("models") / "bert")


@pytest.fixture(scope="session")
def tiny_roberta(tmp_path_factory):
    return make_tiny_roberta(tmp_path_factory.mktemp("models") / "roberta")


@pytest.fixture(scope="session")
def wic_pairs(tmp_path_factory, fixtures):
    from augment.build import build_corpus
    from augment.random_ops import RandomSpec

    out = tmp_path_factory.mktemp("corpora") / "wic_rand"
    from augment.perturbers import RandomPerturber

    build_corpus(RandomPerturber("wic", RandomSpec(rate=0.3)), out=out, data_dir=fixtures, log=lambda *_: None)
    return out


def _train(tmp_path, name, spec, pairs=None, data_dir=None):
    from training.protocol import open_data
    from training.runs import run_seeds

    return run_seeds(spec, [spec.seed], open_data(spec.task, pairs=pairs, data_dir=data_dir, log=lambda *_: None), out=tmp_path / name, log=lambda *_: None)


def _adapter(tmp_path, name, seed=1):
    from safetensors.torch import load_file

    return load_file(str(tmp_path / name / f"seed-{seed}" / "adapter" / "adapter_model.safetensors"))


def test_lambda_zero_through_the_perturbed_path_is_vanilla(tmp_path, tiny_bert, wic_pairs, monkeypatch):
    """The combined loss with lambda 0 (perturbed half computed, weighted 0) trains as vanilla."""
    import training.objective as objective

    spec = TrainSpec(task="wic", model=str(tiny_bert), epochs=2, batch_size=4, lr=1e-2, device="cpu",
                     embed_noise="gaussian", sigma=0.5)
    _train(tmp_path, "none", replace(spec, consistency="none", embed_noise="none"), pairs=wic_pairs)
    _train(tmp_path, "ptp", spec, pairs=wic_pairs)
    calls = []

    def always(s, batch):  # lambda 0 would take vanilla's early exit; go through the combined loss
        calls.append(1)
        return True

    monkeypatch.setattr(objective, "uses_perturbation", always)
    _train(tmp_path, "lam0", replace(spec, lam=0.0), pairs=wic_pairs)
    assert calls
    a, b, c = _adapter(tmp_path, "lam0"), _adapter(tmp_path, "none"), _adapter(tmp_path, "ptp")
    assert a.keys() == b.keys()
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)
    assert any(not torch.allclose(a[k], c[k], atol=1e-3) for k in a)  # the perturbed term does change training


def test_pgd_respects_eps_in_each_norm_and_masks_padding():
    gen = torch.Generator().manual_seed(0)
    embeds = torch.randn(3, 5, 8)
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]])
    weight = torch.randn(8)

    def loss_fn(e):
        return (e * weight).sum() ** 2

    for norm, eps in (("l2", 0.3), ("linf", 0.05)):
        adv, finite = pgd(embeds, mask, loss_fn, eps=eps, step_size=0.5, steps=4, norm=norm, generator=gen)
        delta = adv - embeds
        assert finite
        assert delta[mask == 0].abs().max() == 0
        if norm == "l2":
            assert (delta.flatten(1).norm(dim=1) <= eps + 1e-5).all()
            assert (delta.flatten(1).norm(dim=1) > eps * 0.9).all()  # big steps reach the ball's edge
        else:
            assert delta.abs().max() <= eps + 1e-7 and delta.abs().max() > eps * 0.9
        assert loss_fn(adv) > loss_fn(embeds)


def test_projection_and_gaussian_noise_touch_only_real_tokens():
    delta = torch.ones(2, 3, 4)
    assert torch.allclose(project(delta, 1.0, "l2").flatten(1).norm(dim=1), torch.ones(2))
    embeds = torch.zeros(2, 4, 2048)
    mask = torch.tensor([[1, 1, 0, 0], [1, 1, 1, 1]])
    noisy = gaussian_noise(embeds, mask, 0.1, torch.Generator().manual_seed(0))
    assert noisy[0, 2:].abs().max() == 0 and noisy[0, :2].abs().min() > 0
    # N(0, sigma^2) per coordinate: over 8,192 draws the sample std is sigma within 0.8% (one std
    # error); the bound below is 4%, so a noise 10% off its sigma (or 1.5x it) fails.
    std, mean = noisy[1].std().item(), noisy[1].mean().item()
    assert abs(std - 0.1) < 0.004 and abs(mean) < 0.004, (std, mean)


def test_nan_step_is_skipped_and_counted(tmp_path, tiny_bert, fixtures, monkeypatch):
    import training.objective as objective

    real = objective.training_loss
    calls = {"n": 0}

    def poisoned(*args, **kwargs):
        loss = real(*args, **kwargs)
        calls["n"] += 1
        return loss._replace(total=loss.total * float("nan")) if calls["n"] == 1 else loss

    monkeypatch.setattr(objective, "training_loss", poisoned)
    spec = TrainSpec(task="wic", model=str(tiny_bert), epochs=1, batch_size=4, device="cpu")
    _train(tmp_path, "nan", spec, data_dir=fixtures)
    metrics = json.loads((tmp_path / "nan" / "seed-1" / "metrics.json").read_text())
    assert metrics["skipped_steps"] == 1
    assert math.isfinite(metrics["last"]["train_loss"])
    assert all(torch.isfinite(v).all() for v in _adapter(tmp_path, "nan").values())


@pytest.mark.parametrize("method,pooling,noise", [("prefix", "span", "pgd"), ("prompt", "mean", "gaussian"),
                                                  ("prefix", "cls", "none"), ("prefix", "mean", "freelb"),
                                                  ("prefix", "span", "smart"), ("ptuning", "mean", "gaussian"),
                                                  ("deep", "span", "pgd"), ("deep", "cls", "freelb")])
def test_methods_poolings_and_noise_train_and_reload_with_plain_peft(tmp_path, tiny_bert, wic_pairs, method, pooling, noise,
                                                                    monkeypatch):
    from training.reload import evaluate_run

    saved = saved_scores(monkeypatch)
    spec = TrainSpec(task="wic", model=str(tiny_bert), method=method, pooling=pooling, embed_noise=noise,
                     prefix_len=4, epochs=2, batch_size=4, device="cpu", consistency="kl" if noise in ("pgd", "smart") else "ce",
                     steps=2 if noise == "freelb" else 1)
    summary = _train(tmp_path, "run", spec, pairs=None if noise == "none" else wic_pairs,
                     data_dir=Path(__file__).parent / "fixtures" if noise == "none" else None)
    best = json.loads((tmp_path / "run" / "seed-1" / "metrics.json").read_text())["best"]
    assert summary["summary"]["best"]["accuracy"]["values"] == [best["accuracy"]]
    # The adapter folder reloads with plain PEFT onto the base model and scores the same: its
    # logits equal the trained model's, and its accuracy the selected epoch's.
    assert_reloads_the_same(tmp_path / "run" / "seed-1", saved)
    assert evaluate_run(tmp_path / "run" / "seed-1")["accuracy"] == best["accuracy"]


@pytest.mark.parametrize("pooling", ["span", "mean"])
def test_pooling_and_head_stay_fp32_under_bf16_autocast(tiny_bert, fixtures, pooling):
    """On CUDA accelerate trains under bf16 autocast; the same autocast exists on CPU, so the
    fp32 island around pooling and the head is checked here, where CI runs."""
    from augment.common.official_files import load_local
    from augment.common.tasks import get_task
    from training.data import Collator, encode_rows, flatten
    from training.objective import flat_scores
    from training.model import build_peft_model, load_encoder

    task = get_task("wic")
    encoder, tokenizer = load_encoder(str(tiny_bert))
    model = build_peft_model(encoder, 2, pooling, 2, "prefix", 4).eval()
    rows = load_local(task, fixtures)[0]["train"].select(range(4)).to_list()
    batch = Collator(tokenizer.pad_token_id, 2)(encode_rows(tokenizer, task, rows, 128))
    seen = {}
    query = next(m for n, m in model.named_modules() if n.endswith("attention.self.query"))
    for head in (m for m in model.modules() if m.__class__.__name__ in ("SpanPairHead", "Sequential")):
        head.register_forward_hook(lambda m, args, out: seen.update(head_in=args[0].dtype, head_out=out.dtype))
    query.register_forward_hook(lambda m, args, out: seen.update(encoder=out.dtype))
    with torch.no_grad():
        plain = flat_scores(model, flatten(batch["clean"]), batch["clean"]["valid"])
        with torch.autocast("cpu", dtype=torch.bfloat16):
            mixed = flat_scores(model, flatten(batch["clean"]), batch["clean"]["valid"])
    assert seen == {"encoder": torch.bfloat16, "head_in": torch.float32, "head_out": torch.float32}
    assert torch.allclose(plain, mixed, atol=0.1)  # only the encoder's matmuls ran in bf16


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_bf16_prefix_pgd_trains_and_reloads(tmp_path, tiny_bert, fixtures, monkeypatch):
    from training.reload import evaluate_run

    saved = saved_scores(monkeypatch)
    spec = TrainSpec(task="wic", model=str(tiny_bert), embed_noise="pgd", prefix_len=4, epochs=2,
                     batch_size=4, device="cuda")
    _train(tmp_path, "gpu", spec, data_dir=fixtures)
    metrics = json.loads((tmp_path / "gpu" / "seed-1" / "metrics.json").read_text())
    assert metrics["device"].startswith("cuda")
    assert metrics["mixed_precision"] == ("bf16" if torch.cuda.is_bf16_supported() else "no")
    assert metrics["skipped_steps"] == 0
    assert evaluate_run(tmp_path / "gpu" / "seed-1", device="cuda")["accuracy"] == metrics["best"]["accuracy"]
    assert_reloads_the_same(tmp_path / "gpu" / "seed-1", saved, device="cuda")


def test_cpu_bf16_runs_under_autocast_and_reloads_the_same(tmp_path, tiny_bert, fixtures, monkeypatch):
    """--precision bf16 on CPU: the encoder's matmuls in bf16 (accelerate's autocast), the run
    recorded as bf16, and a reloaded run scores with its own precision (the same accuracy); the
    fp32 run is another run, with other weights."""
    from training.reload import evaluate_run

    spec = TrainSpec(task="wic", model=str(tiny_bert), prefix_len=4, epochs=2, batch_size=4, device="cpu",
                     precision="bf16")
    saved = saved_scores(monkeypatch)
    _train(tmp_path, "bf16", spec, data_dir=fixtures)
    _train(tmp_path, "fp32", replace(spec, precision="fp32"), data_dir=fixtures)
    metrics = json.loads((tmp_path / "bf16" / "seed-1" / "metrics.json").read_text())
    assert metrics["mixed_precision"] == "bf16"
    assert metrics["hardware"]["cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    assert metrics["hardware"]["cpu"]
    assert metrics["hardware"]["torch"] == torch.__version__
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    assert ("avx512_bf16" in metrics["hardware"]["cpu_flags"]) == (" avx512_bf16" in cpuinfo)
    assert ("amx_bf16" in metrics["hardware"]["cpu_flags"]) == (" amx_bf16" in cpuinfo)
    assert metrics["hardware"]["commit"].rstrip("+") in subprocess.run(
        ["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout
    assert json.loads((tmp_path / "fp32" / "seed-1" / "metrics.json").read_text())["mixed_precision"] == "no"
    a, b = _adapter(tmp_path, "bf16"), _adapter(tmp_path, "fp32")
    assert not all(torch.equal(a[k], b[k]) for k in a)
    assert evaluate_run(tmp_path / "bf16" / "seed-1", device="cpu")["accuracy"] == metrics["best"]["accuracy"]
    assert_reloads_the_same(tmp_path / "bf16" / "seed-1", saved)  # its logits, scored in bf16 again
    assert spec.to_dict()["precision"] == "bf16" and "precision" not in replace(spec, precision="auto").to_dict()


def test_roberta_family_trains(tmp_path, tiny_roberta, fixtures, monkeypatch):
    """Prefix tuning trains a RoBERTa-family encoder: the train loss falls epoch after epoch, every
    prompt tensor moves from its initial value, the logits depend on the prompt, and the run
    reloads (RoBERTa's position ids) to the same logits and score."""
    from augment.common.official_files import load_local
    from augment.common.tasks import get_task
    from tests.test_any_encoder import _logits, _train as train_captured
    from training.reload import evaluate_run, load_run

    spec = TrainSpec(task="rte", model=str(tiny_roberta), epochs=4, batch_size=4, lr=5e-2, device="cpu", prefix_len=4)
    captured = {}
    summary = train_captured(tmp_path / "rob", spec, fixtures, captured, monkeypatch)
    run = tmp_path / "rob" / "seed-1"
    metrics = json.loads((run / "metrics.json").read_text())
    losses = [h["train_loss"] for h in metrics["history"]]
    assert all(a > b for a, b in zip(losses, losses[1:])) and losses[-1] < 0.9 * losses[0], losses
    model, initial = captured["model"], captured["initial"]
    now = {n: p.detach() for n, p in model.named_parameters()}
    prompt = [n for n in initial if "classifier" not in n.split(".")]
    assert prompt and all(not torch.equal(initial[n], now[n]) for n in prompt), "a prompt tensor did not move"
    rows = load_local(get_task("rte"), fixtures)[0]["train"].to_list()
    _, _, reloaded, tokenizer = load_run(run)
    logits = _logits(model, tokenizer, rows)
    assert torch.allclose(_logits(reloaded, tokenizer, rows), logits, atol=1e-5)
    with torch.no_grad():  # the logits read the prompt: moving it moves them
        for n, p in reloaded.named_parameters():
            if n in prompt:
                p.add_(torch.randn(p.shape, generator=torch.Generator().manual_seed(0)))
    assert not torch.allclose(_logits(reloaded, tokenizer, rows), logits, atol=1e-3)
    assert summary["summary"]["best"]["accuracy"]["values"] == [metrics["best"]["accuracy"]]
    assert evaluate_run(run)["accuracy"] == metrics["best"]["accuracy"]


def test_multi_seed_summary_has_mean_std_min_max(tmp_path, tiny_bert, fixtures):
    from training.protocol import open_data
    from training.runs import run_seeds

    spec = TrainSpec(task="cb", model=str(tiny_bert), epochs=1, batch_size=3, device="cpu", prefix_len=2)
    summary = run_seeds(spec, [1, 2, 3], open_data(spec.task, data_dir=fixtures, log=lambda *_: None), out=tmp_path / "ms", log=lambda *_: None)
    stats = summary["summary"]["last"]["f1_macro"]
    import statistics

    assert set(stats) == {"mean", "std", "min", "max", "values"} and len(stats["values"]) == 3
    per_seed = [json.loads((tmp_path / "ms" / f"seed-{s}" / "metrics.json").read_text())["last"]["f1_macro"]
                for s in (1, 2, 3)]
    assert stats["values"] == per_seed
    assert stats["mean"] == round(statistics.mean(per_seed), 2) and stats["std"] == round(statistics.stdev(per_seed), 2)
    assert (stats["min"], stats["max"]) == (min(per_seed), max(per_seed))
    again = run_seeds(spec, [1, 2, 3], open_data(spec.task, data_dir=fixtures, log=lambda *_: None), out=tmp_path / "ms", log=lambda *_: None)
    assert again["summary"] == summary["summary"]  # finished seeds are reused


def test_force_retrains_a_finished_seed_and_rewrites_its_metrics(tmp_path, tiny_bert, fixtures):
    """run_seeds(force=True) trains a finished seed folder again and rewrites its metrics, also
    where the folder holds other settings (refused without force); without force it is reused."""
    from augment.common.errors import PTPError
    from training.protocol import open_data
    from training.runs import run_seeds

    spec = TrainSpec(task="cb", model=str(tiny_bert), epochs=1, batch_size=3, device="cpu", prefix_len=2)
    folder = tmp_path / "run" / "seed-1"

    def train(spec, **kw):
        logs = []
        summary = run_seeds(spec, [1], open_data("cb", data_dir=fixtures, log=lambda *_: None), out=tmp_path / "run",
                            log=logs.append, track="none", **kw)
        trained = any(line.startswith("seed 1 epoch 1:") for line in logs)
        return summary["summary"]["best"]["accuracy"]["values"], trained

    fresh, trained = train(spec)
    metrics = json.loads((folder / "metrics.json").read_text())
    assert trained and fresh == [metrics["best"]["accuracy"]]
    # The finished folder's metrics marked (-1): reused as they stand without force...
    (folder / "metrics.json").write_text(json.dumps({**metrics, "best": {**metrics["best"], "accuracy": -1.0}}))
    assert train(spec) == ([-1.0], False)
    # ...trained again and rewritten with force: the fresh run's numbers, the mark gone.
    assert train(spec, force=True) == (fresh, True), "force=True did not retrain the finished seed"
    again = json.loads((folder / "metrics.json").read_text())
    timeless = lambda record: {k: v for k, v in record.items() if k != "seconds"}  # noqa: E731
    assert timeless(again["best"]) == timeless(metrics["best"])
    assert [timeless(h) for h in again["history"]] == [timeless(h) for h in metrics["history"]]
    # Other settings in the folder: refused without force, trained with them under force.
    other = replace(spec, lr=spec.lr * 3)
    with pytest.raises(PTPError, match="holds a run with other settings"):
        train(other)
    assert train(other, force=True)[1]
    assert json.loads((folder / "config.json").read_text())["spec"]["lr"] == other.lr


def test_processes_given_one_run_share_its_seeds(tmp_path, tiny_bert, fixtures):
    """A seed another process holds is left to it (wait=False: no summary yet) or waited for; if
    that process dies, the waiting one trains the seed itself. The numbers are those of one process.
    A process with other settings in a folder being trained is refused at once."""
    import fcntl

    from augment.common.errors import PTPError
    from training.protocol import open_data
    from training.runs import run_seeds

    spec = TrainSpec(task="wic", model=str(tiny_bert), epochs=1, batch_size=4, device="cpu", prefix_len=2)
    data = open_data("wic", data_dir=fixtures, log=lambda *_: None)
    out = tmp_path / "run"
    other = open(tmp_path / ".run.seed-2.lock", "w")  # another process, training seed 2
    fcntl.flock(other, fcntl.LOCK_EX)
    lines = []
    assert run_seeds(spec, [1, 2, 3], data, out=out, log=lines.append, wait=False) is None
    assert [(out / f"seed-{s}" / "metrics.json").is_file() for s in (1, 2, 3)] == [True, False, True]
    assert not (out / "summary.json").exists()
    assert "seed 2: another process is training it; leaving it to that process" in lines
    with pytest.raises(PTPError, match="another process is training other settings in this folder"):
        run_seeds(replace(spec, lr=0.1), [1, 2, 3], data, out=out, log=lambda *_: None)

    def log(line):  # the other process dies without finishing seed 2 once this one waits for it
        lines.append(line)
        if line == "seed 2: another process is training it; waiting for it after the others":
            other.close()

    lines.clear()
    shared = run_seeds(spec, [1, 2, 3], data, out=out, log=log)
    assert other.closed and [line.split(":")[0] for line in lines if "reusing" in line] == ["seed 1", "seed 3"]
    alone = run_seeds(spec, [1, 2, 3], data, out=tmp_path / "alone", log=lambda *_: None)
    assert shared["summary"] == alone["summary"] and json.loads((out / "summary.json").read_text()) == shared


def test_a_moved_corpus_reuses_its_seeds_and_another_corpus_does_not(tmp_path, tiny_bert, wic_pairs, fixtures):
    """Run folders trained in pieces are merged into one (two cores, one folder per piece): a seed
    is reused when its corpus has the same fingerprint wherever it lies, never on other pairs."""
    from augment.build import build_corpus
    from augment.common.errors import PTPError
    from augment.random_ops import RandomSpec
    from training.protocol import open_data
    from training.runs import run_seeds

    spec = TrainSpec(task="wic", model=str(tiny_bert), epochs=1, batch_size=4, device="cpu", prefix_len=2)
    first = run_seeds(spec, [1], open_data("wic", pairs=wic_pairs, log=lambda *_: None), out=tmp_path / "run",
                      log=lambda *_: None)
    moved = shutil.copytree(wic_pairs, tmp_path / "merged" / "corpora" / "wic_rand")
    lines = []
    again = run_seeds(spec, [1], open_data("wic", pairs=moved, log=lambda *_: None), out=tmp_path / "run",
                      log=lines.append)
    assert any("seed 1: reusing" in line for line in lines) and again["summary"] == first["summary"]
    assert json.loads((tmp_path / "run" / "seed-1" / "config.json").read_text())["provenance"]["pairs"] == str(moved)
    from augment.perturbers import RandomPerturber

    other = build_corpus(RandomPerturber("wic", RandomSpec(rate=0.1)), out=tmp_path / "other", data_dir=fixtures,
                         log=lambda *_: None)[0]
    with pytest.raises(PTPError, match="holds a run with other settings"):
        run_seeds(spec, [1], open_data("wic", pairs=other, log=lambda *_: None), out=tmp_path / "run",
                  log=lambda *_: None)


def test_a_killed_seed_resumes_on_its_moved_corpus(tmp_path, tiny_bert, wic_pairs, killed_in_epoch_2):
    """A piece killed mid-seed, then moved with its corpus, resumes after its last epoch instead of
    starting over; the finished seed records where its corpus lies now."""
    from training.protocol import open_data
    from training.runs import run_seeds

    spec = TrainSpec(task="wic", model=str(tiny_bert), epochs=2, batch_size=4, device="cpu", prefix_len=2, lam=1.0)
    with killed_in_epoch_2():
        run_seeds(spec, [1], open_data("wic", pairs=wic_pairs, log=lambda *_: None), out=tmp_path / "run",
                  log=lambda *_: None)
    moved = shutil.copytree(wic_pairs, tmp_path / "merged" / "corpora" / "wic_rand")
    lines = []
    run_seeds(spec, [1], open_data("wic", pairs=moved, log=lambda *_: None), out=tmp_path / "run", log=lines.append)
    assert any("resuming after epoch 1" in line for line in lines)
    saved = json.loads((tmp_path / "run" / "seed-1" / "config.json").read_text())
    assert saved["provenance"]["pairs"] == str(moved)


@pytest.mark.slow
def test_two_processes_match_one(tmp_path, tiny_bert, fixtures):
    """torchrun with 2 CPU processes over gloo vs 1 process, with text pairs and PGD (random
    starts drawn per row): same global batches, same result."""
    from augment.build import build_corpus
    from augment.random_ops import RandomSpec

    pairs = tmp_path / "rte_rand"  # with text pairs: the consistency term splits across processes too
    from augment.perturbers import RandomPerturber

    build_corpus(RandomPerturber("rte", RandomSpec(rate=0.3)), out=pairs, data_dir=fixtures, log=lambda *_: None)
    common = ["--pairs", pairs, "--model", tiny_bert, "--epochs", "2", "--batch-size", "4",
              "--device", "cpu", "--prefix-len", "4", "--embed-noise", "pgd", "--eps", "0.5", "--steps", "2"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    one = subprocess.run([sys.executable, "-m", "training.cli", *map(str, common), "--out", tmp_path / "one"],
                         capture_output=True, text=True, env=env, cwd=Path(__file__).parents[1])
    assert one.returncode == 0, one.stderr[-2000:]
    torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent)) or "torchrun"
    two = subprocess.run([torchrun, "--nproc_per_node", "2", "--master_port", "29533", "-m", "training.cli",
                          *map(str, common), "--out", tmp_path / "two"],
                         capture_output=True, text=True, env=env, cwd=Path(__file__).parents[1])
    assert two.returncode == 0, two.stderr[-3000:]
    m1 = json.loads((tmp_path / "one" / "seed-1" / "metrics.json").read_text())
    m2 = json.loads((tmp_path / "two" / "seed-1" / "metrics.json").read_text())
    assert m2["processes"] == 2 and m1["processes"] == 1
    # Stated tolerance: train loss within 1e-3, adapter weights within 1e-4 (float reduction order).
    for h1, h2 in zip(m1["history"], m2["history"]):
        assert abs(h1["train_loss"] - h2["train_loss"]) < 1e-3
    a, b = _adapter(tmp_path, "one"), _adapter(tmp_path, "two")
    assert all(torch.allclose(a[k], b[k], atol=1e-4) for k in a)


def test_row_noise_is_the_same_however_the_batch_is_split():
    from training.perturb import RowNoise

    valid = torch.ones(4, 1, dtype=torch.bool)
    whole = RowNoise(7, "cpu").at(3, valid, 0)
    full = (whole.randn((4, 5, 2)), whole.rand((4,)))
    halves = []
    for first in (0, 2):
        part = RowNoise(7, "cpu").at(3, valid[:2], first)
        halves.append((part.randn((2, 5, 2)), part.rand((2,))))
    assert torch.equal(full[0], torch.cat([h[0] for h in halves])) and torch.equal(full[1], torch.cat([h[1] for h in halves]))
    again = RowNoise(7, "cpu").at(4, valid, 0).randn((4, 5, 2))
    assert not torch.equal(full[0], again)  # another step, other numbers
    assert not torch.equal(full[0][0], full[0][1])  # rows differ


def test_cosine_floor_is_scored_on_a_labelled_test_split_only(tmp_path, tiny_bert, fixtures):
    """The protocol reports test, so the cosine floor must be scored there too (threshold fit on
    train); official files' unlabelled test gets no test figure rather than a wrong one."""
    from training.floor import cosine_floor

    unlabelled = cosine_floor(model=str(tiny_bert), source="local", data_dir=fixtures / "WiC", log=lambda *_: None)
    assert "validation_accuracy" in unlabelled and "test_accuracy" not in unlabelled
    labelled = tmp_path / "WiC"
    labelled.mkdir()
    for name in ("train.jsonl", "val.jsonl"):
        shutil.copy(fixtures / "WiC" / name, labelled / name)
    shutil.copy(fixtures / "WiC" / "val.jsonl", labelled / "test.jsonl")  # test = validation, labelled
    floor = cosine_floor(model=str(tiny_bert), source="local", data_dir=labelled, log=lambda *_: None)
    assert floor["threshold"] == unlabelled["threshold"]
    assert floor["test_accuracy"] == floor["validation_accuracy"] == unlabelled["validation_accuracy"]


@pytest.mark.parametrize("noise,knobs", [("gaussian", {"sigma": 0.1}),
                                         ("freelb", {"adv_max_norm": 0.5, "init_mag": 0.2, "step_size": 0.3})])
def test_relative_radii_are_fractions_of_the_token_embedding_scale(tmp_path, tiny_bert, fixtures, noise, knobs):
    """--radii relative: l2 sizes x the mean token-embedding norm, per-coordinate ones x its
    per-coordinate RMS; recorded in metrics.json, and the same run as those absolute values."""
    from training.model import load_encoder

    spec = TrainSpec(task="wic", model=str(tiny_bert), embed_noise=noise, prefix_len=4, epochs=1, batch_size=4,
                     device="cpu", radii="relative", **knobs)
    _train(tmp_path, "relative", spec, data_dir=fixtures)
    radii = json.loads((tmp_path / "relative" / "seed-1" / "metrics.json").read_text())["radii"]
    weight = load_encoder(str(tiny_bert))[0].get_input_embeddings().weight.detach()
    mean_norm = weight.norm(dim=1).mean().item()
    for knob, value in knobs.items():
        unit = mean_norm / math.sqrt(weight.shape[1]) if knob == "sigma" else mean_norm
        assert radii["absolute"][knob] == pytest.approx(value * unit, rel=1e-4)
        assert radii["relative"][knob] == value
    _train(tmp_path, "absolute", replace(spec, radii="absolute", **radii["absolute"]), data_dir=fixtures)
    a, b = _adapter(tmp_path, "relative"), _adapter(tmp_path, "absolute")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert spec.to_dict()["radii"] == "relative" and "radii" not in replace(spec, radii="absolute").to_dict()
