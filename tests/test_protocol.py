"""The claim protocol: faithful FreeLB/SMART, gradient clipping, validation selects / test reports,
paired statistics, and the sweep -> stability chain."""
import json
import statistics
import os
import subprocess
import sys
from pathlib import Path

import datasets
import pytest
import torch
import torch.nn.functional as F

from tests.tiny_models import make_tiny_bert
from training.config import TrainSpec
from training.losses import symmetric_kl
from training.regularisers.smart import smart, smart_kl
from training.regularisers.freelb import freelb, freelb_start

ROOT = Path(__file__).resolve().parents[1]
MASK = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 1, 0, 0, 0]])


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    return make_tiny_bert(tmp_path_factory.mktemp("models") / "bert")


def test_freelb_accumulates_parameter_gradients_over_its_k_ascent_points():
    torch.manual_seed(0)
    embeds = torch.randn(3, 5, 8)
    weight = torch.randn(8, 2, requires_grad=True)

    def loss_fn(e):
        return F.cross_entropy((e @ weight).tanh().sum(1), torch.tensor([0, 1, 0]))

    total, deltas, finite = freelb(embeds, MASK, loss_fn, init_mag=0.5, step_size=0.3, steps=3, max_norm=0.0,
                                   norm="l2", generator=torch.Generator().manual_seed(1))
    total.backward()
    assert finite and len(deltas) == 3
    # FreeLB's defining rule: the update uses the mean of the K points' parameter gradients...
    expected = sum(torch.autograd.grad(loss_fn(embeds + d), weight)[0] for d in deltas) / 3
    assert torch.allclose(weight.grad, expected, atol=1e-6)
    # ...not the last point's alone (PGD's rule), and every point is an ascent step further.
    last_only = torch.autograd.grad(loss_fn(embeds + deltas[-1]), weight)[0]
    assert not torch.allclose(weight.grad, last_only, atol=1e-4)
    losses = [loss_fn(embeds + d).item() for d in deltas]
    assert losses[0] < losses[1] < losses[2]
    for d in deltas:
        assert d[MASK == 0].abs().max() == 0


def test_freelb_start_has_magnitude_init_mag_over_sqrt_length_times_dim():
    embeds = torch.zeros(3, 5, 8)
    delta = freelb_start(embeds, MASK, 0.6, "l2", torch.Generator().manual_seed(0))
    lengths = MASK.sum(1).float()
    # uniform(-1, 1) * 0.6 / sqrt(L d): each coordinate within the bound, norm about 0.6 / sqrt(3)
    bound = 0.6 / (lengths * 8).sqrt()
    assert (delta.abs().amax((1, 2)) <= bound + 1e-7).all() and (delta.abs().amax((1, 2)) > 0.8 * bound).all()
    assert torch.allclose(delta.flatten(1).norm(dim=1), torch.full((3,), 0.6 / 3 ** 0.5), rtol=0.35)
    assert delta[MASK == 0].abs().max() == 0
    assert freelb_start(embeds, MASK, 0.0, "l2", torch.Generator()).abs().max() == 0


def test_freelb_projects_onto_max_norm():
    embeds = torch.randn(3, 5, 8)
    w = torch.randn(8)
    _, deltas, _ = freelb(embeds, MASK, lambda e: ((e * w).sum() ** 2), init_mag=0.1, step_size=5.0, steps=3,
                          max_norm=0.2, norm="l2", generator=torch.Generator().manual_seed(0))
    assert (deltas[-1].flatten(1).norm(dim=1) <= 0.2 + 1e-6).all()


def test_smart_ascends_from_the_detached_clean_prediction_one_normalised_step_per_token():
    torch.manual_seed(0)
    embeds = torch.randn(3, 5, 8)
    weight = torch.randn(8, 2, requires_grad=True)

    def score(e):
        return (e @ weight).sum(1)

    clean = score(embeds)  # carries a graph to `weight`
    targets = []

    def divergence(e, target):
        targets.append(target)
        return F.kl_div(F.log_softmax(score(e), -1), F.softmax(target, -1), reduction="batchmean")

    adv, finite = smart(embeds, MASK, divergence, clean, start_std=1e-4, step_size=0.1, steps=1, norm="linf",
                        generator=torch.Generator().manual_seed(0))
    assert finite and targets and all(not t.requires_grad for t in targets)  # the clean target is fixed
    delta = adv - embeds
    per_token = delta.abs().amax(-1)
    assert torch.allclose(per_token[MASK == 1], torch.full_like(per_token[MASK == 1], 0.1), atol=5e-4)
    assert delta[MASK == 0].abs().max() == 0
    assert not adv.requires_grad
    assert divergence(adv, clean.detach()) > divergence(embeds, clean.detach())


