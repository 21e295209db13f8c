"""TextAttack's stock Attacker with the stock recipe of one of ours (augment/attack/recipes: `stock`) against a
model: accuracy under attack, success rate.

Every task with a fixed set of outputs (all but ReCoRD). TextAttack hands the model wrapper only the
attacked texts, so each example carries one extra column holding a placeholder word with its row
number, which the stock recipe is told not to touch (the protected-span constraint, which also
keeps WiC's and WSC's masked spans intact); the wrapper reads the row from it, drops it, and puts
the example back together (protected spans and their offsets, fields that are not attacked)
before the victim sees it. The marker adds one word to MaxWordsPerturbed's count.
"""
from __future__ import annotations

import time

from augment.attack.offline import textattack_offline
from augment.attack.recipes import RECIPES, parts
from augment.attack.search import attacked_text, restore_example
from augment.protect import PLACEHOLDER


def _letters(n: int) -> str:
    out, n = "", n + 1
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(65 + r) + out
    return out


def _number(letters: str) -> int:
    return sum((ord(c) - 64) * 26 ** k for k, c in enumerate(reversed(letters))) - 1


def textattack_attack(task, rows: list[dict], victim, recipe: str = "pwws") -> dict:
    """Run TextAttack's Attacker with a stock recipe on `rows`; counts, rates, queries and time."""
    if task.kind == "record":
        from augment.common.errors import PTPError

        raise PTPError("robustness: TextAttack's classification goal needs a fixed set of outputs; ReCoRD's "
                       "candidates differ per query (use ptp-augment --mode adversarial, whose manifest "
                       "reports the success rate)")
    import numpy as np

    if recipe not in RECIPES:
        from augment.common.errors import PTPError

        raise PTPError(f"--recipe {recipe}: choose one of {', '.join(RECIPES)}")
    _, pre, _ = parts(1.0)
    import textattack
    import textattack.attack_recipes as recipes

    masked, infos = [], []
    for i, ex in enumerate(rows):
        attacked, ranges, meta = attacked_text(task, ex)
        masked.append((tuple(attacked._text_input.values()) + (f"{PLACEHOLDER}{_letters(i)}",), ex["label"]))
        infos.append((ex, ranges, meta))

    class Fields:
        def __init__(self, texts):
            self._text_input = dict(zip(task.perturbable, texts))

    class Wrapper(textattack.models.wrappers.ModelWrapper):
        model = victim

        def __call__(self, text_inputs):
            examples = []
            for texts in text_inputs:
                *fields, marker = texts
                ex, ranges, meta = infos[_number(marker[len(PLACEHOLDER):])]
                examples.append(restore_example(task, ex, Fields(fields), ranges, meta) or ex)
            return np.stack(victim.predict_proba(examples))

    with textattack_offline():  # PWWS builds WordSwapWordNet, which calls nltk.download
        stock = RECIPES[recipe].stock
        attack = getattr(recipes, stock).build(Wrapper()) if isinstance(stock, str) else stock(Wrapper())
    attack.pre_transformation_constraints.append(pre[-1])  # the protected-span constraint
    dataset = textattack.datasets.Dataset(masked, input_columns=[*task.perturbable, "row"])
    args = textattack.AttackArgs(num_examples=len(rows), disable_stdout=True, silent=True)
    start = time.perf_counter()
    results = textattack.Attacker(attack, dataset, args).attack_dataset()
    seconds = time.perf_counter() - start
    kinds = [type(r).__name__.replace("AttackResult", "").lower() for r in results]
    n, ok, failed = len(kinds), kinds.count("successful"), kinds.count("failed")
    return {"recipe": stock if isinstance(stock, str) else f"{recipe} (TextAttack's parts)", "rows": n, "seconds": round(seconds, 1), "queries": sum(r.num_queries for r in results),
            "statuses": {k: kinds.count(k) for k in ("successful", "failed", "skipped")},
            "original_accuracy": round(100 * (n - kinds.count("skipped")) / max(n, 1), 2),
            "accuracy_under_attack": round(100 * failed / max(n, 1), 2),
            "attack_success_rate": round(100 * ok / max(ok + failed, 1), 2)}
