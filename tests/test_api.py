"""PTP as a library (training/api.py): ptp-train, a plain loop calling PTP.loss and Hugging Face's
Trainer (PTPTrainer) give the same numbers for the same settings: vanilla, Gaussian noise,
FreeLB, SAM and text partners."""
import json

import pytest
import torch

from training.config import TrainSpec

STEPS_OF = {}


def _spec(model, regulariser, **extra):
    settings = regulariser.settings() if regulariser is not None else {}
    return TrainSpec(task="rte", model=str(model), prefix_len=4, pooling="mean", epochs=2, batch_size=4, lr=3e-2,
                     device="cpu", precision="fp32", seed=3, **settings, **extra)


def _trained(model) -> dict:
    return {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}


def plain_loop(spec, data, regulariser):
    """The loop a user writes around PTP.loss, with ptp-train's optimiser, schedule, clipping and order."""
    from accelerate.utils import set_seed
    from transformers import get_linear_schedule_with_warmup

    from training.api import PTP, encoded_task, prompt_model

    set_seed(spec.seed)
    model, tokenizer = prompt_model(spec)
    items, collate = encoded_task(spec, tokenizer, data, log=lambda *_: None)
    loader = torch.utils.data.DataLoader(items, batch_size=spec.batch_size, shuffle=True, collate_fn=collate,
                                         generator=torch.Generator().manual_seed(spec.seed))
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=spec.lr, weight_decay=0.0)
    scheduler = get_linear_schedule_with_warmup(optimizer, 0, spec.epochs * len(loader))
    ptp = PTP(regulariser, seed=spec.seed)
    losses, weights, step = [], [], 0
    model.train()
    for _ in range(spec.epochs):
        for batch in loader:
            step += 1
            loss = ptp.loss(model, batch, step)
            loss.total.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            losses.append(float(loss.total.detach()))
        weights.append(_trained(model))
    return losses, weights, len(loader)


def trainer_path(spec, data, regulariser, tmp_path):
    from accelerate.utils import set_seed
    from transformers import TrainingArguments

    from training.api import PTPTrainer, encoded_task, prompt_model

    set_seed(spec.seed)
    model, tokenizer = prompt_model(spec)
    items, collate = encoded_task(spec, tokenizer, data, log=lambda *_: None)
    args = TrainingArguments(output_dir=str(tmp_path / "trainer"), per_device_train_batch_size=spec.batch_size,
                             num_train_epochs=spec.epochs, learning_rate=spec.lr, weight_decay=0.0, max_grad_norm=1.0,
                             optim="adamw_torch", lr_scheduler_type="linear", seed=spec.seed, use_cpu=True,
                             remove_unused_columns=False, report_to=[], save_strategy="no", logging_strategy="no",
                             disable_tqdm=True)
    trainer = PTPTrainer(model=model, args=args, train_dataset=items, data_collator=collate, regulariser=regulariser)
    trainer.train()
    return [h["loss"] for h in trainer.ptp_history], _trained(model)


def _regularisers():
    from training.regularisers import SAM, FreeLB, GaussianNoise

    return {"vanilla": None, "gaussian": GaussianNoise(sigma=0.05), "freelb": FreeLB(step_size=0.1, steps=2, init_mag=0.1),
            "sam": SAM(rho=0.05), "pairs": "pairs"}


@pytest.mark.slow
@pytest.mark.parametrize("name,encoder", [("vanilla", "tiny"), ("gaussian", "tiny"), ("freelb", "tiny"), ("sam", "tiny"),
                                          ("pairs", "tiny"), ("freelb", "minilm"), ("sam", "minilm")])
