"""Stage 1 as objects (augment/perturbers.py): the same partners, byte for byte, as the corpus
`ptp-augment build` saves for the same settings."""
import datasets
import pytest

from augment.build import build_corpus
from augment.perturbers import AdversarialPerturber, RandomPerturber
from augment.random_ops import RandomSpec
from augment.common.sources import load_task_data


def _same(pairs, saved):
    assert pairs.column_names == saved.column_names
    assert pairs.to_list() == saved.to_list()


def test_random_perturber_equals_the_built_corpus(tmp_path, fixtures):
    spec = RandomSpec(rate=0.3, variants=2)
    build_corpus(RandomPerturber("rte", spec, seed=4), out=tmp_path / "c", source="local", data_dir=fixtures / "RTE",
                 log=lambda *_: None)
    saved = datasets.load_from_disk(str(tmp_path / "c"))["train"]
    train = load_task_data("rte", "local", fixtures / "RTE", log=lambda *_: None)[0]["train"]
    _same(RandomPerturber("rte", spec, seed=4).perturb(train), saved)
    _same(RandomPerturber("rte", spec, seed=4, num_proc=2).perturb(train), saved)
    assert RandomPerturber("rte", spec, seed=5).perturb(train).to_list() != saved.to_list()


def test_random_perturber_takes_texts_where_the_task_has_one_field():
    texts = ["A fine, moving film about grief.", "The plot drags, but the acting is superb!"]
    out = RandomPerturber("sentiment", RandomSpec(rate=0.5), seed=1).perturb(texts)
    assert len(out) == 2 and out != texts and out == RandomPerturber("sentiment", RandomSpec(rate=0.5), seed=1).perturb(texts)
    from augment.common.errors import PTPError

    with pytest.raises(PTPError, match="pass a Dataset"):
        RandomPerturber("rte").perturb(["a text"])


def test_adversarial_perturber_equals_the_built_corpus(tmp_path, fixtures):
    from augment.attack.spec import AttackSpec
    from augment.common.tasks import get_task
    from tests.test_adversarial import KeywordVictim

    spec = AttackSpec(max_change=0.5)
    victim = KeywordVictim(get_task("wic"))
    build_corpus(AdversarialPerturber("wic", victim, spec, log=lambda *_: None), out=tmp_path / "c", source="local",
                 data_dir=fixtures, log=lambda *_: None)
    saved = datasets.load_from_disk(str(tmp_path / "c"))["train"]
    train = load_task_data("wic", "local", fixtures, log=lambda *_: None)[0]["train"]
    pairs = AdversarialPerturber("wic", victim, spec, log=lambda *_: None).perturb(train)
    _same(pairs, saved)
    assert any(p["attack"]["status"] == "successful" for p in pairs)
