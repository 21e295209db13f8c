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


def run_cli(group, args: list[str]) -> None:
    click.echo("$ " + " ".join([group.name or "", *args]))
    group.main(args=args, prog_name=group.name, standalone_mode=False)


def cached_floor(log) -> dict:
    from augment.resources import cache_dir
    from training.floor import cosine_floor

    path = cache_dir() / "floor_wic_minilm.json"
    if path.exists():
        return json.loads(path.read_text())
    result = cosine_floor(log=log)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result))
    return result


def demo(rows: int, epochs: int, out: Path, log=click.echo) -> dict:
    from augment.cli import main as augment_cli
    from training.cli import main as train_cli

    floor = cached_floor(log)
    log(f"zero-training floor (cosine of the word's vectors, MiniLM): {floor['validation_accuracy']}% validation")
    pairs = out / "wic_adv"
    run_cli(augment_cli, ["build", "--task", "wic", "--mode", "adversarial", "--limit", str(rows), "--out", str(pairs)])
    runs = {}
    for name, extra in (("vanilla", ["--consistency", "none"]), ("ptp-adv-text", [])):
        folder = out / "runs" / name
        run_cli(train_cli, ["--pairs", str(pairs), "--epochs", str(epochs), "--out", str(folder), *extra])
        runs[name] = json.loads((folder / "summary.json").read_text())["summary"]
    table = [("| method | best epoch | last epoch |"), ("|---|---|---|"),
             f"| zero-training floor | {floor['validation_accuracy']} | — |"]
    for name, summary in runs.items():
        table.append(f"| {name} | {summary['best']['accuracy']['mean']} | {summary['last']['accuracy']['mean']} |")
    log(f"\nWordNet-WiC validation accuracy (%), {rows} training pairs, {epochs} epochs, seed 1:")
    log("\n".join(table))
    return {"floor": floor, "runs": runs}
