"""Victims for the adversarial search: a ptp-train run, any HF sequence classifier, or the default.

A victim maps task examples to class probabilities in batches (`predict_proba`) and names its
tokenizer's unknown token (`unk_token`, for PWWS's leave-one-out saliency). Inputs reach it
through the task's template, the same text the trainer saw.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from augment.common.errors import PTPError
from augment.common.tasks import get_task

from .config import TrainSpec
from .data import Collator, encode_rows, head_size, render

# The default victim: vanilla prefix tuning on the task with the packaged encoder, trained once
# per task and cached. Two epochs keep its first training within the demo's budget on 2 cores.
DEFAULT_VICTIM = {"epochs": 2}


def _device(device: str) -> torch.device:
    if device == "cuda" and not torch.cuda.is_available():
        raise PTPError("--device cuda: no CUDA device is available here; use --device auto or cpu")
    if device == "cpu" or not torch.cuda.is_available():
        return torch.device("cpu")
    # Sharded builds (torchrun): each process attacks with its own GPU.
    return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")) % torch.cuda.device_count())


class _TokenIds:
    """`token_ids(word)`: the ids the victim's tokenizer gives a word (the search skips swaps that
    leave them unchanged, e.g. a case variant under an uncased tokenizer)."""

    def token_ids(self, word: str) -> tuple:
        memo = self.__dict__.setdefault("_token_memo", {})
        if word not in memo:
            memo[word] = tuple(self.tokenizer(word, add_special_tokens=False)["input_ids"])
        return memo[word]


class _Lowered:
    """`lowered(precision)`: a copy of the victim whose forward pass runs cheaper, for the
    adversarial search (augment.attack.spec.PRECISIONS; the fp32 victim confirms its successes):
    bf16 autocast, as the trainer's bf16 (GPUs, and CPUs with bf16 units; the pooling and head stay
    fp32), or int8 dynamically quantised Linear layers (CPU)."""

    bf16 = False

    def autocast(self):
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16)

    def lowered(self, precision: str):
        import copy

        if precision == "fp32":
            return self
        low = copy.copy(self)
        if precision == "bf16":
            low.bf16 = True
        elif precision == "int8":
            if self.device.type != "cpu":
                raise PTPError("--search-precision int8: dynamic quantisation runs on CPU only; use bf16 on a GPU")
            low.model = torch.ao.quantization.quantize_dynamic(copy.deepcopy(self.model), {torch.nn.Linear},
                                                               dtype=torch.qint8)
        else:
            raise PTPError(f"--search-precision {precision}: choose fp32, bf16 or int8")
        return low


class RunVictim(_TokenIds, _Lowered):
    """A ptp-train run folder (seed-N, or a run folder: its first seed)."""

    def __init__(self, run: Path, device: str = "auto"):
        from .reload import load_run

        self.spec, self.provenance, model, self.tokenizer = load_run(run)
        self.task = get_task(self.spec.task)
        self.device = _device(device)
        self.model = model.to(self.device).eval()
        self.unk_token = self.tokenizer.unk_token
        self.collate = Collator(self.tokenizer.pad_token_id, head_size(self.task))

    @torch.no_grad()
    def predict_proba(self, examples: list[dict]) -> list[np.ndarray]:
        """Per example, probabilities over its outputs (labels, COPA's choices, ReCoRD's entities)."""
        from .objective import forward_scores

        items = encode_rows(self.tokenizer, self.task, [{**e, "label": max(e.get("label", 0), 0)} for e in examples],
                            self.spec.max_length)
        batch = self.collate(items)
        clean = {k: v.to(self.device) for k, v in batch["clean"].items()}
        with self.autocast():
            probs = torch.softmax(forward_scores(self.model, clean), -1).cpu().numpy()
        return [p[:len(it["names"])] if head_size(self.task) == 1 else p for p, it in zip(probs, items)]


class HFVictim(_TokenIds, _Lowered):
    """Any local Hugging Face sequence-classification checkpoint, fed the task's template."""

    def __init__(self, path: Path, task: str, device: str = "auto", max_length: int = 128):
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        try:
            self.model = AutoModelForSequenceClassification.from_pretrained(str(path))
            self.tokenizer = AutoTokenizer.from_pretrained(str(path))
        except (OSError, ValueError) as err:
            raise PTPError(f"--victim {path}: not a sequence-classification checkpoint ({str(err).splitlines()[0]})") from None
        self.task = get_task(task)
        if head_size(self.task) == 1:
            raise PTPError(f"--victim {path}: an HF classification checkpoint cannot score {task}'s candidates; "
                           "pass a ptp-train run folder trained on the task")
        if self.model.config.num_labels != self.task.num_labels:
            raise PTPError(f"--victim {path}: has {self.model.config.num_labels} labels, {task} has {self.task.num_labels}")
        self.device = _device(device)
        self.model.to(self.device).eval()
        self.unk_token, self.max_length = self.tokenizer.unk_token, max_length

    @torch.no_grad()
    def predict_proba(self, examples: list[dict]) -> np.ndarray:
        segments = [render(self.task, e)[0] for e in examples]
        enc = self.tokenizer(*zip(*segments), padding=True, truncation=True, max_length=self.max_length,
                             return_tensors="pt").to(self.device)
        with self.autocast():
            return torch.softmax(self.model(**enc).logits.float(), -1).cpu().numpy()


