"""Training and evaluation with accelerate: one seed per call, the loop readable on one screen.

Each step: task cross-entropy on the clean batch + lambda * consistency on its perturbed view
(the text-perturbed partner from a --pairs corpus and/or in-line embedding noise), the clean and
perturbed halves in one forward pass of the concatenated batch. A step whose loss or gradients
are not finite is skipped (and counted), never applied.
"""
from __future__ import annotations

import contextlib
import json
import shutil
import sys
import time
from pathlib import Path
from typing import NamedTuple

import torch
from torch.utils.data import DataLoader

from augment.common.atomic import replace_folder
from augment.common.errors import PTPError
from augment.common.tasks import get_task, gold as gold_outputs

from .config import TrainSpec
from .data import Collator, by_length, check_rows, encode_rows, flatten, head_size, length_order, scores
from .losses import consistency_loss, gold_cross_entropy, kl_from_target, smart_kl
from .metrics import task_metrics
from .model import build_peft_model, calibrate_span_heads, input_embeddings, load_encoder
from .perturb import RowNoise, freelb, gaussian_noise, pgd, smart

CALIBRATION_ROWS = 512


TRACKERS = ("auto", "tensorboard", "wandb", "none")


def tracker(track: str) -> str | None:
    """accelerate's tracker for --track: auto is TensorBoard when installed (offline), else none."""
    from accelerate.utils import is_tensorboard_available, is_wandb_available

    if track not in TRACKERS:
        raise PTPError(f"--track {track}: choose one of {', '.join(TRACKERS)}")
    if track == "auto":
        return "tensorboard" if is_tensorboard_available() else None
    if track == "tensorboard" and not is_tensorboard_available():
        raise PTPError("--track tensorboard: TensorBoard is not installed; pip install tensorboard")
    if track == "wandb" and not is_wandb_available():
        raise PTPError("--track wandb: W&B is not installed; pip install wandb (and wandb login, or WANDB_MODE=offline)")
    return None if track == "none" else track


def make_accelerator(device: str, split_batches: bool = True, track: str = "none", project_dir=None):
    from accelerate import Accelerator
    from accelerate.utils import DataLoaderConfiguration

    if device == "cuda" and not torch.cuda.is_available():
        raise PTPError("--device cuda: no CUDA device is available here; use --device auto or cpu")
    mixed = "bf16" if device != "cpu" and torch.cuda.is_available() and torch.cuda.is_bf16_supported() else "no"
    # split_batches: the global batch is --batch-size whatever the number of processes, so N
    # processes follow the same optimisation path as one.
    return Accelerator(cpu=device == "cpu", mixed_precision=mixed, log_with=tracker(track),
                       project_dir=None if project_dir is None else str(project_dir),
                       dataloader_config=DataLoaderConfiguration(split_batches=split_batches))


def encoder_inputs(view: dict) -> dict:
    return {"attention_mask": view["attention_mask"], "token_type_ids": view.get("token_type_ids"),
            "span_masks": view["span_masks"], "text_mask": view["attention_mask"]}


def _cat(a: dict, b: dict) -> dict:
    return {k: torch.cat([a[k], b[k]]) if a.get(k) is not None else None for k in a}


def uses_perturbation(spec: TrainSpec, batch: dict) -> bool:
    return spec.lam > 0 and spec.consistency != "none" and ("perturbed" in batch or spec.embed_noise != "none")


def flat_scores(model, flat: dict, valid, embeds=None) -> torch.Tensor:
    """[rows, outputs] scores of flattened candidates, from their ids or from given embeddings."""
    source = {"input_ids": flat["input_ids"]} if embeds is None else {"inputs_embeds": embeds}
    return scores(model(**source, **encoder_inputs(flat)).logits, valid)


def forward_scores(model, view: dict) -> torch.Tensor:
    """[rows, outputs] scores of a collated view (label logits, or one score per candidate)."""
    return flat_scores(model, flatten(view), view["valid"])


class Loss(NamedTuple):
    total: torch.Tensor
    clean: torch.Tensor
    perturbed: torch.Tensor | None  # the unweighted perturbed term; None without one
    finite: bool  # every ascent step of an adversarial term stayed finite


