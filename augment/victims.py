"""Where an adversarial build finds its victim, without stage 1 importing stage 2.

A victim provider is registered under the entry-point group `ptp.victims` (setup.py registers
the trainer's as `ptp-train`). A provider is a module with two functions:

    resolve(victim, task, log, source, data_dir, eval_dir) -> (location, identity)
        a run folder, HF checkpoint or None (the provider's default victim, trained if missing),
        and a short identity string that becomes part of the corpus fingerprint;
    load(location, task, device) -> an object with predict_proba(examples) and unk_token.

Entry points rather than an import keep the dependency one way (augment <- training). The
commands always use the default, `ptp-train`; `provider(NAME)` loads another provider
registered in the group.
"""
from __future__ import annotations

import importlib.metadata

from .common.errors import PTPError

GROUP = "ptp.victims"
DEFAULT = "ptp-train"


def provider(name: str = DEFAULT):
    points = {p.name: p for p in importlib.metadata.entry_points(group=GROUP)}
    if name not in points:
        have = ", ".join(sorted(points)) or "none"
        raise PTPError(f"no victim provider '{name}' is installed (entry-point group {GROUP}: {have}); "
                       "reinstall this project with `pip install -e .` or install the package that provides it")
    return points[name].load()
