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
from torch.utils.data import DataLoader

from augment.errors import PTPError
from augment.tasks import get_task, gold as gold_outputs

from .config import TrainSpec
from .data import Collator, by_length, check_rows, encode_rows, flatten, head_size, scores
from .losses import consistency_loss, gold_cross_entropy, kl_from_target, smart_kl
from .metrics import task_metrics
from .model import build_peft_model, calibrate_span_heads, input_embeddings, load_encoder
from .perturb import RowNoise, freelb, gaussian_noise, pgd, smart

CALIBRATION_ROWS = 512


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


def flat_scores(model, flat: dict, valid, embeds=None) -> torch.Tensor:
    """[rows, outputs] scores of flattened candidates, from their ids or from given embeddings."""
    source = {"input_ids": flat["input_ids"]} if embeds is None else {"inputs_embeds": embeds}
    return scores(model(**source, **_inputs(flat)).logits, valid)


def forward_scores(model, view: dict) -> torch.Tensor:
    """[rows, outputs] scores of a collated view (label logits, or one score per candidate)."""
    return flat_scores(model, flatten(view), view["valid"])


def training_loss(model, embed, batch: dict, spec: TrainSpec, generator) -> tuple[torch.Tensor, bool]:
    """(loss, every ascent step finite) for one batch: CE(clean) + lambda * perturbed term."""
    clean, gold = batch["clean"], batch["gold"]
    if not uses_perturbation(spec, batch):
        return gold_cross_entropy(forward_scores(model, clean), gold), True
    view = batch.get("perturbed", clean)
    flat_clean, flat_view = flatten(clean), flatten(view)
    emb, mask = embed(flat_view["input_ids"]), flat_view["attention_mask"]

    def view_scores(e):
        return flat_scores(model, flat_view, view["valid"], e)

    finite = True
    if spec.embed_noise == "freelb":
        # The K ascent points' losses keep their graphs; one backward accumulates all of them.
        clean_scores = forward_scores(model, clean)
        term, _, finite = freelb(emb, mask, lambda e: consistency_loss(spec.consistency, clean_scores, view_scores(e), gold),
                                 spec.init_mag, spec.step_size, spec.steps, spec.eps, spec.norm, generator)
        return gold_cross_entropy(clean_scores, gold) + spec.lam * term, finite
    if spec.embed_noise == "gaussian":
        emb = gaussian_noise(emb, mask, spec.sigma, generator)
    elif spec.embed_noise in ("pgd", "smart"):
        target = None
        if spec.consistency == "kl":
            with torch.no_grad():
                target = forward_scores(model, clean)
        if spec.embed_noise == "pgd":
            emb, finite = pgd(emb, mask, lambda e: consistency_loss(spec.consistency, target, view_scores(e), gold),
                              spec.eps, spec.step_size, spec.steps, spec.norm, generator)
        else:
            emb, finite = smart(emb, mask, lambda e, t: kl_from_target(view_scores(e), t), target,
                                spec.sigma, spec.step_size, spec.steps, spec.norm, generator)
    both = torch.cat([embed(flat_clean["input_ids"]), emb])
    logits = model(inputs_embeds=both, **_cat(_inputs(flat_clean), _inputs(flat_view))).logits
    clean_logits, perturbed_logits = logits.split(flat_clean["input_ids"].shape[0])
    clean_scores, perturbed_scores = scores(clean_logits, clean["valid"]), scores(perturbed_logits, view["valid"])
    loss = gold_cross_entropy(clean_scores, gold)
    if spec.embed_noise == "smart":
        return loss + spec.lam * smart_kl(clean_scores, perturbed_scores), finite
    return loss + spec.lam * consistency_loss(spec.consistency, clean_scores, perturbed_scores, gold), finite


@torch.no_grad()
def predict(model, loader, accelerator) -> list[int]:
    """One prediction per row, in loader order: a label id, or a candidate index."""
    model.eval()
    preds = []
    for batch in loader:
        p = accelerator.gather_for_metrics(forward_scores(model, batch["clean"]).argmax(-1))
        preds += p.tolist()
    return preds


