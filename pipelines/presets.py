"""Named methods for experiments, defined in one place: which corpus (if any) and which trainer
settings each uses. Users add presets with a JSON file: {"name": {"pairs": ..., "train": {...}}};
`ptp-pipeline sweep --presets-out FILE` writes such entries (with an `about` record of the sweep).

The built-in settings are starting points, not tuned ones: under the claim protocol, every
method's knobs (vanilla's learning rate included) are chosen by a sweep on validation."""
from __future__ import annotations

import json
from pathlib import Path

from augment.common.errors import PTPError

from training.config import upgrade
from training.regularisers import REGULARISERS

# Embedding-space methods: each regulariser's own preset (training/regularisers/), vanilla first.
_EMBEDDING = {name: {"pairs": None, "train": settings}
              for name, settings in sorted((r.preset for r in REGULARISERS.values() if r.preset),
                                           key=lambda p: p[0] != "vanilla")}
PRESETS: dict[str, dict] = {
    **_EMBEDDING,
    # Text space: random edits (synonym swap, deletion) / PWWS adversarial partners.
    "rn-text": {"pairs": {"mode": "random"}, "train": {}},
    "adv-text": {"pairs": {"mode": "adversarial"}, "train": {}},
}


def load_presets(config: str | None = None) -> dict[str, dict]:
    presets = dict(PRESETS)
    if config is None:
        return presets
    path = Path(config)
    try:
        extra = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise PTPError(f"{path}: cannot read presets ({err}); expected a JSON object of name -> preset") from None
    for name, preset in extra.items():
        if name in presets:
            raise PTPError(f"{path}: preset '{name}' is already defined; choose another name")
        if not isinstance(preset, dict) or set(preset) - {"pairs", "train", "about"}:
            raise PTPError(f"{path}: preset '{name}' must be an object with 'pairs' and/or 'train' (and 'about')")
        # Files written before FreeLB's max norm and SMART's start had names of their own still read.
        presets[name] = {"pairs": preset.get("pairs"), "train": upgrade(preset.get("train", {}))}
    return presets


def pick(names: list[str], presets: dict[str, dict]) -> dict[str, dict]:
    unknown = [n for n in names if n not in presets]
    if unknown:
        raise PTPError(f"unknown method(s) {', '.join(unknown)}: choose from {', '.join(presets)}")
    return {n: presets[n] for n in names}