def test_smart_kl_detaches_each_side_target():
    clean = torch.randn(4, 3, requires_grad=True)
    adv = torch.randn(4, 3, requires_grad=True)
    smart_kl(clean, adv).backward()
    ref_clean = torch.randn(4, 3).copy_(clean.detach()).requires_grad_()
    F.kl_div(F.log_softmax(ref_clean, -1), F.softmax(adv.detach(), -1), reduction="batchmean").backward()
    assert torch.allclose(clean.grad, ref_clean.grad, atol=1e-6)  # only KL(sg(p_adv) || p_clean) reaches clean
    plain = clean.detach().clone().requires_grad_()
    (2 * symmetric_kl(plain, adv.detach())).backward()
    assert not torch.allclose(clean.grad, plain.grad, atol=1e-4)  # unlike an undetached symmetric KL


def test_smart_needs_kl_and_pgd_a_radius():
    from augment.common.errors import PTPError

    with pytest.raises(PTPError, match="consistency kl"):
        TrainSpec(task="rte", embed_noise="smart")
    with pytest.raises(PTPError, match="radius"):
        TrainSpec(task="rte", embed_noise="pgd", eps=0.0)
    with pytest.raises(PTPError, match="holdout"):
        TrainSpec(task="rte", holdout=1.5)


def _run(tmp_path, spec, data_dir, name="run"):
    from training.protocol import open_data
    from training.runs import run_seeds

    return run_seeds(spec, [spec.seed], open_data(spec.task, data_dir=data_dir, log=lambda *_: None), out=tmp_path / name, log=lambda *_: None)


def test_gradient_clipping_caps_what_the_optimizer_applies(tmp_path, tiny_bert, fixtures, monkeypatch):
    seen = []
    real_step = torch.optim.AdamW.step

    def spy(self, *args, **kwargs):
        grads = [p.grad for group in self.param_groups for p in group["params"] if p.grad is not None]
        seen.append(torch.cat([g.flatten() for g in grads]).norm().item())
        return real_step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.AdamW, "step", spy)
    spec = TrainSpec(task="rte", model=str(tiny_bert), epochs=1, batch_size=4, device="cpu", prefix_len=4,
                     max_grad_norm=1e-3)
    _run(tmp_path, spec, fixtures / "RTE")
    metrics = json.loads((tmp_path / "run" / "seed-1" / "metrics.json").read_text())
    assert seen and max(seen) <= 1e-3 * 1.001
    assert metrics["history"][0]["grad_norm"] > 1e-3 and metrics["history"][0]["clipped_steps"] == len(seen)
    seen.clear()
    _run(tmp_path, TrainSpec(**{**spec.to_dict(), "max_grad_norm": 0.0}), fixtures / "RTE", "unclipped")
    assert max(seen) > 1e-3


def test_holdout_selects_on_train_part_and_reports_on_validation(tmp_path, tiny_bert, fixtures):
    from training.reload import evaluate_run

    spec = TrainSpec(task="wic", model=str(tiny_bert), epochs=2, batch_size=4, device="cpu", prefix_len=4,
                     holdout=0.25, holdout_seed=3)
    summary = _run(tmp_path, spec, fixtures / "WiC")
    metrics = json.loads((tmp_path / "run" / "seed-1" / "metrics.json").read_text())
    assert summary["protocol"]["selects"] == "validation" and summary["protocol"]["reports"] == "test"
    assert summary["protocol"]["holdout"] == {"fraction": 0.25, "seed": 3, "rows": 2}
    assert metrics["train_rows"] == 6 and metrics["validation_rows"] == 2 and metrics["test_rows"] == 4
    # The reported figures are the test split's at the validation-selected epoch...
    assert summary["report"]["split"] == "test"
    assert summary["report"]["selected"]["accuracy"]["values"] == [metrics["test"]["best"]["accuracy"]]
    # ...and a reload rebuilds the same carve: validation is the held-out part of train, test the data's validation.
    assert evaluate_run(tmp_path / "run" / "seed-1", split="test") == metrics["test"]["best"]
    assert evaluate_run(tmp_path / "run" / "seed-1", split="validation")["accuracy"] == metrics["best"]["accuracy"]


