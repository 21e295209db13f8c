"""The demo: the main job on the embedded defaults, end to end, as the commands a user types.

1. WordNet-WiC and its zero-training floor;
2. `ptp-augment build --task wic --mode adversarial --limit N` (trains the default victim once);
3. `ptp-train --pairs data/wic_adv --consistency none` (vanilla on the same originals) and
   `ptp-train --pairs data/wic_adv` (PTP: CE on originals + CE on their adversarial partners);
4. a small comparison table: floor, vanilla, PTP (validation accuracy, best and last epoch).
Every step reuses what an earlier run cached, so a second demo is quick.
"""
from __future__ import annotations

import json
from pathlib import Path

import click


def run_cli(group, name: str, args: list[str]) -> None:
    """Run one step as the user would type it; stop the demo at the first step that fails."""
    from augment.errors import PTPError

    click.echo("$ " + " ".join([name, *args]))
    code = group.main(args=args, prog_name=name, standalone_mode=False)
    if code:  # the step has printed its own one-line error
        raise PTPError(f"the demo stopped: `{name} {' '.join(args[:3])} ...` exited with code {code} (see above)")


def cached_floor(model: str, data_dir, log) -> dict:
    from augment.corpus import fingerprint_of
    from augment.resources import cache_dir
    from training.floor import cosine_floor
    from training.runs import data_identity

    data = data_identity("wic", data_dir=data_dir)  # the same data key as run names and victim caches
    key = fingerprint_of({"model": model, "data": data})
    path = cache_dir() / "floors" / f"wic_{data['source']}_{key}.json"
    if path.exists():
        return json.loads(path.read_text())
    result = cosine_floor(model=model, data_dir=data_dir, log=log)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result))
    return result


def demo(rows: int, epochs: int, out: Path, data_dir=None, model: str = "minilm", victim=None,
         log=click.echo) -> dict:
    from augment.cli import main as augment_cli
    from training.cli import main as train_cli

    floor = cached_floor(model, data_dir, log)
    log(f"zero-training floor (cosine of the word's vectors, MiniLM): {floor['validation_accuracy']}% validation")
    pairs = out / "wic_adv"
    source = ["--data-dir", str(data_dir)] if data_dir else []
    run_cli(augment_cli, "ptp-augment", ["build", "--task", "wic", "--mode", "adversarial", "--limit", str(rows),
                                         "--out", str(pairs), *source, *(["--victim", str(victim)] if victim else [])])
    runs = {}
    for name, extra in (("vanilla", ["--consistency", "none"]), ("ptp-adv-text", [])):
        folder = out / "runs" / name
        run_cli(train_cli, "ptp-train", ["--pairs", str(pairs), "--epochs", str(epochs), "--out", str(folder),
                                         "--model", model, *extra])
        runs[name] = json.loads((folder / "summary.json").read_text())["summary"]
    table = [("| method | best epoch | last epoch |"), ("|---|---|---|"),
             f"| zero-training floor | {floor['validation_accuracy']} | — |"]
    for name, summary in runs.items():
        table.append(f"| {name} | {summary['best']['accuracy']['mean']} | {summary['last']['accuracy']['mean']} |")
    log(f"\nWordNet-WiC validation accuracy (%), {rows} training pairs, {epochs} epochs, seed 1:")
    log("\n".join(table))
    return {"floor": floor, "runs": runs}
