"""One record per regulariser and per recipe: the tables, the knob names and the stored layout
that keeps earlier run folders and caches valid."""
import pytest

from augment.common.errors import PTPError
from training.config import TrainSpec
from training.regularisers import REGULARISERS, Regulariser


def test_every_regulariser_is_one_record_whose_knobs_and_preset_are_trainspec_settings():
    fields = set(TrainSpec.__dataclass_fields__)
    assert set(REGULARISERS) == {"none", "gaussian", "pgd", "freelb", "smart"}
    for name, record in REGULARISERS.items():
        assert isinstance(record, Regulariser) and record.name == name
        assert set(record.knobs) <= fields, name
        preset_name, settings = record.preset
        spec = TrainSpec(task="rte", **settings)  # every preset is a valid spec
        assert spec.embed_noise == settings.get("embed_noise", "none")


def test_the_spec_offers_exactly_the_registered_regularisers():
    with pytest.raises(PTPError, match="choose one of " + ", ".join(REGULARISERS)):
        TrainSpec(task="rte", embed_noise="vat")


def test_each_knob_has_one_meaning_and_old_run_files_still_read():
    """FreeLB's max norm was --eps and SMART's start --sigma: the spec refuses the old flag with its
    new name, and a stored config (which keeps the old field) reads back to the same spec."""
    with pytest.raises(PTPError, match="--eps is not a freelb knob.*--adv-max-norm"):
        TrainSpec(task="rte", embed_noise="freelb", eps=0.3)
    with pytest.raises(PTPError, match="--sigma is not a smart knob.*--start-std"):
        TrainSpec(task="rte", embed_noise="smart", consistency="kl", sigma=1e-5)
    freelb = TrainSpec(task="rte", embed_noise="freelb", adv_max_norm=0.3)
    stored = freelb.to_dict()
    assert stored["eps"] == 0.3 and "adv_max_norm" not in stored  # the layout earlier runs were hashed in
    assert TrainSpec.from_dict(stored) == freelb
    smart = TrainSpec(task="rte", embed_noise="smart", consistency="kl", start_std=1e-5)
    assert smart.to_dict()["sigma"] == 1e-5 and TrainSpec.from_dict(smart.to_dict()) == smart
    # A vanilla or Gaussian spec stores exactly the fields it always did.
    assert set(TrainSpec(task="rte").to_dict()) == set(TrainSpec(task="rte", embed_noise="gaussian").to_dict())
    assert not {"adv_max_norm", "start_std"} & set(TrainSpec(task="rte").to_dict())


def test_a_preset_file_written_before_the_split_still_loads(tmp_path):
    import json

    from pipelines.presets import load_presets

    path = tmp_path / "presets.json"
    path.write_text(json.dumps({"freelb-tuned": {"pairs": None, "train": {"embed_noise": "freelb", "eps": 0.0,
                                                                          "step_size": 0.1}}}))
    train = load_presets(str(path))["freelb-tuned"]["train"]
    assert train["adv_max_norm"] == 0.0 and "eps" not in train
    TrainSpec(task="rte", **train)


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