def training_loss(model, embed, batch: dict, spec: TrainSpec, generator) -> Loss:
    """CE(clean) + lambda * perturbed term, for one batch."""
    clean, gold = batch["clean"], batch["gold"]
    if not uses_perturbation(spec, batch):
        ce = gold_cross_entropy(forward_scores(model, clean), gold)
        return Loss(ce, ce, None, True)
    view = batch.get("perturbed", clean)
    flat_clean, flat_view = flatten(clean), flatten(view)
    emb, mask = embed(flat_view["input_ids"]), flat_view["attention_mask"]

    def view_scores(e):
        return flat_scores(model, flat_view, view["valid"], e)

    def loss(ce, term, finite=True):
        return Loss(ce + spec.lam * term, ce, term, finite)

    finite = True
    if spec.embed_noise == "freelb":
        # The K ascent points' losses keep their graphs; one backward accumulates all of them.
        clean_scores = forward_scores(model, clean)
        term, _, finite = freelb(emb, mask, lambda e: consistency_loss(spec.consistency, clean_scores, view_scores(e), gold),
                                 spec.init_mag, spec.step_size, spec.steps, spec.eps, spec.norm, generator)
        return loss(gold_cross_entropy(clean_scores, gold), term, finite)
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
    logits = model(inputs_embeds=both, **_cat(encoder_inputs(flat_clean), encoder_inputs(flat_view))).logits
    clean_logits, perturbed_logits = logits.split(flat_clean["input_ids"].shape[0])
    clean_scores, perturbed_scores = scores(clean_logits, clean["valid"]), scores(perturbed_logits, view["valid"])
    ce = gold_cross_entropy(clean_scores, gold)
    if spec.embed_noise == "smart":
        return loss(ce, smart_kl(clean_scores, perturbed_scores), finite)
    return loss(ce, consistency_loss(spec.consistency, clean_scores, perturbed_scores, gold), finite)


def rows_of(batch: dict, start: int, end: int) -> dict:
    """Rows [start, end) of a collated batch (every tensor is row-major)."""
    return {k: rows_of(v, start, end) if isinstance(v, dict) else v[start:end] for k, v in batch.items()}


def backward_in_chunks(model, embed, batch: dict, spec: TrainSpec, noise: RowNoise, step: int, accelerator) -> Loss:
    """Forward and backward of this process's share of one global batch, in `spec.grad_accum`
    chunks of rows, each loss weighted by its share of the rows: the gradient of the whole batch
    whatever the chunking, with less memory. By hand rather than `accelerator.accumulate`, which
    treats each loader batch as a micro-batch; here --batch-size stays the optimiser's batch."""
    rows = batch["gold"].shape[0]
    bounds = [(int(c[0]), int(c[-1]) + 1) for c in torch.arange(rows).tensor_split(min(spec.grad_accum, rows))]
    parts = []
    for i, (start, end) in enumerate(bounds):
        chunk = rows_of(batch, start, end)
        valid = chunk.get("perturbed", chunk["clean"])["valid"]
        noise.at(step, valid, accelerator.process_index * rows + start)  # the rows' own draws
        # Gradients are synchronised across processes once, on the last chunk.
        with accelerator.no_sync(model) if i < len(bounds) - 1 else contextlib.nullcontext():
            loss = training_loss(model, embed, chunk, spec, noise)
            accelerator.backward(loss.total * ((end - start) / rows))
        parts.append((loss, (end - start) / rows))

    def weighted(name):
        terms = [(getattr(p, name), w) for p, w in parts]
        return None if terms[0][0] is None else sum(t.detach().float() * w for t, w in terms)

    return Loss(weighted("total"), weighted("clean"), weighted("perturbed"), all(p.finite for p, _ in parts))


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
    return [rows[i] for i in few_shot_positions(task, rows, size, seed)]