def test_labelled_test_split_reports_and_hidden_one_warns(tmp_path, tiny_bert, fixtures):
    import shutil

    data = tmp_path / "wic"
    shutil.copytree(fixtures / "WiC", data)
    spec = TrainSpec(task="wic", model=str(tiny_bert), epochs=1, batch_size=4, device="cpu", prefix_len=4)
    hidden = _run(tmp_path, spec, data, "hidden")  # official test.jsonl: no labels
    assert hidden["report"]["split"] == "validation" and "warning" in hidden["report"]
    (data / "test.jsonl").write_text((data / "val.jsonl").read_text())  # now a labelled test split
    shown = _run(tmp_path, spec, data, "shown")
    assert shown["report"]["split"] == "test" and shown["protocol"]["reports"] == "test"
    assert "warning" not in shown["report"]


def test_paired_statistics():
    from scipy import stats

    from pipelines.stats import compare

    base = [66.0, 67.0, 69.0, 64.0, 70.0]
    shifted = compare([b + 2 for b in base], base)  # the same seeds, uniformly better
    assert shifted["gain"] == 2.0 and shifted["gains_positive"] == 5
    assert shifted["gain_ci"] == [None, None]  # no spread in the differences: no interval
    assert shifted["std_ratio"] == 1.0 and shifted["brown_forsythe_p"] == 1.0
    method = [68.0, 69.0, 70.0, 67.0, 69.5]
    out = compare(method, base)
    low, high = out["gain_ci"]
    assert low < out["gain"] < high and out["gain"] == pytest.approx(1.5)
    assert out["std_ratio"] == pytest.approx(stats.tstd(method) / stats.tstd(base), abs=1e-4)
    assert out["std_ratio_ci"][0] < out["std_ratio"] < out["std_ratio_ci"][1]
    assert out["brown_forsythe_p"] == pytest.approx(stats.levene(method, base, center="median").pvalue, abs=1e-4)
    assert compare(method, base) == out  # a fixed bootstrap generator: reproducible reports
    assert compare(method[:2], base[:2])["gain_ci"] == [None, None]
    # Pairs are seeds: a method that moves every seed with the baseline (x 1.5, plus tiny jitter)
    # has a std ratio near 1.5 with a tight interval when seeds are resampled in pairs; resampling
    # the two lists apart (pairing the wrong seeds) would spread it over [~0.5, ~5].
    spread = [50.0, 58.0, 61.0, 66.0, 70.0, 74.0, 80.0, 90.0]
    tracked = compare([1.5 * v + j for v, j in zip(spread, [0.1, -0.2, 0.1, 0.0, -0.1, 0.2, -0.1, 0.0])], spread)
    low, high = tracked["std_ratio_ci"]
    assert 1.4 < low < tracked["std_ratio"] < high < 1.6


def test_collapse_rates_are_compared_pair_by_pair_with_the_exact_mcnemar_test():
    from pipelines.stats import collapse_test

    baseline = [True] * 6 + [False] * 4
    out = collapse_test([False] * 10, baseline)  # six runs rescued, none lost
    assert (out["collapsed"], out["baseline_collapsed"], out["only_method"], out["only_baseline"]) == (0, 6, 0, 6)
    assert out["exact_mcnemar_p"] == pytest.approx(2 * 0.5 ** 6, abs=1e-4)
    # Six collapsed each, but on other seeds: three rescued, three lost, no evidence either way.
    swapped = collapse_test([False, False, False, True, True, True, True, True, True, False], baseline)
    assert swapped["only_method"] == 3 and swapped["only_baseline"] == 3 and swapped["exact_mcnemar_p"] == 1.0
    assert collapse_test([False] * 4, [False] * 4)["exact_mcnemar_p"] == 1.0
    with pytest.raises(ValueError, match="same runs"):
        collapse_test([True], [True, False])


