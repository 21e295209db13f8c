"""Named methods for experiments, defined in one place: which corpus (if any) and which trainer
settings each uses. Users add presets with a JSON file: {"name": {"pairs": ..., "train": {...}}}."""
from __future__ import annotations

import json
from pathlib import Path

from augment.errors import PTPError

PRESETS: dict[str, dict] = {
    # Vanilla P-tuning v2 (deep prefix), no perturbed term.
    "vanilla": {"pairs": None, "train": {"consistency": "none"}},
    # PTP-RN: Gaussian noise on the input embeddings (the paper's random embedding perturbation).
    # sigma 0.02 per coordinate is about a third of a MiniLM token embedding's norm (per-coordinate
    # std 0.059, norm 1.13); 0.01 left training unchanged in a first 3-seed run (README).
    "rn-embed": {"pairs": None, "train": {"embed_noise": "gaussian", "sigma": 0.02}},
    # PTP-ADV: one PGD step on the input embeddings, l2 radius 0.1 per example (an example of ~30
    # MiniLM tokens has norm ~6). A radius of 0.5 took WordNet-WiC to 53-57% (README).
    "adv-embed": {"pairs": None, "train": {"embed_noise": "pgd", "eps": 0.1, "step_size": 0.1}},
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
        if not isinstance(preset, dict) or set(preset) - {"pairs", "train"}:
            raise PTPError(f"{path}: preset '{name}' must be an object with 'pairs' and/or 'train'")
        presets[name] = {"pairs": preset.get("pairs"), "train": preset.get("train", {})}
    return presets


def pick(names: list[str], presets: dict[str, dict]) -> dict[str, dict]:
    unknown = [n for n in names if n not in presets]
    if unknown:
        raise PTPError(f"unknown method(s) {', '.join(unknown)}: choose from {', '.join(presets)}")
    return {n: presets[n] for n in names}