def few_shot_positions(task, rows: list[dict], size: int, seed: int) -> list[int]:
    """The positions of few_shot_sample's rows, in order."""
    import random

    rng = random.Random(seed)
    if task.kind == "multirc":
        questions = sorted({r["question_id"] for r in rows})
        keep = set(rng.sample(questions, min(size, len(questions))))
        return [i for i, r in enumerate(rows) if r["question_id"] in keep]
    if task.kind == "record":
        return sorted(rng.sample(range(len(rows)), min(size, len(rows))))
    by_label: dict[int, list[int]] = {}
    for i, r in enumerate(rows):
        by_label.setdefault(r["label"], []).append(i)
    size = min(size, len(rows))
    # Largest-remainder allocation: each label gets its share of `size`, rounded to sum exactly.
    exact = {y: size * len(ids) / len(rows) for y, ids in by_label.items()}
    quota = {y: int(v) for y, v in exact.items()}
    for y in sorted(exact, key=lambda y: (quota[y] - exact[y], y))[:size - sum(quota.values())]:
        quota[y] += 1
    return sorted(i for y in sorted(by_label) for i in rng.sample(by_label[y], quota[y]))


def train_positions(spec: TrainSpec, source="auto", data_dir=None) -> list[int] | None:
    """Positions in the data's train split of the rows a few-shot run with `spec` trains on (its
    draw, then --max-train), so that a text corpus perturbs those rows only; None without a draw."""
    from augment.common.sources import load_task_data

    if spec.train_size is None:
        return None  # every row, or the first --max-train (a corpus's --limit)
    if spec.holdout is not None:
        raise PTPError("--train-size with --holdout and a text corpus: the corpus would be drawn before the "
                       "holdout carve; pass one of them (few-shot sets report on the data's own test split)")
    task = get_task(spec.task)
    train = load_task_data(task.name, source, data_dir, log=lambda *_: None)[0]["train"].to_list()
    positions = few_shot_positions(task, train, spec.train_size, spec.sample_seed)
    return positions if spec.max_train is None else positions[:spec.max_train]


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
    from augment.common.corpus import load_corpus
    from augment.common.sources import load_task_data

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


class Progress:
    """The loop's own state, checkpointed with the model after every epoch (accelerate saves
    objects registered for checkpointing through their state_dict)."""

    def __init__(self, shuffle: torch.Generator):
        self.shuffle, self.epoch, self.step, self.skipped = shuffle, 0, 0, 0
        self.history, self.best, self.best_state = [], None, None

    def state_dict(self) -> dict:
        return {"shuffle": self.shuffle.get_state(), "epoch": self.epoch, "step": self.step, "skipped": self.skipped,
                "history": self.history, "best": self.best, "best_state": self.best_state}

    def load_state_dict(self, state: dict) -> None:
        self.shuffle.set_state(state["shuffle"])
        for key in ("epoch", "step", "skipped", "history", "best", "best_state"):
            setattr(self, key, state[key])


def work_folder(out: Path) -> Path:
    """Where a seed trains: a hidden sibling of its folder, renamed into place when done."""
    return out.parent / f".{out.name}.partial"


def prepare_run(spec: TrainSpec, task, train_rows, val_rows, test_rows, with_pairs: bool, log):
    """Model, tokenizer, encoded rows, calibrated heads: everything the loop needs before step 1."""
    encoder, tokenizer = load_encoder(spec.model, spec.dropout, spec.trust_remote_code, spec.pooling == "cls")
    model = build_peft_model(encoder, head_size(task), spec.pooling, len(task.pooled_spans),
                             spec.method, spec.prefix_len, spec.prefix_projection)
    collate = Collator(tokenizer.pad_token_id, head_size(task))
    train_items = encode_rows(tokenizer, task, train_rows, spec.max_length, perturbed=with_pairs)
    val = by_length(val_rows, encode_rows(tokenizer, task, val_rows, spec.max_length))
    test = by_length(test_rows, encode_rows(tokenizer, task, test_rows, spec.max_length)) if test_rows else None
    calibration = calibrate_span_heads(model, [
        {"input_ids": flat["input_ids"], **encoder_inputs(flat)}
        for flat in (flatten(collate(train_items[i:i + 64])["clean"])
                     for i in range(0, min(len(train_items), CALIBRATION_ROWS), 64))],
        torch.tensor([it["gold"][0] for it in train_items[:CALIBRATION_ROWS]]))
    if calibration:
        log(f"seed {spec.seed}: span head calibrated on {min(len(train_items), CALIBRATION_ROWS)} train rows: {calibration}")
    return model, collate, train_items, val, test, calibration