def test_ptp_train_plain_loop_and_trainer_give_the_same_numbers(tmp_path, fixtures, name, encoder):
    from augment.build import build_corpus
    from augment.random_ops import RandomSpec
    from tests.tiny_models import make_tiny_bert
    from training.protocol import open_data
    from training.runs import run_seeds

    model = make_tiny_bert(tmp_path / "bert") if encoder == "tiny" else "minilm"
    regulariser = _regularisers()[name]
    if regulariser == "pairs":  # text partners: a random corpus, no embedding regulariser
        regulariser = None
        corpus = tmp_path / "pairs"
        from augment.perturbers import RandomPerturber

        build_corpus(RandomPerturber("rte", RandomSpec(rate=0.3)), out=corpus, source="local", data_dir=fixtures / "RTE",
                     log=lambda *_: None)
        data = open_data("rte", pairs=corpus, log=lambda *_: None)
    else:
        data = open_data("rte", data_dir=fixtures / "RTE", log=lambda *_: None)
    spec = _spec(model, regulariser, eval_every=1)
    summary = run_seeds(spec, [spec.seed], data, out=tmp_path / "ptp-train", log=lambda *_: None, track="none")
    metrics = json.loads((tmp_path / "ptp-train" / f"seed-{spec.seed}" / "metrics.json").read_text())
    losses, weights, per_epoch = plain_loop(spec, data, regulariser)
    trainer_losses, trainer_weights = trainer_path(spec, data, regulariser, tmp_path)
    # The Trainer and the plain loop: every step's loss, and the trained prompt and head.
    assert trainer_losses == pytest.approx(losses, abs=1e-5)
    for key, value in weights[-1].items():
        assert torch.allclose(trainer_weights[key], value, atol=1e-5), key
    # ptp-train: each epoch's mean loss, and its kept adapter (the validation-selected epoch's).
    epoch_means = [sum(losses[i * per_epoch:(i + 1) * per_epoch]) / per_epoch for i in range(spec.epochs)]
    assert [h["train_loss"] for h in metrics["history"]] == pytest.approx(epoch_means, abs=2e-5)
    from safetensors.torch import load_file

    adapter = load_file(str(tmp_path / "ptp-train" / f"seed-{spec.seed}" / "adapter" / "adapter_model.safetensors"))
    kept = weights[metrics["adapter_epoch"] - 1]
    prompt = next(v for k, v in kept.items() if "prompt_encoder" in k)
    saved = next(v for k, v in adapter.items() if "prompt_embeddings" in k)
    assert torch.allclose(saved, prompt, atol=1e-5)
    assert summary["seeds"] == [spec.seed] and (regulariser is None or metrics["history"][0]["train_loss"] > 0)


