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