def test_within_draw_spread_leaves_the_draws_own_effect_out():
    from pipelines.stats import compare, within_draws

    base = [[60.0, 62.0, 58.0, 61.0, 59.0], [70.0, 73.0, 67.0, 71.0, 69.0], [64.0, 66.0, 62.0, 65.0, 63.0]]
    calmer = [[60.0, 61.0, 59.0, 60.5, 59.5], [70.0, 71.5, 68.5, 70.5, 69.5], [64.0, 65.0, 63.0, 64.5, 63.5]]
    out = within_draws(calmer, base)
    assert out["std_ratio"] == pytest.approx(0.5)  # every draw's seeds spread half as much
    assert out["std_ratio_ci"][1] < 1 and out["brown_forsythe_p"] < 0.05
    flat = lambda groups: [v for g in groups for v in g]  # noqa: E731
    assert compare(flat(calmer), flat(base))["std_ratio"] > 0.8  # pooled, the draws' spread hides it
    same = within_draws(base, base)
    assert same["std_ratio"] == 1.0 and same["brown_forsythe_p"] == 1.0
    assert within_draws([[1.0, 2.0]], [[1.0, 3.0]])["std_ratio"] is None  # under three seeds: undefined


def test_grid_parsing_names_bad_knobs():
    from augment.common.errors import PTPError
    from pipelines.sweep import apply, parse_grid, settings

    grid = parse_grid(["sigma=0.005,0.01", "lr=1e-2,3e-2", "pairs.rate=0.1"])
    assert grid == {"sigma": [0.005, 0.01], "lr": [0.01, 0.03], "pairs.rate": [0.1]}
    assert len(settings(grid)) == 4
    assert apply({"pairs": {"mode": "random"}, "train": {"sigma": 1}}, {"sigma": 0.5, "pairs.rate": 0.2}) == \
        {"pairs": {"mode": "random", "params": {"rate": 0.2}}, "train": {"sigma": 0.5}}
    for bad, message in (("sigmaa=1", "unknown knob 'sigmaa'"), ("seed=1,2", "unknown knob 'seed'"),
                         ("sigma", "KEY=V1,V2")):
        with pytest.raises(PTPError, match=message):
            parse_grid([bad])