def evaluate(model, loader, task, rows, items, accelerator) -> dict[str, float]:
    return task_metrics(task, rows, predict(model, loader, accelerator), [it["names"] for it in items])


def few_shot_sample(task, rows: list[dict], size: int, seed: int) -> list[dict]:
    """A `size`-row few-shot train set, as FewGLUE's 32 examples: label-stratified (classes in
    proportion) for labelled tasks; whole questions for
    MultiRC (all answer options of `size` questions); plain random queries for ReCoRD."""
    import random

    rng = random.Random(seed)
    if task.kind == "multirc":
        questions = sorted({r["question_id"] for r in rows})
        keep = set(rng.sample(questions, min(size, len(questions))))
        return [r for r in rows if r["question_id"] in keep]
    if task.kind == "record":
        return [rows[i] for i in sorted(rng.sample(range(len(rows)), min(size, len(rows))))]
    by_label: dict[int, list[int]] = {}
    for i, r in enumerate(rows):
        by_label.setdefault(r["label"], []).append(i)
    size = min(size, len(rows))
    # Largest-remainder allocation: each label gets its share of `size`, rounded to sum exactly.
    exact = {y: size * len(ids) / len(rows) for y, ids in by_label.items()}
    quota = {y: int(v) for y, v in exact.items()}
    for y in sorted(exact, key=lambda y: (quota[y] - exact[y], y))[:size - sum(quota.values())]:
        quota[y] += 1
    picked = sorted(i for y in sorted(by_label) for i in rng.sample(by_label[y], quota[y]))
    return [rows[i] for i in picked]


def labelled(task, rows: list[dict]) -> bool:
    """Whether every row carries what scoring needs (official test files carry no labels)."""
    if not rows:
        return False
    if task.kind == "record":
        return all(r["answers"] and r["entities"] for r in rows)
    return all(0 <= r["label"] < task.num_labels for r in rows)


def holdout_indices(task, rows: list[dict], fraction: float, seed: int, where) -> tuple[list[int], list[int]]:
    """(kept, held out) row indices: a label-stratified `fraction` of the rows (whole questions for
    MultiRC), drawn with `seed` by the same sampler as few-shot sets."""
    units = len({r["question_id"] for r in rows}) if task.kind == "multirc" else len(rows)
    size = round(fraction * units)
    if not 1 <= size < units:
        raise PTPError(f"{where}: --holdout {fraction} of {units} train {'questions' if task.kind == 'multirc' else 'rows'} "
                       "leaves no validation or no train rows; choose another fraction")
    held = few_shot_sample(task, [dict(r, _row=i) for i, r in enumerate(rows)], size, seed)
    held_set = {r["_row"] for r in held}
    return [i for i in range(len(rows)) if i not in held_set], sorted(held_set)


def protocol_splits(task, data: dict, holdout: float | None, holdout_seed: int, where: str) -> tuple[dict, dict]:
    """The claim protocol's splits and their record: `validation` selects epochs and settings,
    `test` reports. With --holdout, validation is carved out of train and the data's own
    validation split becomes the test; otherwise the data's test split reports when it is
    labelled (WordNet-WiC), and validation reports (flagged) when no labelled test exists."""
    out = dict(data)
    if holdout is not None:
        keep, held = holdout_indices(task, data["train"].to_list(), holdout, holdout_seed, where)
        out.update(train=data["train"].select(keep), validation=data["train"].select(held), test=data.get("validation"))
        record = {"holdout": {"fraction": holdout, "seed": holdout_seed, "rows": len(held)},
                  "validation": f"{len(held)} rows held out of train", "test": "the data's validation split"}
    else:
        record = {"holdout": None, "validation": "the data's validation split", "test": "the data's test split"}
        if out.get("test") is not None and not labelled(task, out["test"].to_list()):
            out.pop("test")
    if out.get("test") is None or len(out["test"]) == 0:
        out.pop("test", None)
        record["test"] = None
    record.update(selects="validation", reports="test" if "test" in out else "validation")
    return out, record


