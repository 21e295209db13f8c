"""Named methods for experiments, defined in one place: which corpus (if any) and which trainer
settings each uses. Users add presets with a JSON file: {"name": {"pairs": ..., "train": {...}}};
`ptp-pipeline sweep --presets-out FILE` writes such entries (with an `about` record of the sweep).

The built-in settings are starting points, not tuned ones: under the claim protocol, every
method's knobs (vanilla's learning rate included) are chosen by a sweep on validation."""
from __future__ import annotations

import json
from pathlib import Path

from augment.common.errors import PTPError

PRESETS: dict[str, dict] = {
    # Vanilla P-tuning v2 (deep prefix), no perturbed term.
    "vanilla": {"pairs": None, "train": {"consistency": "none"}},
    # PTP-RN: Gaussian noise on the input embeddings (the paper's random embedding perturbation).
    # sigma 0.02 per coordinate is about a third of a MiniLM token embedding's norm (per-coordinate
    # std 0.059, norm 1.13); 0.01 left training unchanged in a first 3-seed run (docs/results-before-protocol.md).
    "rn-embed": {"pairs": None, "train": {"embed_noise": "gaussian", "sigma": 0.02}},
    # PTP-ADV: one PGD step on the input embeddings, l2 radius 0.1 per example (an example of ~30
    # MiniLM tokens has norm ~6). A radius of 0.5 took WordNet-WiC to 53-57% (docs/results-before-protocol.md).
    "adv-embed": {"pairs": None, "train": {"embed_noise": "pgd", "eps": 0.1, "step_size": 0.1}},
    # FreeLB (Zhu et al. 2020): its GLUE settings are K=2-3, adv-lr 0.1-0.2 (l2), init-mag 0.1-0.6,
    # no max norm, on BERT/RoBERTa embeddings of norm ~1-1.5 per token (MiniLM: ~1.1).
    "freelb": {"pairs": None, "train": {"embed_noise": "freelb", "steps": 2, "step_size": 0.1, "init_mag": 0.3,
                                        "eps": 0.0}},
    # SMART (Jiang et al. 2020): noise std 1e-5, one step of 1e-3 normalised by the inf-norm,
    # symmetric KL to the clean prediction (lambda_s 1 in mt-dnn's examples).
    "smart": {"pairs": None, "train": {"embed_noise": "smart", "consistency": "kl", "sigma": 1e-5,
                                       "step_size": 1e-3, "steps": 1, "norm": "linf"}},
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
        presets[name] = {"pairs": preset.get("pairs"), "train": preset.get("train", {})}
    return presets


def pick(names: list[str], presets: dict[str, dict]) -> dict[str, dict]:
    unknown = [n for n in names if n not in presets]
    if unknown:
        raise PTPError(f"unknown method(s) {', '.join(unknown)}: choose from {', '.join(presets)}")
    return {n: presets[n] for n in names}
