"""Trained runs, reloaded: a run folder back into its spec, model and data, and its predictions
on any split (evaluate, predict, victims, landscape and robustness all start here)."""
from __future__ import annotations

import json
from pathlib import Path

from torch.utils.data import DataLoader

from augment.common.errors import PTPError
from augment.common.tasks import get_task

from .config import TrainSpec
from .data import Collator, check_rows, encode_rows, head_size, length_order
from .loop import make_accelerator
from .metrics import task_metrics
from .model import load_encoder
from .objective import predict
from .protocol import protocol_splits


def saved_method(run: Path, method: str) -> str:
    """The method whose adapter the run saved. Before training/kv_prefix.py, `--method prefix` on an
    encoder without past_key_values (MPNet, DeBERTa, DistilBERT) ran the VPT-deep prompt: its
    adapter (prompt tuning plus `layer_prompts`) still reloads as `deep`."""
    path = Path(run) / "adapter" / "adapter_config.json"
    config = json.loads(path.read_text()) if path.is_file() else {}
    return "deep" if method == "prefix" and "layer_prompts" in (config.get("modules_to_save") or []) else method


def load_run(run: Path):
    """A trained run folder -> (spec, provenance, PEFT model, tokenizer), via plain PEFT loading."""
    from peft import PeftModel

    from .model import base_model

    run = Path(run)
    config_path = run / "config.json"
    if not config_path.is_file() or not (run / "adapter").is_dir():
        raise PTPError(f"{run}: not a ptp-train run folder (needs config.json and adapter/)")
    config = json.loads(config_path.read_text())
    # The device a run was trained on is history, not a requirement: reload on whatever is here.
    spec = TrainSpec.from_dict({**config["spec"], "device": "auto"})
    task = get_task(spec.task)
    encoder, tokenizer = load_encoder(spec.model, spec.dropout, spec.trust_remote_code, spec.pooling == "cls")
    base = base_model(encoder, head_size(task), spec.pooling, len(task.pooled_spans), saved_method(run, spec.method),
                      spec.prefix_len)
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
    accelerator = make_accelerator(device, spec.precision)
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
