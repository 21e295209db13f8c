"""`ptp-pipeline`: experiments that chain both stages."""
from __future__ import annotations

from pathlib import Path

import click

from augment.errors import FriendlyGroup, debug_option


@click.group(cls=FriendlyGroup)
@debug_option
def main():
    """Experiments chaining ptp-augment and ptp-train."""


@main.command()
@click.option("--rows", type=int, default=256, show_default=True, help="training pairs to attack and train on")
@click.option("--epochs", type=int, default=3, show_default=True)
@click.option("--out", type=click.Path(), default="data/demo", show_default=True)
@click.option("--data-dir", type=click.Path(), default=None, help="official WiC files instead of WordNet-WiC")
@click.option("--model", default="minilm", show_default=True, help="encoder for the floor and the trained runs")
@click.option("--victim", default=None, help="victim run folder [default: the cached default victim]")
@debug_option
def demo(rows, epochs, out, data_dir, model, victim):
    """The main job on the embedded defaults: adversarial corpus, vanilla vs PTP, a small table."""
    from .demo import demo as run_demo

    if rows < 1 or epochs < 1:
        from augment.errors import PTPError

        raise PTPError("--rows and --epochs must be at least 1")
    run_demo(rows, epochs, Path(out), data_dir=data_dir, model=model, victim=victim)


if __name__ == "__main__":
    main()
