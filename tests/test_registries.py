"""One record per regulariser and per recipe: the tables, the knob names and the stored layout
that keeps earlier run folders and caches valid."""
import pytest

from augment.common.errors import PTPError
from training.config import TrainSpec
from training.regularisers import REGULARISERS, Regulariser


def test_every_regulariser_is_one_record_whose_knobs_are_spec_fields_with_one_meaning():
    """Properties of every record, whatever records there are: its knobs are TrainSpec fields and
    ptp-train options with their declared default and help, a knob shared by several records is one
    knob, and its preset is a valid spec that ptp-pipeline offers."""
    from click.testing import CliRunner

    from pipelines.presets import PRESETS
    from training.cli import main
    from training.regularisers import KNOBS, Knob

    assert "none" in REGULARISERS and len(REGULARISERS) >= 2
    spec_fields = TrainSpec.__dataclass_fields__
    help_text = " ".join(CliRunner().invoke(main, ["--help"], terminal_width=400).output.split())
    for name, record in REGULARISERS.items():
        assert isinstance(record, Regulariser) and record.name == name
        assert name in help_text
        for knob in record.knobs:
            assert isinstance(knob, Knob) and KNOBS[knob.name] is knob or KNOBS[knob.name] == knob
            assert spec_fields[knob.name].default == knob.default and knob.flag in help_text
            assert getattr(TrainSpec(task="rte"), knob.name) == knob.default
            if knob.bound == "positive":  # the record's bound is the spec's check
                with pytest.raises(PTPError, match=f"{knob.flag} 0"):
                    TrainSpec(task="rte", **{knob.name: knob.type(0)})
        if record.preset:
            preset_name, settings = record.preset
            spec = TrainSpec(task="rte", **settings)  # every preset is a valid spec
            assert spec.embed_noise == settings.get("embed_noise", "none") and PRESETS[preset_name]["train"] == settings


def test_run_identity_is_one_rule_that_keeps_runs_from_before_knob_records(tmp_path):
    """Seed configs written by the code before knobs lived in their records (tests/fixtures/
    run-configs-2026-12-03, from a committed sweep's base) read back to the same identity: the
    same stored spec, `same_run` true, the same default run folder."""
    import json
    from pathlib import Path

    from training.config import FIRST_LAYOUT
    from training.loop import same_run

    configs = sorted((Path(__file__).parent / "fixtures" / "run-configs-2026-12-03").glob("*.json"))
    assert len(configs) == 5
    for path in configs:
        saved = json.loads(path.read_text())
        spec = TrainSpec.from_dict(saved["spec"])
        assert spec.to_dict() == saved["spec"], path.name
        assert same_run(saved, {"spec": spec.to_dict(), "provenance": saved["provenance"]})
        assert set(FIRST_LAYOUT) <= set(saved["spec"])
    # The rule: a field outside the first layout is stored only away from its default, a knob included.
    from training.regularisers import KNOBS

    later = [f for f in TrainSpec.__dataclass_fields__ if f not in FIRST_LAYOUT and f not in ("task_definition",)]
    assert {"grad_accum", "radii", "start_std", "adv_max_norm"} <= set(later)
    plain = TrainSpec(task="rte")
    for name in later:
        assert name not in plain.to_dict(), name
    assert TrainSpec(task="rte", grad_accum=2).to_dict()["grad_accum"] == 2
    moved = [n for n in later if n in KNOBS and not KNOBS[n].stored_as and KNOBS[n].type is float]
    for name in moved:  # a knob of a record set away from its default enters the identity
        value = KNOBS[name].default * 2 + 0.5
        assert TrainSpec(task="rte", **{name: value}).to_dict()[name] == value


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