@pytest.mark.slow
def test_sweep_then_stability_chain_at_tiny_size(tmp_path, tiny_bert, fixtures):
    """vanilla's lr and rn-embed's sigma swept on validation (2 seeds), the picked presets run on
    3 fresh seeds, reported on test with paired statistics."""
    common = ["--task", "wic", "--data-dir", fixtures / "WiC", "--model", tiny_bert, "--epochs", "1",
              "--batch-size", "4", "--holdout", "0.25"]
    presets = tmp_path / "presets.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for method, grid in (("vanilla", "lr=0.01,0.03"), ("rn-embed", "sigma=0.01,0.05")):
        res = subprocess.run([sys.executable, "-m", "pipelines.cli", "sweep", *map(str, common), "--method", method,
                              "--grid", grid, "--seeds", "1,2", "--out", tmp_path / f"sweep_{method}",
                              "--presets-out", presets], capture_output=True, text=True, cwd=ROOT, env=env)
        assert res.returncode == 0, res.stderr[-3000:]
        sweep = json.loads((tmp_path / f"sweep_{method}" / "sweep.json").read_text())
        assert len(sweep["points"]) == 2 and sweep["selected_on"] == "validation"
        best = max(p["validation_mean"] for p in sweep["points"])
        assert sweep["picked"]["validation_mean"] == best
        # Failed runs beside the spread: at or below validation's majority floor, or one class.
        assert sweep["floor"]["split"] == "validation"
        for point in sweep["points"]:
            at_floor = sum(v <= sweep["floor"]["accuracy"] for v in point["validation_values"])
            assert at_floor <= point["collapsed"] <= 2 and point["skipped_steps"] == 0
            assert point["validation_std"] == pytest.approx(statistics.stdev(point["validation_values"]), abs=1e-3)
        assert "| collapsed runs |" in (tmp_path / f"sweep_{method}" / "sweep.md").read_text()
        if method == "vanilla":  # a sweep of vanilla's own lr has no zero point
            assert sweep["zero"] is None and sweep["beats_zero"] is None
            continue
        # The zero point: the method off (vanilla at the base lr) on the same seeds, beside the grid.
        zero = sweep["zero"]
        assert zero["setting"] is None and zero["preset"] == {"pairs": None, "train": {"embed_noise": "none"}}
        zero_spec = json.loads((tmp_path / f"sweep_{method}" / "runs" / "none" / "seed-1" / "config.json").read_text())
        assert zero_spec["spec"]["embed_noise"] == "none" and zero_spec["spec"]["lr"] == 0.01
        for point in sweep["points"]:
            assert point["minus_zero"] == pytest.approx(statistics.mean(
                a - b for a, b in zip(point["validation_values"], zero["validation_values"])), abs=1e-3)
        assert sweep["beats_zero"] == (sweep["picked"]["validation_mean"] > zero["validation_mean"])
        assert "none (zero point: rn-embed off)" in (tmp_path / f"sweep_{method}" / "sweep.md").read_text()
    written = json.loads(presets.read_text())
    assert set(written) == {"vanilla-tuned", "rn-embed-tuned"}
    assert written["rn-embed-tuned"]["train"]["embed_noise"] == "gaussian"
    assert written["rn-embed-tuned"]["train"]["sigma"] in (0.01, 0.05)
    res = subprocess.run([sys.executable, "-m", "pipelines.cli", "stability", *map(str, common), "--seeds", "3,4,5",
                          "--methods", "vanilla-tuned,rn-embed-tuned,freelb,smart", "--presets", presets,
                          "--out", tmp_path / "st"], capture_output=True, text=True, cwd=ROOT, env=env)
    assert res.returncode == 0, res.stderr[-3000:]
    results = json.loads((tmp_path / "st" / "results.json").read_text())
    # The report names the runs' CPU type and precision; each seed's record carries them.
    assert "Every run on one CPU type and precision: " in (tmp_path / "st" / "report.md").read_text()
    res = subprocess.run([sys.executable, "-m", "pipelines.cli", "records", tmp_path / "st", tmp_path / "records"],
                         capture_output=True, text=True, cwd=ROOT, env=env)
    assert res.returncode == 0 and "12 records written" in res.stdout, res.stdout + res.stderr
    seed = json.loads((tmp_path / "records" / "freelb" / "seed-4.json").read_text())
    metrics = json.loads((tmp_path / "st" / "runs" / "freelb" / "seed-4" / "metrics.json").read_text())
    assert seed["test"] == metrics["test"] and seed["best"] == metrics["best"] and seed["history"] == metrics["history"]
    assert seed["hardware"]["cpu"] and "cpu_flags" in seed["hardware"] and seed["hardware"]["torch"]
    assert seed["spec"]["embed_noise"] == "freelb" and seed["mechanism"] == "prefix" and seed["mixed_precision"]
    table = results["comparison"]
    assert table["split"] == "test" and table["baseline"] == "vanilla-tuned" and table["seeds"] == [3, 4, 5]
    assert table["methods"]["vanilla-tuned"]["vs_baseline"] is None
    for name in ("rn-embed-tuned", "freelb", "smart"):
        row, vs = table["methods"][name], table["methods"][name]["vs_baseline"]
        run = results["runs"][name]
        assert row["values"] == run["report"]["selected"]["accuracy"]["values"]
        gains = [m - b for m, b in zip(row["values"], table["methods"]["vanilla-tuned"]["values"])]
        assert vs["gain"] == pytest.approx(sum(gains) / 3, abs=1e-3)
    assert results["runs"]["rn-embed-tuned"]["spec"]["sigma"] == written["rn-embed-tuned"]["train"]["sigma"]
    report = (tmp_path / "st" / "report.md").read_text()
    assert "paired gain" in report and "| smart |" in report and report.startswith("test accuracy")
    assert (tmp_path / "st" / "stability.png").stat().st_size > 1000


def test_prompt_tuning_starts_from_vocabulary_embeddings(tiny_bert):
    from training.model import build_peft_model, load_encoder

    torch.manual_seed(0)
    encoder, _ = load_encoder(str(tiny_bert))
    model = build_peft_model(encoder, 2, "mean", 0, "prompt", 6)
    prompt = model.prompt_encoder["default"].embedding.weight.detach()
    vocab = encoder.get_input_embeddings().weight.detach()
    # Lester et al.: every virtual token starts as some real token's embedding (not N(0, 1) noise).
    assert torch.cdist(prompt, vocab).min(dim=1).values.max() < 1e-3  # distinct rows: ~0.1 apart