def make_optimizer(model, spec: TrainSpec, steps: int):
    params = [p for p in model.parameters() if p.requires_grad]
    # The span head's calibrated threshold and scale: their own group without weight decay (a decay
    # would pull them toward 0, away from the calibrated rule). Trained, not frozen: on WordNet-WiC
    # (1,024 pairs, 2 epochs, seeds 1-3) frozen gave 65.86 mean validation accuracy, trained 66.21.
    calibrated = [p for n, p in model.named_parameters() if p.requires_grad and n.rsplit(".", 1)[-1] in ("threshold", "scale")]
    rest = [p for p in params if all(p is not c for c in calibrated)]
    optimizer = torch.optim.AdamW([{"params": rest, "weight_decay": spec.weight_decay},
                                   {"params": calibrated, "weight_decay": 0.0}], lr=spec.lr)
    from transformers import get_linear_schedule_with_warmup

    return params, optimizer, get_linear_schedule_with_warmup(optimizer, int(spec.warmup * steps), steps)


def resume_or_start(accelerator, work: Path, config: dict, resume: bool, log) -> bool:
    """Resume from `work`'s last epoch checkpoint when it was made with this very config; else
    start `work` afresh."""
    saved = work / "config.json"
    if resume and (work / "checkpoint").is_dir() and saved.is_file() and json.loads(saved.read_text()) == config:
        accelerator.load_state(str(work / "checkpoint"), strict=False)  # only trainable weights are saved
        return True
    if accelerator.is_main_process:
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        saved.write_text(json.dumps(config, indent=2))
    accelerator.wait_for_everyone()
    return False


def save_checkpoint(accelerator, work: Path) -> None:
    """The model's trainable weights, optimiser, scheduler, RNG states and Progress, written
    whole or not at all (a kill mid-save leaves the previous epoch's checkpoint)."""
    accelerator.save_state(str(work / "checkpoint-next"))
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        replace_folder(work / "checkpoint-next", work / "checkpoint")
    accelerator.wait_for_everyone()


def train_epoch(model, embed, batches, spec: TrainSpec, noise: RowNoise, params, optimizer, scheduler, accelerator,
                progress: Progress) -> tuple[list[float], list[float]]:
    """One pass over the batches: each step's loss and gradient norm (before clipping), and the
    tracker's per-step log. A step whose loss or gradients are not finite is skipped and counted."""
    model.train()
    losses, grad_norms = [], []
    for batch in batches:
        progress.step += 1
        loss = backward_in_chunks(model, embed, batch, spec, noise, progress.step, accelerator)
        bad = not (loss.finite and torch.isfinite(loss.total)) or any(
            p.grad is not None and not torch.isfinite(p.grad).all() for p in params)
        # Every process takes the same decision, and logs the loss of the whole global batch.
        terms = [loss.total, loss.clean, loss.perturbed if loss.perturbed is not None else loss.clean * 0]
        stats = accelerator.reduce(torch.stack([torch.tensor(float(bad))] + [t.detach().float().cpu() for t in terms])
                                   .to(accelerator.device), "mean").tolist()
        logged = {"train/lr": scheduler.get_last_lr()[0]}
        if stats[0] > 0:
            progress.skipped += 1
        else:
            if spec.max_grad_norm > 0:
                grad_norms.append(float(accelerator.clip_grad_norm_(params, spec.max_grad_norm)))
                logged["train/grad_norm"] = grad_norms[-1]
            optimizer.step()
            scheduler.step()
            losses.append(stats[1])
            logged.update({"train/loss": stats[1], "train/loss_clean": stats[2]})
            if loss.perturbed is not None:
                logged["train/loss_perturbed"] = stats[3]
        optimizer.zero_grad()
        accelerator.log({**logged, "train/skipped_steps": progress.skipped}, step=progress.step)
        if hasattr(batches, "set_postfix"):
            batches.set_postfix(loss=f"{losses[-1]:.4f}" if losses else "n/a", skipped=progress.skipped, refresh=False)
    return losses, grad_norms


