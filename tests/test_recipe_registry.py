"""One record per attack recipe and per word order: properties of every record, whatever records
there are (the tables builds, robustness and the search read), and the goal the search uses."""
import importlib
import pkgutil
import re
from pathlib import Path

import numpy as np
import pytest

from augment.attack.recipes import RECIPES, UNAVAILABLE, Recipe, parts
from augment.attack.spec import AttackSpec
from augment.attack.word_orders import WORD_ORDERS, WordOrder
from augment.common.errors import PTPError

DOCS = Path(__file__).resolve().parents[1] / "docs"


def records(package, attribute: str) -> dict:
    """Each module of the package's own record: module name -> record."""
    out = {}
    for info in pkgutil.iter_modules(package.__path__):
        record = getattr(importlib.import_module(f"{package.__name__}.{info.name}"), attribute, None)
        if record is not None:
            out[info.name] = record
    return out


def help_text(main, *args) -> str:
    from click.testing import CliRunner

    return " ".join(CliRunner().invoke(main, [*args, "--help"], terminal_width=400).output.split())


def test_every_recipe_is_one_record_used_by_builds_and_robustness():
    import augment.attack.recipes as package
    from augment.attack.offline import textattack_offline
    from augment.cli import main as augment_main
    from pipelines.cli import main as pipeline_main

    with textattack_offline():  # NLTK's data resolved before TextAttack's import looks for it
        import textattack.attack_recipes as stock

    own = records(package, "RECIPE")
    assert RECIPES and sorted(r.name for r in own.values()) == sorted(RECIPES)  # each file's record, once
    assert not set(RECIPES) & set(UNAVAILABLE)
    build_help, robustness_help = help_text(augment_main, "build"), help_text(pipeline_main, "robustness")
    for name, recipe in RECIPES.items():
        assert isinstance(recipe, Recipe) and recipe.name == name and recipe.paper and recipe.edits
        assert recipe.word_order in WORD_ORDERS and AttackSpec(recipe=name).order == recipe.word_order
        transformation, pre, post = parts(0.25, name)
        assert len(pre) == 3 + len(recipe.pre()) and [type(c).__name__ for c in post[-2:]] == \
            ["MaxWordsPerturbed", "NoNewOffence"]
        assert type(pre[-1]).__name__ == "ProtectedSpans"  # robustness appends the last one to stock recipes
        # robustness runs this stock recipe, or the recipe's own Attack of TextAttack's parts
        assert hasattr(stock, recipe.stock) if isinstance(recipe.stock, str) else callable(recipe.stock)
        assert f"{name} ({recipe.edits})" in build_help and name in robustness_help
    for name, needs in UNAVAILABLE.items():
        with pytest.raises(PTPError, match=re.escape(f"--recipe {name}: needs {needs}")):
            AttackSpec(recipe=name)


def test_min_similarity_adds_the_shared_minilm_constraint_to_any_recipe():
    name = next(iter(RECIPES))
    *_, plain = parts(0.25, name)
    *_, post = parts(0.25, name, min_similarity=0.8)
    assert len(post) == len(plain) + 1 and type(post[-3]).__name__ == "UnmaskedSBERT" and post[-3].threshold == 0.8


def test_every_word_order_is_one_record_that_ranks_words_into_a_permutation():
    import augment.attack.word_orders as package
    from augment.cli import main

    own = records(package, "WORD_ORDER")
    assert WORD_ORDERS and sorted(o.name for o in own.values()) == sorted(WORD_ORDERS)
    build_help = help_text(main, "build")
    rng = np.random.default_rng(0)
    for name, order in WORD_ORDERS.items():
        assert isinstance(order, WordOrder) and order.name == name and order.summary
        assert AttackSpec(word_order=name).order == name and f"{name} ({order.summary}" in build_help
        for n in (1, 2, 7):
            drops, gains = rng.normal(0, 0.1, n), rng.uniform(0, 0.2, n)
            ranked = [int(k) for k in order.rank(drops, gains, 1e-4)]
            assert sorted(ranked) == list(range(n))
            if not order.needs_swaps:  # it is given no swap gains: it must not read them
                assert ranked == [int(k) for k in order.rank(drops, np.zeros(n), 1e-4)]
            assert [int(k) for k in order.rank(np.zeros(n), np.zeros(n), 1e-4)] == list(range(n))  # ties: word order
    with pytest.raises(PTPError, match="--word-order nope: choose one of " + ", ".join(WORD_ORDERS)):
        AttackSpec(word_order="nope")


def test_pwws_and_unk_orders_rank_as_the_search_did_before_word_order_records():
    """The ranks the search's own code gave (before the orders were records, 2026-12-03) on a
    hand-made example: ties, a negative drop, and a drop and gains below MIN_GAIN (1e-4), which
    count as none."""
    drops = np.array([0.2, 0.05, 0.3, 0.00005, 0.2, -0.1, 0.0])
    gains = np.array([0.1, 0.4, 0.00005, 0.3, 0.1, 0.2, 0.00009])
    assert [int(k) for k in WORD_ORDERS["weighted-saliency"].rank(drops, gains, 1e-4)] == [1, 3, 5, 0, 4, 2, 6]
    assert [int(k) for k in WORD_ORDERS["unk"].rank(drops, np.zeros(7), 1e-4)] == [2, 0, 4, 1, 3, 5, 6]


def test_docs_name_every_recipe_and_word_order():
    """The lists in the docs that cannot be generated: every registered name is there."""
    augment, experiments = (DOCS / "augment.md").read_text(), (DOCS / "experiments.md").read_text()
    assert set(re.search(r"--word-order ([\w|-]+)", augment).group(1).split("|")) == set(WORD_ORDERS)
    assert set(re.search(r"robustness RUN .*--recipe ([\w|-]+)", experiments).group(1).split("|")) == set(RECIPES)
    for name in RECIPES:
        assert f"`--recipe {name}`" in augment


def test_the_goal_is_an_object_with_a_noise_floor():
    from augment.attack.goal import MIN_GAIN, UntargetedClassification

    goal = UntargetedClassification()
    now = np.array([0.3, 0.7])
    assert goal.score(now, 1) == pytest.approx(0.3)
    assert not goal.improves(np.array([0.3 + MIN_GAIN / 2, 0.7 - MIN_GAIN / 2]), now, 1)  # float noise
    assert goal.improves(np.array([0.4, 0.6]), now, 1) and not goal.is_complete(np.array([0.4, 0.6]), 1)
    assert goal.is_complete(np.array([0.6, 0.4]), 1)