def test_span_head_calibration_has_its_own_group_without_weight_decay(tmp_path, tiny_bert, fixtures, monkeypatch):
    groups = []
    real_step = torch.optim.AdamW.step

    def spy(self, *args, **kwargs):
        groups.append([(len(g["params"]), g["weight_decay"], [tuple(p.shape) for p in g["params"]])
                       for g in self.param_groups])
        return real_step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.AdamW, "step", spy)
    spec = TrainSpec(task="wic", model=str(tiny_bert), epochs=1, batch_size=4, device="cpu", prefix_len=4,
                     weight_decay=0.1)
    _run(tmp_path, spec, fixtures / "WiC")
    (n_rest, wd_rest, _), (n_cal, wd_cal, shapes) = groups[0]
    assert wd_rest == 0.1 and n_rest > 0
    assert wd_cal == 0.0 and n_cal == 2 and shapes == [(), ()]  # threshold and scale, trained


@pytest.mark.slow
def test_few_shot_grid_perturbs_only_each_draws_rows_and_pools_draws(tmp_path, tiny_bert, fixtures):
    """stability --train-size N --sample-seeds A,B: one folder per draw, each draw's text corpus
    holding exactly that draw's rows, and a report pooled over (draw, seed) pairs. Started twice at
    once on one folder (a core each), the two processes share the runs: each is trained once."""
    from training.config import TrainSpec
    from training.protocol import load_training_data, open_data

    command = [sys.executable, "-m", "pipelines.cli", "stability", "--task", "rte", "--data-dir", fixtures / "RTE",
               "--model", tiny_bert, "--epochs", "1", "--batch-size", "2", "--train-size", "4", "--sample-seeds",
               "0,1", "--seeds", "1,2", "--methods", "vanilla,rn-text", "--track", "none", "--out", tmp_path / "grid"]
    both = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT,
                             env={**os.environ, "OMP_NUM_THREADS": "1"}) for _ in range(2)]
    logs = [process.communicate(timeout=600)[0] for process in both]
    assert [process.returncode for process in both] == [0, 0], logs[0][-3000:] + logs[1][-3000:]
    trained = sum(log.count("epoch 1: train_loss") for log in logs)
    assert trained == 2 * 2 * 2, logs  # draws x methods x seeds, none twice
    for draw in (0, 1):
        spec = TrainSpec(task="rte", train_size=4, sample_seed=draw)
        drawn = load_training_data(spec, open_data("rte", data_dir=fixtures / "RTE", log=lambda *_: None),
                                   log=lambda *_: None)[0]
        corpora = list((tmp_path / "grid" / f"draw-{draw}" / "corpora").glob("rte_random_*"))
        assert len(corpora) == 1
        pairs = datasets.load_from_disk(str(corpora[0]))["train"]
        assert [r["idx"] for r in pairs] == [r["idx"] for r in drawn]
    table = json.loads((tmp_path / "grid" / "results.json").read_text())["comparison"]
    assert table["seeds"] == ["0:1", "0:2", "1:1", "1:2"]
    per_draw = [json.loads((tmp_path / "grid" / f"draw-{d}" / "results.json").read_text())["comparison"]
                for d in (0, 1)]
    assert table["methods"]["rn-text"]["values"] == sum((t["methods"]["rn-text"]["values"] for t in per_draw), [])
    report = (tmp_path / "grid" / "report.md").read_text()
    assert "Per draw" in report and "| 1 |" in report
    assert "within-draw std" in report  # two seeds a draw: the table is there, its figures undefined
    assert "collapse p" in report
    assert json.loads((tmp_path / "grid" / "results.json").read_text())["within_draws"]["rn-text"]["draws"] == 2


def test_sweep_edge_names_a_pick_on_the_grid_edge_or_below_the_zero_point():
    from pipelines.sweep import edge

    grid = {"sigma": [0.01, 0.02, 0.04]}

    def point(sigma, mean):
        return {"setting": {"sigma": sigma}, "validation_mean": mean}

    assert edge(grid, point(0.04, 70), point(None, 60)) == "upper"
    assert edge(grid, point(0.02, 70), point(None, 60)) is None
    assert edge(grid, point(0.01, 70), point(None, 60)) is None  # the zero point bounds it below
    assert edge(grid, point(0.01, 70), point(None, 71)) == "lower"  # validation improving toward zero
    assert edge({"sigma": [0.02]}, point(0.02, 70), point(None, 60)) is None
    assert edge({"sigma": [0.02]}, point(0.02, 70), point(None, 75)) == "lower"
