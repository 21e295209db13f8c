"""One record per attack recipe: the table builds and robustness read, and the goal the search uses."""
import pytest

from augment.common.errors import PTPError


def test_every_recipe_is_one_record_used_by_builds_and_robustness():
    from augment.attack.recipes import RECIPES, UNAVAILABLE, parts
    from augment.attack.spec import AttackSpec

    assert set(RECIPES) == {"pwws", "deepwordbug", "a2t-wordnet-minilm"} and not set(RECIPES) & set(UNAVAILABLE)
    for name, recipe in RECIPES.items():
        assert AttackSpec(recipe=name).order == recipe.word_order
        transformation, pre, post = parts(0.25, name)
        assert len(pre) == 3 + len(recipe.pre()) and type(post[-1]).__name__ == "MaxWordsPerturbed"
        assert type(pre[-1]).__name__ == "ProtectedSpans"  # robustness appends the last one to stock recipes
        import textattack.attack_recipes as stock

        # robustness runs this stock recipe, or the recipe's own Attack of TextAttack's parts
        assert hasattr(stock, recipe.stock) if isinstance(recipe.stock, str) else callable(recipe.stock)
    with pytest.raises(PTPError, match="needs counter-fitted"):
        AttackSpec(recipe="textfooler")


def test_the_goal_is_an_object_with_a_noise_floor():
    import numpy as np

    from augment.attack.goal import MIN_GAIN, UntargetedClassification

    goal = UntargetedClassification()
    now = np.array([0.3, 0.7])
    assert goal.score(now, 1) == pytest.approx(0.3)
    assert not goal.improves(np.array([0.3 + MIN_GAIN / 2, 0.7 - MIN_GAIN / 2]), now, 1)  # float noise
    assert goal.improves(np.array([0.4, 0.6]), now, 1) and not goal.is_complete(np.array([0.4, 0.6]), 1)
    assert goal.is_complete(np.array([0.6, 0.4]), 1)