def train_one_seed(spec: TrainSpec, out: Path, train_rows, val_rows, provenance: dict, test_rows=None,
                   log=print, track: str = "auto", resume: bool = True) -> dict:
    """Train one seed; write adapter/, config.json, metrics.json, log.txt (and logs/, the tracker's)
    into `out`.

    Validation selects the epoch whose adapter is kept ("best"); the test rows, when given, are
    scored once at that epoch and once at the last, never used to choose anything. The work is
    done in a hidden sibling folder with a checkpoint after every epoch: run again with the same
    settings, a killed seed resumes after its last completed epoch, with the same result."""
    from accelerate.utils import set_seed
    from tqdm.auto import tqdm

    task = get_task(spec.task)
    work = work_folder(out)
    config = {"spec": spec.to_dict(), "provenance": provenance}
    accelerator = make_accelerator(spec.device, track=track, project_dir=work)
    set_seed(spec.seed)
    with_pairs = provenance.get("pairs") is not None and spec.lam > 0 and spec.consistency != "none"
    model, collate, train_items, (val_rows, val_items), test, calibration = prepare_run(
        spec, task, train_rows, val_rows, test_rows, with_pairs, log)
    progress = Progress(torch.Generator().manual_seed(spec.seed))
    train_loader = DataLoader(train_items, batch_size=spec.batch_size, shuffle=True, collate_fn=collate,
                              generator=progress.shuffle)
    eval_loader = DataLoader(val_items, batch_size=64, collate_fn=collate)
    test_loader = DataLoader(test[1], batch_size=64, collate_fn=collate) if test else None
    params, optimizer, scheduler = make_optimizer(model, spec, spec.epochs * len(train_loader))  # split_batches: every process takes every step
    model, optimizer, train_loader, eval_loader, scheduler = accelerator.prepare(
        model, optimizer, train_loader, eval_loader, scheduler)
    test_loader = accelerator.prepare(test_loader) if test else None
    trainable = {n for n, p in accelerator.unwrap_model(model).named_parameters() if p.requires_grad}

    def trainable_only(models, weights, output_dir):  # the frozen encoder is never checkpointed
        for i, w in enumerate(weights):
            weights[i] = {k: v for k, v in w.items() if k.removeprefix("module.") in trainable}

    accelerator.register_save_state_pre_hook(trainable_only)
    accelerator.register_for_checkpointing(progress)
    if resume_or_start(accelerator, work, config, resume, log):
        log(f"seed {spec.seed}: resuming after epoch {progress.epoch} from the checkpoint in {work}")
    accelerator.init_trackers("logs", config=tracker_config(spec))
    embed = input_embeddings(accelerator.unwrap_model(model))
    noise = RowNoise(spec.seed, accelerator.device)  # per-row draws: N processes match one
    started = time.time() - (progress.history[-1]["seconds"] if progress.history else 0)

    for epoch in range(progress.epoch + 1, spec.epochs + 1):
        bar = tqdm(train_loader, desc=f"seed {spec.seed} epoch {epoch}/{spec.epochs}",
                   disable=not accelerator.is_local_main_process, leave=False,
                   mininterval=0.1 if sys.stderr.isatty() else 30)
        losses, grad_norms = train_epoch(model, embed, bar, spec, noise, params, optimizer, scheduler, accelerator,
                                         progress)
        metrics = evaluate(model, eval_loader, task, val_rows, val_items, accelerator)
        record = {"epoch": epoch, "train_loss": round(sum(losses) / max(len(losses), 1), 5), **metrics,
                  "seconds": round(time.time() - started, 1)}
        if grad_norms:  # before clipping: how often --max-grad-norm bites
            record["grad_norm"] = round(sum(grad_norms) / len(grad_norms), 4)
            record["clipped_steps"] = sum(g > spec.max_grad_norm for g in grad_norms)
        progress.history.append(record)
        accelerator.log({f"validation/{k}": v for k, v in metrics.items()}, step=progress.step)
        log(f"seed {spec.seed} epoch {epoch}: " + ", ".join(f"{k} {v}" for k, v in record.items() if k != "epoch"))
        if progress.best is None or metrics[task.metrics[0]] > progress.best[task.metrics[0]]:
            progress.best = record
            progress.best_state = {n: p.detach().cpu().clone() for n, p in model.named_parameters() if p.requires_grad}
        progress.epoch = epoch
        save_checkpoint(accelerator, work)

    test_scores = select_epoch(model, progress, test_loader, task, test, accelerator)
    best, history = progress.best, progress.history
    if test_scores:
        log(f"seed {spec.seed} test ({len(test[0])} rows): epoch {best['epoch']} (selected on validation) "
            + ", ".join(f"{k} {v}" for k, v in test_scores["best"].items()))
    result = {"task": task.name, "seed": spec.seed, "metric": task.metrics[0], "best": best, "last": history[-1],
              "protocol": provenance.get("protocol"), "test": test_scores, "test_rows": len(test_rows or []),
              "history": history, "skipped_steps": progress.skipped, "train_rows": len(train_rows),
              "validation_rows": len(val_rows), "processes": accelerator.num_processes,
              "device": str(accelerator.device), "mixed_precision": accelerator.mixed_precision,
              "seconds": round(time.time() - started, 1), "adapter_epoch": best["epoch"],
              "calibration": calibration}
    save_run(accelerator, model, result, work, out)
    return result


