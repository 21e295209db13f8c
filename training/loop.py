"""Training with accelerate: one seed per call, the loop readable on one screen (`train_one_seed`).

Around it: the accelerator, the optimiser, epoch checkpoints that a killed seed resumes from, the
validation-selected epoch, and the run folder written whole. The loss of a step is
objective.training_loss; which rows are trained on is protocol.load_training_data's.
A step whose loss or gradients are not finite is skipped (and counted), never applied.
"""
from __future__ import annotations

import json
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from augment.common.atomic import replace_file, replace_folder
from augment.common.errors import PTPError
from augment.common.tasks import get_task

from .config import TrainSpec
from .data import Collator, by_length, encode_rows, flatten, head_size
from .model import build_peft_model, calibrate_span_heads, input_embeddings, load_encoder, prompt_mechanism
from .objective import backward_in_chunks, encoder_inputs, evaluate
from .perturb import RowNoise

CALIBRATION_ROWS = 512



TRACKERS = ("auto", "tensorboard", "wandb", "none")



# The CPU flags that decide which bf16/fp32 kernels torch runs (so which numbers a seed gives).
ARITHMETIC_FLAGS = ("avx2", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16", "amx_tile", "amx_int8")


def code_commit() -> str | None:
    """The commit of this checkout ('+' when it has uncommitted changes), or None outside git."""
    root = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=root,
                              timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                               text=True, cwd=root, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    if head.returncode != 0:
        return None
    return head.stdout.strip() + ("+" if dirty.stdout.strip() else "")


def hardware() -> dict:
    """The arithmetic a run's numbers came from. The same seed gives other numbers on another CPU
    (measured: an MPNet bf16 seed scores 58.18 on an AVX2 EPYC and 65.30 on an AMX Xeon), so a run
    records its CPU, the flags that pick its kernels (AMX, AVX-512 BF16), the vector instructions
    torch dispatches to, torch's version and the code's commit; runs pooled from several machines
    can then be told apart."""
    cpu, flags = platform.processor(), []
    try:
        info = open("/proc/cpuinfo").read().splitlines()
        cpu = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
        present = set(next(line.split(":", 1)[1].split() for line in info if line.startswith("flags")))
        flags = [flag for flag in ARITHMETIC_FLAGS if flag in present]
    except (OSError, StopIteration):
        pass
    return {"cpu": cpu, "cpu_flags": flags, "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
            "torch": torch.__version__, "commit": code_commit()}


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



def make_accelerator(device: str, precision: str = "auto", split_batches: bool = True, track: str = "none",
                     project_dir=None):
    from accelerate import Accelerator
    from accelerate.state import AcceleratorState
    from accelerate.utils import DataLoaderConfiguration

    if device == "cuda" and not torch.cuda.is_available():
        raise PTPError("--device cuda: no CUDA device is available here; use --device auto or cpu")
    gpu_bf16 = device != "cpu" and torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    mixed = "bf16" if precision == "bf16" or (precision == "auto" and gpu_bf16) else "no"
    state = AcceleratorState._shared_state
    if state and state.get("_mixed_precision") not in (None, mixed):
        # accelerate keeps one precision per process, and one process may run several (a sweep, a
        # reload after training): forget it, keeping the process group (PartialState).
        AcceleratorState._reset_state()
    # split_batches: the global batch is --batch-size whatever the number of processes, so N
    # processes follow the same optimisation path as one.
    return Accelerator(cpu=device == "cpu", mixed_precision=mixed, log_with=tracker(track),
                       project_dir=None if project_dir is None else str(project_dir),
                       dataloader_config=DataLoaderConfiguration(split_batches=split_batches))



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
    mechanism = prompt_mechanism(encoder, spec.method)
    if mechanism != spec.method:
        log(f"seed {spec.seed}: a '{encoder.config.model_type}' encoder's forward takes no past_key_values: PEFT's "
            "prefix is joined to its attention by training/kv_prefix.py (mechanism kv-prefix)")
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
    return model, collate, train_items, val, test, calibration, mechanism



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



def same_run(saved: dict, config: dict) -> bool:
    """Whether a seed saved with `saved` ({spec, provenance}) is the run `config` would make, so
    that it may be reused when finished or resumed when killed. A corpus is known by its
    fingerprint (its task, rows, parameters, seed and source), not by its folder: a run folder
    merged or moved with its corpus keeps its seeds."""
    recorded, now = saved.get("provenance") or {}, config["provenance"]
    if recorded.get("corpus_fingerprint") and recorded["corpus_fingerprint"] == now.get("corpus_fingerprint"):
        recorded = {**recorded, "pairs": now.get("pairs")}
    return saved.get("spec") == config["spec"] and recorded == now


def record_config(path: Path, config: dict) -> None:
    """Write a seed's config.json, also after `same_run` (its corpus may lie elsewhere now), in one
    rename: another process reading it meanwhile sees the old file or the new, never half."""
    text = json.dumps(config, indent=2)
    if not path.is_file() or path.read_text() != text:
        replace_file(path, text)


def resume_or_start(accelerator, work: Path, config: dict, resume: bool, log, mechanism: str = "") -> bool:
    """Resume from `work`'s last epoch checkpoint when it was made for this same run, with the same
    prompt mechanism (`mechanism`: a checkpoint of another is another run, though its spec be the
    same: before training/kv_prefix.py, --method prefix ran VPT-deep on MPNet, DeBERTa and
    DistilBERT, and a checkpoint from then records no mechanism); else start `work` afresh."""
    saved = work / "config.json"
    recorded = (work / "mechanism").read_text().strip() if (work / "mechanism").is_file() else None
    same_mechanism = recorded == mechanism or (recorded is None and mechanism != "kv-prefix")
    if resume and (work / "checkpoint").is_dir() and saved.is_file() and same_run(json.loads(saved.read_text()), config):
        if same_mechanism:
            accelerator.load_state(str(work / "checkpoint"), strict=False)  # only trainable weights are saved
            if accelerator.is_main_process:
                record_config(saved, config)
            return True
        log(f"{work}: its checkpoint ran the {recorded or 'VPT-deep (unrecorded)'} mechanism, this run {mechanism}: "
            "starting over")
    if accelerator.is_main_process:
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        record_config(saved, config)
        if mechanism:
            (work / "mechanism").write_text(mechanism + "\n")
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
    accelerator = make_accelerator(spec.device, spec.precision, track=track, project_dir=work)
    set_seed(spec.seed)
    with_pairs = provenance.get("pairs") is not None and spec.lam > 0 and spec.consistency != "none"
    model, collate, train_items, (val_rows, val_items), test, calibration, mechanism = prepare_run(
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
    if resume_or_start(accelerator, work, config, resume, log, mechanism):
        log(f"seed {spec.seed}: resuming after epoch {progress.epoch} from the checkpoint in {work}")
    accelerator.init_trackers("logs", config=tracker_config(spec))
    embed = input_embeddings(accelerator.unwrap_model(model))
    step_spec, radii = spec.absolute_radii(embed.weight)  # --radii relative: the sizes the steps use
    if radii:
        log(f"seed {spec.seed}: relative radii {radii['relative']} x the token-embedding unit {radii['unit']} "
            f"= {radii['absolute']}")
    noise = RowNoise(spec.seed, accelerator.device)  # per-row draws: N processes match one
    started = time.time() - (progress.history[-1]["seconds"] if progress.history else 0)

    for epoch in range(progress.epoch + 1, spec.epochs + 1):
        bar = tqdm(train_loader, desc=f"seed {spec.seed} epoch {epoch}/{spec.epochs}",
                   disable=not accelerator.is_local_main_process, leave=False,
                   mininterval=0.1 if sys.stderr.isatty() else 30)
        losses, grad_norms = train_epoch(model, embed, bar, step_spec, noise, params, optimizer, scheduler, accelerator,
                                         progress)
        # Validation every --eval-every epochs and at the last: only those epochs can be selected.
        scored = epoch % spec.eval_every == 0 or epoch == spec.epochs
        metrics = evaluate(model, eval_loader, task, val_rows, val_items, accelerator) if scored else {}
        record = {"epoch": epoch, "train_loss": round(sum(losses) / max(len(losses), 1), 5), **metrics,
                  "seconds": round(time.time() - started, 1)}
        if grad_norms:  # before clipping: how often --max-grad-norm bites
            record["grad_norm"] = round(sum(grad_norms) / len(grad_norms), 4)
            record["clipped_steps"] = sum(g > spec.max_grad_norm for g in grad_norms)
        progress.history.append(record)
        accelerator.log({f"validation/{k}": v for k, v in metrics.items()}, step=progress.step)
        log(f"seed {spec.seed} epoch {epoch}: " + ", ".join(f"{k} {v}" for k, v in record.items() if k != "epoch"))
        if scored and (progress.best is None or metrics[task.metrics[0]] > progress.best[task.metrics[0]]):
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
              "calibration": calibration, "mechanism": mechanism, "hardware": hardware(),
              **({"radii": radii} if radii else {})}
    save_run(accelerator, model, result, work, out)
    return result



def select_epoch(model, progress: Progress, test_loader, task, test, accelerator) -> dict | None:
    """Put the validation-selected epoch's weights back (the adapter saved is that epoch's) and,
    with test rows, score test at the last epoch and at the selected one. Test is scored after
    training, so it cannot influence any choice."""
    selected_last = progress.best["epoch"] == progress.history[-1]["epoch"]
    shares = {"last": {}, "best": {}}
    scores = {"last": evaluate(model, test_loader, task, *test, accelerator, shares["last"])} if test else None
    if not selected_last:
        with torch.no_grad():
            for n, p in model.named_parameters():
                if n in progress.best_state:
                    p.copy_(progress.best_state[n].to(p.device))
    if test:
        if selected_last:
            scores["best"], shares["best"] = scores["last"], shares["last"]
        else:
            scores["best"] = evaluate(model, test_loader, task, *test, accelerator, shares["best"])
        # How much of test each epoch's model put in one class (collapse: pipelines read it).
        scores["one_class_share"] = {k: v.get("one_class") for k, v in shares.items()}
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

