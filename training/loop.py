"""Training and evaluation with accelerate: one seed per call, the loop readable on one screen.

Each step: task cross-entropy on the clean batch + lambda * consistency on its perturbed view
(the text-perturbed partner from a --pairs corpus and/or in-line embedding noise), the clean and
perturbed halves in one forward pass of the concatenated batch. A step whose loss or gradients
are not finite is skipped (and counted), never applied.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from augment.errors import PTPError
from augment.tasks import get_task

from .config import TrainSpec
from .data import Collator, check_labels, encode_rows
from .losses import consistency_loss
from .metrics import classification_metrics
from .model import build_peft_model, calibrate_span_heads, input_embeddings, load_encoder

CALIBRATION_ROWS = 512
from .perturb import gaussian_noise, pgd


def make_accelerator(device: str, split_batches: bool = True):
    from accelerate import Accelerator
    from accelerate.utils import DataLoaderConfiguration

    if device == "cuda" and not torch.cuda.is_available():
        raise PTPError("--device cuda: no CUDA device is available here; use --device auto or cpu")
    mixed = "bf16" if device != "cpu" and torch.cuda.is_available() and torch.cuda.is_bf16_supported() else "no"
    # split_batches: the global batch is --batch-size whatever the number of processes, so N
    # processes follow the same optimisation path as one.
    return Accelerator(cpu=device == "cpu", mixed_precision=mixed,
                       dataloader_config=DataLoaderConfiguration(split_batches=split_batches))


def _inputs(view: dict) -> dict:
    return {"attention_mask": view["attention_mask"], "token_type_ids": view.get("token_type_ids"),
            "span_masks": view["span_masks"], "text_mask": view["attention_mask"]}


def _cat(a: dict, b: dict) -> dict:
    return {k: torch.cat([a[k], b[k]]) if a.get(k) is not None else None for k in a}


def uses_perturbation(spec: TrainSpec, batch: dict) -> bool:
    return spec.lam > 0 and spec.consistency != "none" and ("perturbed" in batch or spec.embed_noise != "none")


def training_loss(model, embed, batch: dict, spec: TrainSpec, generator) -> tuple[torch.Tensor, bool]:
    """(loss, every PGD step finite) for one batch."""
    clean, labels = batch["clean"], batch["labels"]
    if not uses_perturbation(spec, batch):
        logits = model(input_ids=clean["input_ids"], **_inputs(clean)).logits
        return F.cross_entropy(logits.float(), labels), True
    view = batch.get("perturbed", clean)
    emb = embed(view["input_ids"])
    finite = True
    if spec.embed_noise == "gaussian":
        emb = gaussian_noise(emb, view["attention_mask"], spec.sigma, generator)
    elif spec.embed_noise == "pgd":
        target = None
        if spec.consistency == "kl":
            with torch.no_grad():
                target = model(input_ids=clean["input_ids"], **_inputs(clean)).logits

        def attack_loss(e):
            logits = model(inputs_embeds=e, **_inputs(view)).logits
            return consistency_loss(spec.consistency, target, logits, labels)

        emb, finite = pgd(emb, view["attention_mask"], attack_loss, spec.eps, spec.step_size,
                          spec.steps, spec.norm, generator)
    both = torch.cat([embed(clean["input_ids"]), emb])
    logits = model(inputs_embeds=both, **_cat(_inputs(clean), _inputs(view))).logits.float()
    clean_logits, perturbed_logits = logits.split(labels.shape[0])
    loss = F.cross_entropy(clean_logits, labels)
    return loss + spec.lam * consistency_loss(spec.consistency, clean_logits, perturbed_logits, labels), finite


@torch.no_grad()
def evaluate(model, loader, task, accelerator) -> dict[str, float]:
    model.eval()
    preds, labels = [], []
    for batch in loader:
        clean = batch["clean"]
        logits = model(input_ids=clean["input_ids"], **_inputs(clean)).logits
        p, y = accelerator.gather_for_metrics((logits.argmax(-1), batch["labels"]))
        preds += p.tolist()
        labels += y.tolist()
    return classification_metrics(task, preds, labels)


def load_training_data(spec: TrainSpec, pairs=None, source="auto", data_dir=None, log=print):
    """(train rows, validation rows, provenance); train rows carry `perturbed` with --pairs."""
    from augment.corpus import load_corpus
    from augment.sources import load_task_data

    task = get_task(spec.task)
    if pairs is not None:
        data, manifest = load_corpus(pairs, task=task.name)
        provenance = {"pairs": str(pairs), "corpus_fingerprint": manifest["fingerprint"],
                      "source": manifest["source"], "mode": manifest["mode"]}
    else:
        data, info = load_task_data(task.name, source, data_dir, log=log)
        provenance = {"pairs": None, "source": info.to_dict()}
    for split in ("train", "validation"):
        if split not in data or len(data[split]) == 0:
            raise PTPError(f"{pairs or data_dir or task.name}: the {split} split is missing or empty")
    train = data["train"]
    if spec.max_train is not None:
        train = train.select(range(min(spec.max_train, len(train))))
    train, validation = train.to_list(), data["validation"].to_list()
    check_labels(task, train, "train")
    check_labels(task, validation, "validation")
    return train, validation, provenance


def train_one_seed(spec: TrainSpec, out: Path, train_rows, val_rows, provenance: dict, log=print) -> dict:
    """Train one seed; write adapter/, config.json, metrics.json, log.txt into `out`."""
    from accelerate.utils import set_seed
    from tqdm.auto import tqdm
    from transformers import get_linear_schedule_with_warmup

    accelerator = make_accelerator(spec.device)
    set_seed(spec.seed)
    task = get_task(spec.task)
    encoder, tokenizer = load_encoder(spec.model, spec.dropout, spec.trust_remote_code)
    model = build_peft_model(encoder, task.num_labels, spec.pooling, len(task.pooled_spans),
                             spec.method, spec.prefix_len, spec.prefix_projection)
    with_pairs = provenance.get("pairs") is not None and spec.lam > 0 and spec.consistency != "none"
    train_items = encode_rows(tokenizer, task, train_rows, spec.max_length, perturbed=with_pairs)
    val_items = encode_rows(tokenizer, task, val_rows, spec.max_length)
    collate = Collator(tokenizer.pad_token_id)
    calibration = calibrate_span_heads(model, [
        {"input_ids": b["clean"]["input_ids"], **_inputs(b["clean"])}
        for b in (collate(train_items[i:i + 64]) for i in range(0, min(len(train_items), CALIBRATION_ROWS), 64))],
        torch.tensor([it["label"] for it in train_items[:CALIBRATION_ROWS]]))
    if calibration:
        log(f"seed {spec.seed}: span head calibrated on {min(len(train_items), CALIBRATION_ROWS)} train rows: {calibration}")
    shuffle = torch.Generator().manual_seed(spec.seed)
    train_loader = DataLoader(train_items, batch_size=spec.batch_size, shuffle=True, collate_fn=collate,
                              generator=shuffle)
    eval_loader = DataLoader(val_items, batch_size=64, collate_fn=collate)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=spec.lr, weight_decay=spec.weight_decay)
    total = spec.epochs * len(train_loader)  # split_batches: every process takes every step
    scheduler = get_linear_schedule_with_warmup(optimizer, int(spec.warmup * total), total)
    model, optimizer, train_loader, eval_loader, scheduler = accelerator.prepare(
        model, optimizer, train_loader, eval_loader, scheduler)
    embed = input_embeddings(accelerator.unwrap_model(model))
    noise = torch.Generator(device=accelerator.device).manual_seed(spec.seed * 1000 + accelerator.process_index)

    history, skipped, best, started = [], 0, None, time.time()
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
    if accelerator.is_main_process:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
    for epoch in range(1, spec.epochs + 1):
        model.train()
        losses = []
        bar = tqdm(train_loader, desc=f"seed {spec.seed} epoch {epoch}/{spec.epochs}",
                   disable=not accelerator.is_local_main_process, leave=False,
                   mininterval=0.1 if sys.stderr.isatty() else 30)
        for batch in bar:
            loss, finite = training_loss(model, embed, batch, spec, noise)
            accelerator.backward(loss)
            bad = not (finite and torch.isfinite(loss)) or any(
                p.grad is not None and not torch.isfinite(p.grad).all() for p in params)
            # Every process takes the same decision, and logs the loss of the whole global batch.
            stats = accelerator.reduce(torch.stack([torch.tensor(float(bad)), loss.detach().float().cpu()])
                                       .to(accelerator.device), "mean")
            if stats[0] > 0:
                skipped += 1
            else:
                optimizer.step()
                scheduler.step()
                losses.append(stats[1].item())
            optimizer.zero_grad()
            bar.set_postfix(loss=f"{losses[-1]:.4f}" if losses else "n/a", skipped=skipped, refresh=False)
        metrics = evaluate(model, eval_loader, task, accelerator)
        record = {"epoch": epoch, "train_loss": round(sum(losses) / max(len(losses), 1), 5), **metrics,
                  "seconds": round(time.time() - started, 1)}
        history.append(record)
        log(f"seed {spec.seed} epoch {epoch}: " + ", ".join(f"{k} {v}" for k, v in record.items() if k != "epoch"))
        if best is None or metrics[task.metrics[0]] > best[task.metrics[0]]:
            best = record
            accelerator.wait_for_everyone()
            if accelerator.is_main_process:
                accelerator.unwrap_model(model).save_pretrained(str(tmp / "adapter"))
    result = {"task": task.name, "seed": spec.seed, "metric": task.metrics[0], "best": best, "last": history[-1],
              "history": history, "skipped_steps": skipped, "train_rows": len(train_rows),
              "validation_rows": len(val_rows), "processes": accelerator.num_processes,
              "device": str(accelerator.device), "mixed_precision": accelerator.mixed_precision,
              "seconds": round(time.time() - started, 1), "adapter_epoch": best["epoch"],
              "calibration": calibration}
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        (tmp / "config.json").write_text(json.dumps({"spec": spec.to_dict(), "provenance": provenance}, indent=2))
        (tmp / "metrics.json").write_text(json.dumps(result, indent=2))
        (tmp / "log.txt").write_text("\n".join(json.dumps(h) for h in history) + "\n")
        from augment.corpus import replace_dir

        replace_dir(tmp, out)
    accelerator.wait_for_everyone()
    return result


def load_run(run: Path):
    """A trained run folder -> (spec, provenance, PEFT model, tokenizer), via plain PEFT loading."""
    from peft import PeftModel

    from .model import PooledClassifier

    run = Path(run)
    config_path = run / "config.json"
    if not config_path.is_file() or not (run / "adapter").is_dir():
        raise PTPError(f"{run}: not a ptp-train run folder (needs config.json and adapter/)")
    config = json.loads(config_path.read_text())
    spec = TrainSpec.from_dict(config["spec"])
    task = get_task(spec.task)
    encoder, tokenizer = load_encoder(spec.model, spec.dropout, spec.trust_remote_code)
    base = PooledClassifier(encoder, task.num_labels, spec.pooling, len(task.pooled_spans))
    try:
        model = PeftModel.from_pretrained(base, str(run / "adapter"))
    except (KeyError, RuntimeError, ValueError) as err:
        raise PTPError(f"{run}/adapter: does not fit the model this version builds ({type(err).__name__}: "
                       f"{str(err).splitlines()[0][:120]}); retrain the run") from None
    return spec, config["provenance"], model.eval(), tokenizer


def run_data(task_name: str, provenance: dict, data_dir=None, log=print):
    """The DatasetDict a run was trained on (its corpus, or its source), or official files."""
    from augment.corpus import load_corpus
    from augment.sources import load_task_data

    if data_dir is not None:
        return load_task_data(task_name, "local", data_dir, log=log)[0]
    if provenance.get("pairs"):
        return load_corpus(provenance["pairs"], task=task_name)[0]
    source = provenance["source"]
    return load_task_data(task_name, source["name"], source["location"] if source["name"] == "local" else None,
                          log=log)[0]


def evaluate_run(run: Path, split: str = "validation", data_dir=None, device: str = "auto", log=print) -> dict:
    spec, provenance, model, tokenizer = load_run(run)
    task = get_task(spec.task)
    data = run_data(task.name, provenance, data_dir, log=log)
    if split not in data or len(data[split]) == 0:
        raise PTPError(f"{run}: no {split} split to score (available: {', '.join(data)})")
    rows = data[split].to_list()
    check_labels(task, rows, split)
    accelerator = make_accelerator(device)
    loader = DataLoader(encode_rows(tokenizer, task, rows, spec.max_length), batch_size=64,
                        collate_fn=Collator(tokenizer.pad_token_id))
    model, loader = accelerator.prepare(model, loader)
    return evaluate(model, loader, task, accelerator)
