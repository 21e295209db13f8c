"""P-tuning v2's key/value prefix for encoders whose forward takes no past_key_values.

P-tuning v2 (Liu et al. 2022) gives every layer P trained keys and P trained values (2 x P x hidden
per layer, optionally produced by an MLP: `--prefix-projection`), joined in front of the
attention's own keys and values, with the attention mask extended over them. PEFT does this by
handing `past_key_values` to the model's forward, which MPNet, DeBERTa-v2/v3 and DistilBERT do not
take (transformers 4.57), so PEFT refuses them; P-tuning v2's own DeBERTa support is a modified copy
of the modelling file (THUDM/P-tuning-v2, model/debertaV2.py).

Why hand-written, and how: PEFT still makes the prefix (its PrefixTuningConfig and PrefixEncoder,
with the MLP, the initialisation, the freezing and the saving), and hands it to PooledClassifier as
its usual `past_key_values`; this module joins those tensors to the encoder's attention through the
model's own modules instead of a copied modelling file:
- a forward hook on the attention's key and value projections puts the layer's P keys (values) in
  front of the text's, in the projection's output layout, so the attention's own code splits the
  heads and takes the scores, softmax, dropout and weighted sum over P + T keys;
- a forward pre-hook on the attention extends the mask over the P prefix columns and pads a
  precomputed relative-position bias with zeros there;
- where the relative term is computed inside the attention from its keys (DeBERTa's c2p/p2c), that
  method is called with the text's keys only and its result padded with zeros for the prefix.
So the prefix gets no relative-position term (MPNet's bucketed bias, DeBERTa's c2p and p2c are zero
on the prefix columns, as in P-tuning v2's debertaV2.py) and the text keeps its own positions
(absolute position ids start at 0, unlike PEFT's prefix on BERT, whose past_key_values length
shifts them by P). Each reached attention class is listed in `_sites` with the argument names its
transformers version uses: tested on transformers 4.57.6 with peft 0.21.2 (tests/test_kv_prefix.py
checks it against PEFT's own prefix on BERT to 1e-5 and, per encoder, that a masked-out prefix
gives the bare encoder). A class not listed is refused with one line naming the model type.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch
from torch import nn

from augment.common.errors import PTPError

__all__ = ["KVPrefix", "attach_kv_prefix", "prefix_layers"]


@dataclass(frozen=True)
class Site:
    """How one attention class meets the prefix: its key and value projections (nn.Linear
    attributes), where its hidden states and mask arrive (position, keyword), whether its mask is
    additive (0 / large negative) or 1-to-attend, and its relative-position term: a precomputed bias
    argument padded with zeros, or a method called on the text's keys only."""
    keys: str
    values: str
    hidden: tuple[int, str]
    mask: tuple[int, str]
    additive_mask: bool = True
    bias: tuple[int, str] | None = None
    relative: str | None = None


def _sites() -> dict[type, Site]:
    from transformers.models.bert import modeling_bert as bert
    from transformers.models.deberta_v2 import modeling_deberta_v2 as deberta_v2
    from transformers.models.distilbert import modeling_distilbert as distilbert
    from transformers.models.mpnet import modeling_mpnet as mpnet

    bert_site = Site("key", "value", (0, "hidden_states"), (1, "attention_mask"))
    return {
        # BERT takes past_key_values (PEFT's prefix runs there); listed so that tests can hold this
        # mechanism against PEFT's on the same encoder.
        bert.BertSelfAttention: bert_site,
        bert.BertSdpaSelfAttention: bert_site,
        # MPNetSelfAttention(hidden_states, attention_mask, head_mask, position_bias): the bias is
        # MPNetEncoder's bucketed relative-position bias over (text, text).
        mpnet.MPNetSelfAttention: Site("k", "v", (0, "hidden_states"), (1, "attention_mask"),
                                       bias=(3, "position_bias")),
        # DisentangledSelfAttention(hidden_states, attention_mask, ...): a 1-to-attend (B, 1, T, T)
        # mask; c2p and p2c come from disentangled_attention_bias(query, key, relative_pos, ...).
        deberta_v2.DisentangledSelfAttention: Site("key_proj", "value_proj", (0, "hidden_states"),
                                                   (1, "attention_mask"), additive_mask=False,
                                                   relative="disentangled_attention_bias"),
        # The SDPA attention (transformers' default): an additive (B, 1, T, T) mask, or None. The
        # eager class takes a (B, T) mask whose length it reads from the keys' input: not listed.
        distilbert.DistilBertSdpaAttention: Site("k_lin", "v_lin", (0, "query"), (3, "mask")),
    }


