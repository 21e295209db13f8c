"""One table from names to records, read from the modules of a package: the way regularisers
(training/regularisers/), attack recipes (augment/attack/recipes/) and word orders
(augment/attack/word_orders/) are registered.

Each module defines one record under a fixed attribute name (`REGULARISER`, `RECIPE`, `WORD_ORDER`) with a
`name`; `collect` imports the package's modules in name order and refuses a name twice. Nothing
registers itself on import: the table is built in one place, from the files that are there.
"""
from __future__ import annotations

import importlib
import pkgutil


def collect(package: str, path, attribute: str) -> dict:
    out: dict = {}
    for info in sorted(pkgutil.iter_modules(path), key=lambda m: m.name):
        record = getattr(importlib.import_module(f"{package}.{info.name}"), attribute, None)
        if record is None:
            continue
        if record.name in out:
            raise ValueError(f"{package}: '{record.name}' is defined twice ({info.name})")
        out[record.name] = record
    return out