def select_epoch(model, progress: Progress, test_loader, task, test, accelerator) -> dict | None:
    """Put the validation-selected epoch's weights back (the adapter saved is that epoch's) and,
    with test rows, score test at the last epoch and at the selected one. Test is scored after
    training, so it cannot influence any choice."""
    selected_last = progress.best["epoch"] == progress.history[-1]["epoch"]
    scores = {"last": evaluate(model, test_loader, task, *test, accelerator)} if test else None
    if not selected_last:
        with torch.no_grad():
            for n, p in model.named_parameters():
                if n in progress.best_state:
                    p.copy_(progress.best_state[n].to(p.device))
    if test:
        scores["best"] = scores["last"] if selected_last else evaluate(model, test_loader, task, *test, accelerator)
    return scores


def save_run(accelerator, model, result: dict, work: Path, out: Path) -> None:
    """The adapter, metrics and epoch log into the work folder, which then becomes `out`."""
    for logger in accelerator.trackers:  # not end_training(): it ends the process group, and more seeds follow
        logger.finish()
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        accelerator.unwrap_model(model).save_pretrained(str(work / "adapter"))
        (work / "metrics.json").write_text(json.dumps(result, indent=2))
        (work / "log.txt").write_text("\n".join(json.dumps(h) for h in result["history"]) + "\n")
        shutil.rmtree(work / "checkpoint")
        replace_folder(work, out)
    accelerator.wait_for_everyone()


def tracker_config(spec: TrainSpec) -> dict:
    """The run's settings as trackers take them (TensorBoard's hparams want plain scalars)."""
    return {k: v if isinstance(v, (int, float, str, bool)) else str(v)
            for k, v in spec.to_dict().items() if k != "task_definition"}


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
    from augment.common.corpus import load_corpus
    from augment.common.sources import load_task_data

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


def predict_split(run: Path, split: str, data_dir=None, device: str = "auto", labelled: bool = True,
                  log=print) -> tuple:
    """(task, rows, items, predictions) of a trained run on one split of its data, or of official
    files (`data_dir`), in the split's order. Scored shortest first (little padding); `labelled`:
    the rows must carry labels (scoring), else not (leaderboard test files)."""
    spec, provenance, model, tokenizer = load_run(run)
    task = get_task(spec.task)
    data = run_data(task.name, provenance, data_dir, log=log)
    if split not in data or len(data[split]) == 0:
        raise PTPError(f"{run}: no {split} split to {'score' if labelled else 'predict'} (available: "
                       f"{', '.join(data)})" + ("" if labelled else "; pass --data-dir with the official files"))
    rows = data[split].to_list()
    if labelled:
        check_rows(task, rows, split)
    accelerator = make_accelerator(device)
    items = encode_rows(tokenizer, task, rows, spec.max_length)
    order = length_order(items)
    loader = DataLoader([items[i] for i in order], batch_size=64,
                        collate_fn=Collator(tokenizer.pad_token_id, head_size(task)))
    model, loader = accelerator.prepare(model, loader)
    preds = [0] * len(rows)
    for i, pred in zip(order, predict(model, loader, accelerator)):
        preds[i] = pred
    return task, rows, items, preds


def evaluate_run(run: Path, split: str = "validation", data_dir=None, device: str = "auto", log=print) -> dict:
    task, rows, items, preds = predict_split(run, split, data_dir, device, log=log)
    return task_metrics(task, rows, preds, [it["names"] for it in items])
