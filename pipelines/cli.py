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
@debug_option
def demo(rows, epochs, out):
    """The main job on the embedded defaults: adversarial corpus, vanilla vs PTP, a small table."""
    from .demo import demo as run_demo

    run_demo(rows, epochs, Path(out))


if __name__ == "__main__":
    main()