def _file_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*.safetensors")) + sorted(folder.rglob("*.bin")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def default_victim_spec(task: str) -> TrainSpec:
    return replace(TrainSpec(task=task), **DEFAULT_VICTIM)


def default_victim_dir(task: str, source: str = "auto", data_dir=None, eval_dir=None) -> Path:
    """Cached per task, spec and data: a victim trained on other data is never reused."""
    from augment.common.corpus import fingerprint_of
    from augment.common.resources import cache_dir

    from .protocol import data_identity

    data = data_identity(task, None, source, data_dir, eval_dir)
    key = fingerprint_of({"spec": default_victim_spec(task).to_dict(), "data": data})
    return cache_dir() / "victims" / f"{task}_{data['source']}_{key[:12]}"


def resolve_victim(victim: str | None, task: str, log=print, source: str = "auto", data_dir=None,
                   eval_dir=None) -> tuple[Path, str]:
    """(folder, identity) of the victim. The default is trained here on first use, on the data the
    build attacks (its source, --data-dir and --eval-dir), and cached under that data's fingerprint."""
    if victim is None:
        out = default_victim_dir(task, source, data_dir, eval_dir)
        seed_dir = out / "seed-1"
        if not (seed_dir / "metrics.json").exists():
            from .protocol import open_data
            from .runs import run_seeds

            where = f"--data-dir {data_dir}" if data_dir is not None else f"source {source}"
            log(f"no --victim: training the default victim (vanilla prefix tuning on {task}, {where}) into {out}; "
                "later builds on the same data reuse it")
            data = open_data(task, source=source, data_dir=data_dir, eval_dir=eval_dir, log=log)
            run_seeds(default_victim_spec(task), [1], data, out=out, log=log)
        else:
            log(f"victim: the default for {task} on this data, cached at {seed_dir}")
        return seed_dir, f"default:{out.name}:{_file_digest(seed_dir)}"
    path = Path(victim)
    if not path.exists():
        raise PTPError(f"--victim {victim}: not found; pass a ptp-train run folder or a local HF checkpoint")
    from .runs import seed_folders

    path = seed_folders(path)[0]  # a multi-seed run: its first seed
    return path, f"{path.resolve()}:{_file_digest(path)}"


def load_victim(path: Path, task: str, device: str = "auto"):
    if (path / "adapter").is_dir():
        victim = RunVictim(path, device)
        if victim.task.name != task:
            raise PTPError(f"--victim {path}: trained on {victim.task.name}, not {task}")
        return victim
    if (path / "config.json").is_file():
        return HFVictim(path, task, device)
    raise PTPError(f"--victim {path}: neither a ptp-train run (adapter/) nor an HF checkpoint (config.json)")


# The victim-provider interface stage 1 finds through the `ptp.victims` entry point
# (augment/victims.py), so that augment never imports this package.
resolve = resolve_victim
load = load_victim