def _get(args: list, kwargs: dict, where: tuple[int, str]):
    index, name = where
    return args[index] if len(args) > index else kwargs.get(name)


def _put(args: list, kwargs: dict, where: tuple[int, str], value) -> None:
    index, name = where
    if len(args) > index:
        args[index] = value
    else:
        kwargs[name] = value


def _attention_sites(layers: nn.ModuleList) -> list[tuple[nn.Module, Site]] | str:
    """One (attention, Site) per layer, or the reason there is none."""
    sites, found = _sites(), []
    for layer in layers:
        reached = [(m, sites[type(m)]) for m in layer.modules() if type(m) in sites]
        if len(reached) != 1:
            names = sorted({type(m).__name__ for m in layer.modules() if "attention" in type(m).__name__.lower()})
            return f"its attention ({', '.join(names) or 'none found'}) is not one training/kv_prefix.py knows"
        module = reached[0][0]
        if getattr(module, "position_embedding_type", "absolute") != "absolute":
            return f"its position_embedding_type '{module.position_embedding_type}' would give the prefix relative positions"
        found.append(reached[0])
    return found


def prefix_layers(past_key_values) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(keys, values) per layer, each (B, heads, P, head_dim), from what PEFT hands the model: a
    DynamicCache (transformers >= 4.56) or a tuple of pairs."""
    if hasattr(past_key_values, "layers"):
        return [(layer.keys, layer.values) for layer in past_key_values.layers]
    return [tuple(pair) for pair in past_key_values]


class KVPrefix:
    """The hooks that join a prefix to each layer's attention, and the prefix of the forward pass
    under way (`joined`). Not a Module: it holds no parameters (PEFT's prompt encoder does); the
    tensors it holds during a forward are whatever PEFT computed from them, so a functional_call
    that swaps the prompt's parameters (SAM, prompt noise) reaches the prefix as usual. The hooks
    are objects that hold this state, not closures: a deep copy of the model (an int8 victim)
    copies them with it and its hooks read the copy's state."""

    def __init__(self, sites: list[tuple[nn.Module, Site]]):
        self.keys: list[torch.Tensor] | None = None  # per layer: (B, P, hidden), the projection's layout
        self.values: list[torch.Tensor] | None = None
        self.prefix_mask: torch.Tensor | None = None  # (B, P), 1 = attend; None: every prefix position
        self.paused = False
        self.layers = len(sites)
        for index, (attention, site) in enumerate(sites):
            getattr(attention, site.keys).register_forward_hook(_Prepend(self, index, "keys"))
            getattr(attention, site.values).register_forward_hook(_Prepend(self, index, "values"))
            attention.register_forward_pre_hook(_Extend(self, site), with_kwargs=True)
            if site.relative:
                # An instance attribute shadows the class's method: the attention's forward calls it.
                setattr(attention, site.relative, _TextKeysOnly(self, getattr(attention, site.relative)))

    @property
    def length(self) -> int:
        return self.keys[0].shape[1]

    @contextlib.contextmanager
    def joined(self, layers: list[tuple[torch.Tensor, torch.Tensor]], prefix_mask: torch.Tensor | None):
        """Join a prefix ((keys, values) per layer, each (B, heads, P, head_dim): `prefix_layers`)
        to every layer during the block; `prefix_mask` (B, P) hides prefix positions where 0."""
        if len(layers) != self.layers:
            raise PTPError(f"the prefix has {len(layers)} layers, the encoder {self.layers}")
        flat = [[t.transpose(1, 2).flatten(2) for t in pair] for pair in layers]
        self.keys, self.values = [k for k, _ in flat], [v for _, v in flat]
        self.prefix_mask = None if prefix_mask is None or bool(prefix_mask.all()) else prefix_mask
        try:
            yield
        finally:
            self.keys = self.values = self.prefix_mask = None

    @property
    def active(self) -> bool:
        return self.keys is not None and not self.paused

    def mask(self, mask, hidden: torch.Tensor, additive: bool):
        """The text's mask with P prefix columns in front: visible unless `prefix_mask` hides them."""
        batch, length = hidden.shape[0], self.length
        visible = (self.prefix_mask if self.prefix_mask is not None
                   else hidden.new_ones(batch, length))[:, None, None, :]
        if additive:
            if mask is None:
                if self.prefix_mask is None:
                    return None  # nothing masked anywhere (SDPA without padding)
                mask = hidden.new_zeros(batch, 1, 1, hidden.shape[1])
            block = (1.0 - visible.to(mask.dtype)) * torch.finfo(mask.dtype).min
            block = block.expand(mask.shape[0], 1, mask.shape[2], length)
        else:
            # As P-tuning v2's DeBERTa: a query row that sees no text (padding) sees no prefix either.
            rows = mask.to(visible.dtype).amax(dim=-1, keepdim=True)
            block = rows * visible
        return torch.cat([block.to(mask.dtype), mask], dim=-1)


class _Prepend:
    """Forward hook on a key or value projection: the layer's P keys (values) before the text's."""

    def __init__(self, state: KVPrefix, index: int, kind: str):
        self.state, self.index, self.kind = state, index, kind

    def __call__(self, projection, inputs, output):
        if not self.state.active:
            return None
        prefix = getattr(self.state, self.kind)[self.index].to(output.dtype)
        return torch.cat([prefix, output], dim=1)


class _Extend:
    """Forward pre-hook on the attention: the mask over the prefix, zeros in a relative bias."""

    def __init__(self, state: KVPrefix, site: Site):
        self.state, self.site = state, site

    def __call__(self, attention, args, kwargs):
        if not self.state.active:
            return None
        site, args = self.site, list(args)
        mask = self.state.mask(_get(args, kwargs, site.mask), _get(args, kwargs, site.hidden), site.additive_mask)
        _put(args, kwargs, site.mask, mask)
        if site.bias is not None and _get(args, kwargs, site.bias) is not None:
            _put(args, kwargs, site.bias, nn.functional.pad(_get(args, kwargs, site.bias), (self.state.length, 0)))
        return tuple(args), kwargs


class _TextKeysOnly:
    """The attention's relative term (DeBERTa's c2p + p2c) on the text's keys, zero on the prefix."""

    def __init__(self, state: KVPrefix, relative):
        self.state, self.relative = state, relative

    def __call__(self, query_layer, key_layer, *args, **kwargs):
        if not self.state.active:
            return self.relative(query_layer, key_layer, *args, **kwargs)
        length = self.state.length
        self.state.paused = True  # DeBERTa-v3 projects positions with the key projection itself
        try:
            score = self.relative(query_layer, key_layer[:, length:], *args, **kwargs)
        finally:
            self.state.paused = False
        return nn.functional.pad(score, (length, 0))


def attach_kv_prefix(encoder, layers: nn.ModuleList, model: str) -> KVPrefix:
    """The hooks on every layer's attention, or one line naming the model type and the way out."""
    found = _attention_sites(layers)
    if isinstance(found, str):
        raise PTPError(f"--model {model}: --method prefix cannot join a key/value prefix to a "
                       f"'{encoder.config.model_type}' encoder ({found}); use --method deep (VPT-deep layer prompts)")
    return KVPrefix(found)