def load_training_data(spec: TrainSpec, pairs=None, source="auto", data_dir=None, eval_dir=None, log=print):
    """(train rows, validation rows, test rows or None, provenance); train rows carry `perturbed`
    with --pairs. Validation selects (epochs, settings), test reports: see `protocol_splits`.

    `eval_dir`: official files whose val.jsonl is the validation split (FewGLUE: train on its
    32-example train.jsonl, evaluate on SuperGLUE's val.jsonl)."""
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
    if eval_dir is not None:
        evaluation, info = load_task_data(task.name, "local", eval_dir, log=log)
        if "validation" not in evaluation:
            raise PTPError(f"--eval-dir {eval_dir}: no val.jsonl there; point it at the SuperGLUE task folder")
        data = {**data, "validation": evaluation["validation"]}
        provenance["evaluation"] = info.to_dict()
    where = {"train": pairs or data_dir or task.name, "validation": eval_dir or pairs or data_dir or task.name}
    if "train" not in data or len(data["train"]) == 0:
        raise PTPError(f"{where['train']}: the train split is missing or empty")
    data, protocol = protocol_splits(task, data, spec.holdout, spec.holdout_seed, where["train"])
    provenance["protocol"] = protocol
    if "validation" not in data or len(data["validation"]) == 0:
        hint = " (a FewGLUE folder has no val.jsonl: pass --eval-dir with the SuperGLUE files, or --holdout)" \
            if eval_dir is None else ""
        raise PTPError(f"{where['validation']}: the validation split is missing or empty{hint}")
    if protocol["reports"] == "validation":
        log("note: no labelled test split, so validation both selects and reports; pass --holdout F "
            "to select on a held-out part of train and report on validation")
    train, validation = data["train"].to_list(), data["validation"].to_list()
    test = data["test"].to_list() if "test" in data else None
    if spec.train_size is not None:
        train = few_shot_sample(task, train, spec.train_size, spec.sample_seed)
        provenance["few_shot"] = {"train_size": spec.train_size, "sample_seed": spec.sample_seed,
                                  "rows": len(train), "idx": [r["idx"] for r in train]}
        log(f"few-shot train set: {len(train)} rows drawn with sample seed {spec.sample_seed}")
    if spec.max_train is not None:
        train = train[:spec.max_train]
    check_rows(task, train, "train")
    check_rows(task, validation, "validation")
    if test is not None:
        check_rows(task, test, "test")
    if task.kind == "record":
        # A query none of whose entities is a gold answer gives no training signal (ReCoRD has a
        # few); it is still scored in validation, where it counts as a miss.
        kept = [r for r in train if gold_outputs(task, r)]
        if not kept:
            raise PTPError(f"{where['train']}: no train query has a gold answer among its entities")
        if len(kept) < len(train):
            log(f"train: {len(train) - len(kept)} of {len(train)} queries have no gold answer among their entities; skipped")
        train = kept
    return train, validation, test, provenance