def test_a_sweep_refuses_a_knob_its_method_does_not_read(tmp_path):
    """FreeLB's max norm was once stored as eps: sweeping eps for freelb would train one setting
    three times. The sweep reads which knobs the method's regulariser declares and says so."""
    from pipelines.presets import PRESETS
    from pipelines.experiment import Experiment
    from pipelines.sweep import sweep

    with pytest.raises(PTPError, match=r"--grid eps: freelb \(freelb\) does not read it; .*adv_max_norm"):
        sweep(Experiment("rte"), "freelb", PRESETS["freelb"], {"eps": [0.1, 0.2]}, [1], tmp_path / "s",
              TrainSpec(task="rte"))
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize("method,kind", [("prefix", "bert"), ("deep", "bert"), ("prompt", "bert"), ("prefix", "mpnet")])
def test_every_regulariser_takes_a_step_on_every_prompt_mechanism(tmp_path, method, kind):
    """Each record's preset, one step on a tiny BERT: a finite loss whose gradient reaches every
    trained parameter, with PEFT's prefix, the deep (layer-input) prompt and prompt tuning; and on
    a tiny MPNet with the key/value prefix joined to its attention (training/kv_prefix.py)."""
    import torch

    from tests.tiny_models import tiny_batch
    from training.objective import training_loss

    for name, record in REGULARISERS.items():
        settings = record.preset[1] if record.preset else {"embed_noise": name}
        model, embed, batch, spec = tiny_batch(tmp_path / kind, method=method, kind=kind, **settings)
        loss = training_loss(model, embed, batch, spec, torch.Generator().manual_seed(0))
        loss.total.backward()
        assert torch.isfinite(loss.total) and loss.finite, name
        trained = {n: p for n, p in model.named_parameters() if p.requires_grad}
        assert trained and all(p.grad is not None and p.grad.abs().sum() > 0 for p in trained.values()), name


def test_the_docs_table_of_regularisers_is_the_registry():
    from pathlib import Path

    from training.regularisers import markdown

    text = (Path(__file__).resolve().parents[1] / "docs" / "training.md").read_text()
    table = text.split("<!-- figure: regularisers -->\n")[1]
    assert table.split("<!-- /figure -->")[0].strip() == markdown(), \
        "docs/training.md's table is stale: regenerate it with `ptp-pipeline figures`"


def test_one_config_class_per_regulariser_refuses_bad_knobs_in_one_line():
    """training.regularisers.SAM, FreeLB, ...: one class per record, its fields the record's knobs
    plus weight and consistency; what it stands for is a valid TrainSpec; an unknown or out-of-
    bounds knob is refused in one line naming the class and its knobs."""
    import training.regularisers as regs

    for name, record in REGULARISERS.items():
        if name == "none":
            continue
        cls = getattr(regs, record.config)
        config = cls()
        assert config.knobs == {k.name: k.default for k in record.knobs} and config.weight == 1.0
        consistency = "kl" if record.reads_consistency else None
        spec = TrainSpec(task="rte", **cls(weight=0.5, consistency=consistency).settings())
        assert spec.embed_noise == name and spec.lam == 0.5 and spec.consistency == (consistency or "ce")
        with pytest.raises(PTPError, match=rf"^{record.config}: unknown knob nosuch; {record.config}'s knobs: "):
            cls(nosuch=1)
        for knob in record.knobs:
            if knob.bound == "positive":
                with pytest.raises(PTPError, match=rf"^{record.config}\({knob.name}=.*must be positive; .*'s knobs: "):
                    cls(**{knob.name: knob.type(0)})
            assert "\n" not in str(pytest.raises(PTPError, cls, **{knob.name: "x" if knob.type is not str else 1}).value)
    assert regs.SAM(rho=0.1) == regs.SAM(rho=0.1) != regs.SAM(rho=0.2)
    with pytest.raises(PTPError, match="weight"):
        regs.GaussianNoise(weight=-1)


def test_a_knob_cannot_shadow_a_setting():
    from training.config import unshadowed
    from training.regularisers import Knob

    assert unshadowed({"sigma": Knob("sigma", float, 0.1, "x")})
    for setting in ("lam", "dropout", "lr"):
        with pytest.raises(ValueError, match=f"{setting} named like a TrainSettings field"):
            unshadowed({setting: Knob(setting, float, 0.1, "x")})


def test_the_perturbed_term_is_added_to_the_clean_loss_with_its_weight(tmp_path):
    """For every regulariser that adds its term (all but SAM, whose term is the whole loss): the
    step's loss is CE(clean) + lambda * term, with a term that is not zero."""
    import torch

    from tests.tiny_models import tiny_batch
    from training.objective import training_loss

    checked = 0
    for name, record in REGULARISERS.items():
        if name == "none" or not record.adds_clean_loss:
            continue
        settings = {**record.preset[1], "lam": 0.5}
        model, embed, batch, spec = tiny_batch(tmp_path / "bert", **settings)
        loss = training_loss(model, embed, batch, spec, torch.Generator().manual_seed(0))
        assert loss.perturbed is not None and loss.perturbed.item() > 0, name
        assert loss.total.item() == pytest.approx(loss.clean.item() + 0.5 * loss.perturbed.item(), rel=1e-6), name
        checked += 1
    assert checked >= 4