def _hf_rows(tokenizer, n=8, partners=True):
    """Hugging Face-style rows: tokenized pairs, labels, and a text partner per row."""
    texts = [("a fine film", "it is good"), ("a dull film", "it is good"), ("what a lovely day", "it is good"),
             ("a waste of time", "it is good")] * (n // 4)
    rows = []
    for i, (a, b) in enumerate(texts):
        row = dict(tokenizer(a, b, truncation=True, max_length=32), labels=i % 2)
        if partners:
            partner = tokenizer(a.replace("film", "movie").replace("day", "morning"), b, truncation=True, max_length=32)
            row.update({f"perturbed_{k}": v for k, v in partner.items()})
        rows.append(row)
    return rows


@pytest.mark.slow
@pytest.mark.parametrize("name", ["gaussian", "sam", "pairs"])
def test_a_plain_peft_model_on_hugging_face_batches_same_in_loop_and_trainer(tmp_path, name):
    """A user's own model (AutoModelForSequenceClassification + PEFT's PrefixTuningConfig) and
    tokenized rows: PTPTrainer and a plain loop over PTP.loss give the same losses and weights,
    and the prompt trains."""
    from accelerate.utils import set_seed
    from peft import PrefixTuningConfig, get_peft_model
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, TrainingArguments, \
        get_linear_schedule_with_warmup

    from tests.tiny_models import make_tiny_bert
    from training.api import PTP, PartnerCollator, PTPTrainer
    from training.regularisers import SAM, GaussianNoise

    path = make_tiny_bert(tmp_path / "bert")
    tokenizer = AutoTokenizer.from_pretrained(path)
    regulariser = {"gaussian": GaussianNoise(sigma=0.1), "sam": SAM(rho=0.05), "pairs": None}[name]
    rows = _hf_rows(tokenizer, partners=name == "pairs")
    collate = PartnerCollator(tokenizer)

    def model():
        set_seed(5)
        base = AutoModelForSequenceClassification.from_pretrained(path, num_labels=2, hidden_dropout_prob=0.0,
                                                                  attention_probs_dropout_prob=0.0)
        return get_peft_model(base, PrefixTuningConfig(task_type="SEQ_CLS", num_virtual_tokens=3))

    loop_model = model()
    start = {n: p.detach().clone() for n, p in loop_model.named_parameters() if p.requires_grad}
    loader = torch.utils.data.DataLoader(rows, batch_size=4, shuffle=True, collate_fn=collate,
                                         generator=torch.Generator().manual_seed(5))
    params = [p for p in loop_model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=5e-2, weight_decay=0.0)
    scheduler = get_linear_schedule_with_warmup(optimizer, 0, 3 * len(loader))
    ptp, losses, step = PTP(regulariser, seed=5), [], 0
    loop_model.train()
    for _ in range(3):
        for batch in loader:
            step += 1
            loss = ptp.loss(loop_model, batch, step)
            loss.total.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step(), scheduler.step(), optimizer.zero_grad()
            losses.append(float(loss.total.detach()))
            assert loss.perturbed is not None and loss.finite
    trainer_model = model()
    args = TrainingArguments(output_dir=str(tmp_path / "t"), per_device_train_batch_size=4, num_train_epochs=3,
                             learning_rate=5e-2, weight_decay=0.0, max_grad_norm=1.0, optim="adamw_torch", seed=5,
                             use_cpu=True, remove_unused_columns=False, report_to=[], save_strategy="no",
                             logging_strategy="no", disable_tqdm=True)
    trainer = PTPTrainer(model=trainer_model, args=args, train_dataset=rows, data_collator=collate, regulariser=regulariser)
    trainer.train()
    assert [h["loss"] for h in trainer.ptp_history] == pytest.approx(losses, abs=1e-5)
    assert all(h["perturbed"] is not None for h in trainer.ptp_history)
    trained = {n: p for n, p in trainer_model.named_parameters() if p.requires_grad}
    for key, value in loop_model.named_parameters():
        if value.requires_grad:
            assert torch.allclose(trained[key], value, atol=1e-5), key
            assert not torch.equal(value, start[key]), f"{key} did not move"


@pytest.mark.slow
def test_the_trainer_example_equals_ptp_train_and_its_own_head_trains(tmp_path, fixtures):
    """examples/ptp_with_trainer.py: with --same-as-ptp-train its epoch losses and adapter are
    ptp-train's for the same settings (SAM here); with transformers' own head it trains."""
    import runpy
    import sys

    from safetensors.torch import load_file

    from tests.conftest import ROOT
    from tests.tiny_models import make_tiny_bert
    from training.protocol import open_data
    from training.regularisers import SAM
    from training.runs import run_seeds

    model = make_tiny_bert(tmp_path / "bert")
    common = ["--model", str(model), "--task", "rte", "--data-dir", str(fixtures / "RTE"), "--train-size", "6",
              "--epochs", "2", "--batch-size", "3", "--lr", "3e-2", "--prefix-len", "4", "--seed", "2",
              "--regulariser", "sam"]
    script = str(ROOT / "examples" / "ptp_with_trainer.py")
    for extra, out in ((["--same-as-ptp-train"], "same"), ([], "own")):
        sys.argv = [script, *common, *extra, "--out", str(tmp_path / out)]
        runpy.run_path(script, run_name="__main__")
    spec = TrainSpec(task="rte", model=str(model), train_size=6, epochs=2, batch_size=3, lr=3e-2, prefix_len=4,
                     pooling="mean", seed=2, device="cpu", precision="fp32", eval_every=1, **SAM(rho=0.05).settings())
    run_seeds(spec, [2], open_data("rte", data_dir=fixtures / "RTE", log=lambda *_: None), out=tmp_path / "ptp",
              log=lambda *_: None, track="none")
    metrics = json.loads((tmp_path / "ptp" / "seed-2" / "metrics.json").read_text())
    steps = json.loads((tmp_path / "same" / "losses.json").read_text())["steps"]
    per_epoch = len(steps) // 2
    means = [sum(s["loss"] for s in steps[i * per_epoch:(i + 1) * per_epoch]) / per_epoch for i in range(2)]
    assert [h["train_loss"] for h in metrics["history"]] == pytest.approx(means, abs=2e-5)
    if metrics["adapter_epoch"] == 2:  # the kept adapter is the last epoch's: the example's final one
        ours = load_file(str(tmp_path / "same" / "adapter" / "adapter_model.safetensors"))
        theirs = load_file(str(tmp_path / "ptp" / "seed-2" / "adapter" / "adapter_model.safetensors"))
        key = next(k for k in theirs if "prompt_embeddings" in k)
        assert torch.allclose(ours[key], theirs[key], atol=1e-5)
    own = json.loads((tmp_path / "own" / "losses.json").read_text())["steps"]
    assert len(own) == len(steps) and all(s["perturbed"] is not None for s in own)
    assert (tmp_path / "own" / "adapter" / "adapter_config.json").is_file()