def train_one_seed(spec: TrainSpec, out: Path, train_rows, val_rows, provenance: dict, test_rows=None,
                   log=print) -> dict:
    """Train one seed; write adapter/, config.json, metrics.json, log.txt into `out`.

    Validation selects the epoch whose adapter is kept ("best"); the test rows, when given, are
    scored once at that epoch and once at the last, never used to choose anything."""
    from accelerate.utils import set_seed
    from tqdm.auto import tqdm
    from transformers import get_linear_schedule_with_warmup

    accelerator = make_accelerator(spec.device)
    set_seed(spec.seed)
    task = get_task(spec.task)
    encoder, tokenizer = load_encoder(spec.model, spec.dropout, spec.trust_remote_code, spec.pooling == "cls")
    model = build_peft_model(encoder, head_size(task), spec.pooling, len(task.pooled_spans),
                             spec.method, spec.prefix_len, spec.prefix_projection)
    with_pairs = provenance.get("pairs") is not None and spec.lam > 0 and spec.consistency != "none"
    train_items = encode_rows(tokenizer, task, train_rows, spec.max_length, perturbed=with_pairs)
    val_rows, val_items = by_length(val_rows, encode_rows(tokenizer, task, val_rows, spec.max_length))
    collate = Collator(tokenizer.pad_token_id, head_size(task))
    calibration = calibrate_span_heads(model, [
        {"input_ids": flat["input_ids"], **_inputs(flat)}
        for flat in (flatten(collate(train_items[i:i + 64])["clean"])
                     for i in range(0, min(len(train_items), CALIBRATION_ROWS), 64))],
        torch.tensor([it["gold"][0] for it in train_items[:CALIBRATION_ROWS]]))
    if calibration:
        log(f"seed {spec.seed}: span head calibrated on {min(len(train_items), CALIBRATION_ROWS)} train rows: {calibration}")
    shuffle = torch.Generator().manual_seed(spec.seed)
    train_loader = DataLoader(train_items, batch_size=spec.batch_size, shuffle=True, collate_fn=collate,
                              generator=shuffle)
    eval_loader = DataLoader(val_items, batch_size=64, collate_fn=collate)
    test_items = None
    if test_rows:
        test_rows, test_items = by_length(test_rows, encode_rows(tokenizer, task, test_rows, spec.max_length))
    test_loader = DataLoader(test_items, batch_size=64, collate_fn=collate) if test_rows else None
    params = [p for p in model.parameters() if p.requires_grad]
    # The span head's calibrated threshold and scale: their own group without weight decay (a decay
    # would pull them toward 0, away from the calibrated rule). Trained, not frozen: on WordNet-WiC
    # (1,024 pairs, 2 epochs, seeds 1-3) frozen gave 65.86 mean validation accuracy, trained 66.21.
    calibrated = [p for n, p in model.named_parameters() if p.requires_grad and n.rsplit(".", 1)[-1] in ("threshold", "scale")]
    rest = [p for p in params if all(p is not c for c in calibrated)]
    optimizer = torch.optim.AdamW([{"params": rest, "weight_decay": spec.weight_decay},
                                   {"params": calibrated, "weight_decay": 0.0}], lr=spec.lr)
    total = spec.epochs * len(train_loader)  # split_batches: every process takes every step
    scheduler = get_linear_schedule_with_warmup(optimizer, int(spec.warmup * total), total)
    model, optimizer, train_loader, eval_loader, scheduler = accelerator.prepare(
        model, optimizer, train_loader, eval_loader, scheduler)
    if test_loader is not None:
        test_loader = accelerator.prepare(test_loader)
    embed = input_embeddings(accelerator.unwrap_model(model))
    noise = RowNoise(spec.seed, accelerator.device)  # per-row draws: N processes match one
    step = 0

    history, skipped, best, best_state, started = [], 0, None, None, time.time()
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
    if accelerator.is_main_process:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
    for epoch in range(1, spec.epochs + 1):
        model.train()
        losses, grad_norms = [], []
        bar = tqdm(train_loader, desc=f"seed {spec.seed} epoch {epoch}/{spec.epochs}",
                   disable=not accelerator.is_local_main_process, leave=False,
                   mininterval=0.1 if sys.stderr.isatty() else 30)
        for batch in bar:
            step += 1
            valid = batch.get("perturbed", batch["clean"])["valid"]
            noise.at(step, valid, accelerator.process_index * valid.shape[0])
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
                if spec.max_grad_norm > 0:
                    grad_norms.append(float(accelerator.clip_grad_norm_(params, spec.max_grad_norm)))
                optimizer.step()
                scheduler.step()
                losses.append(stats[1].item())
            optimizer.zero_grad()
            bar.set_postfix(loss=f"{losses[-1]:.4f}" if losses else "n/a", skipped=skipped, refresh=False)
        metrics = evaluate(model, eval_loader, task, val_rows, val_items, accelerator)
        record = {"epoch": epoch, "train_loss": round(sum(losses) / max(len(losses), 1), 5), **metrics,
                  "seconds": round(time.time() - started, 1)}
        if grad_norms:  # before clipping: how often --max-grad-norm bites
            record["grad_norm"] = round(sum(grad_norms) / len(grad_norms), 4)
            record["clipped_steps"] = sum(g > spec.max_grad_norm for g in grad_norms)
        history.append(record)
        log(f"seed {spec.seed} epoch {epoch}: " + ", ".join(f"{k} {v}" for k, v in record.items() if k != "epoch"))
        if best is None or metrics[task.metrics[0]] > best[task.metrics[0]]:
            best = record
            best_state = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
            accelerator.wait_for_everyone()
            if accelerator.is_main_process:
                accelerator.unwrap_model(model).save_pretrained(str(tmp / "adapter"))
    test = None
    if test_loader is not None:  # scored after training: it cannot influence any choice
        test = {"last": evaluate(model, test_loader, task, test_rows, test_items, accelerator)}
        test["best"] = test["last"]
        if best is not history[-1]:  # put the selected epoch's weights back and score them too
            with torch.no_grad():
                for n, p in model.named_parameters():
                    if n in best_state:
                        p.copy_(best_state[n])
            test["best"] = evaluate(model, test_loader, task, test_rows, test_items, accelerator)
        log(f"seed {spec.seed} test ({len(test_rows)} rows): epoch {best['epoch']} (selected on validation) "
            + ", ".join(f"{k} {v}" for k, v in test["best"].items()))
    result = {"task": task.name, "seed": spec.seed, "metric": task.metrics[0], "best": best, "last": history[-1],
              "protocol": provenance.get("protocol"), "test": test, "test_rows": len(test_rows or []),
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
    # The device a run was trained on is history, not a requirement: reload on whatever is here.
    spec = TrainSpec.from_dict({**config["spec"], "device": "auto"})
    task = get_task(spec.task)
    encoder, tokenizer = load_encoder(spec.model, spec.dropout, spec.trust_remote_code, spec.pooling == "cls")
    base = PooledClassifier(encoder, head_size(task), spec.pooling, len(task.pooled_spans))
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
        data = load_corpus(provenance["pairs"], task=task_name)[0]
    else:
        source = provenance["source"]
        # A task file's own files are found again through the task (its location is the file).
        local = source["name"] == "local" and Path(source["location"]).is_dir()
        data = load_task_data(task_name, source["name"], source["location"] if local else None, log=log)[0]
    if provenance.get("evaluation"):  # trained with --eval-dir: its validation split
        evaluation = load_task_data(task_name, "local", provenance["evaluation"]["location"], log=log)[0]
        data = {**data, "validation": evaluation["validation"]}
    holdout = (provenance.get("protocol") or {}).get("holdout")
    if holdout:  # the same carve as in training: validation from train, the data's validation as test
        data = protocol_splits(get_task(task_name), data, holdout["fraction"], holdout["seed"], task_name)[0]
    return data


def evaluate_run(run: Path, split: str = "validation", data_dir=None, device: str = "auto", log=print) -> dict:
    spec, provenance, model, tokenizer = load_run(run)
    task = get_task(spec.task)
    data = run_data(task.name, provenance, data_dir, log=log)
    if split not in data or len(data[split]) == 0:
        raise PTPError(f"{run}: no {split} split to score (available: {', '.join(data)})")
    rows = data[split].to_list()
    check_rows(task, rows, split)
    accelerator = make_accelerator(device)
    rows, items = by_length(rows, encode_rows(tokenizer, task, rows, spec.max_length))
    loader = DataLoader(items, batch_size=64, collate_fn=Collator(tokenizer.pad_token_id, head_size(task)))
    model, loader = accelerator.prepare(model, loader)
    return evaluate(model, loader, task, rows, items, accelerator)
