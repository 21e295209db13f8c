"""The settings of an adversarial build (`ptp-augment build --mode adversarial`)."""
from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass

from ..common.errors import PTPError
from .recipes import RECIPES, UNAVAILABLE
from .word_orders import WORD_ORDERS

STATUSES = ("successful", "failed", "skipped")
# The victim's precision during the search. A cheaper forward (bf16 on a GPU, int8 on a CPU) ranks
# words and proposes swaps; the fp32 victim decides which examples are attacked and every success.
PRECISIONS = ("fp32", "bf16", "int8")
TEXT_VERSION = 7


def _order_help(order) -> str:
    users = [r.name for r in RECIPES.values() if r.word_order == order.name]
    return f"{order.name} ({order.summary}{'; the order of ' + ', '.join(users) if users else ''})"


@dataclass(frozen=True)
class AttackSpec:
    recipe: str = dataclasses.field(default="pwws", metadata={
        "help": "adversarial: " + " | ".join(f"{r.name} ({r.edits})" for r in RECIPES.values())})
    query_budget: int | None = dataclasses.field(default=None, metadata={"help": "adversarial: max victim queries per example"})
    max_change: float = dataclasses.field(default=0.25, metadata={"help": "adversarial: max fraction of words changed"})
    keep_failed: bool = dataclasses.field(default=True, metadata={
        "off_flag": "drop-failed", "help": "adversarial: keep a failed attack's best perturbation, or drop the row"})
    victim: str = ""  # the victim's identity (path + weights digest): part of the fingerprint
    batch_size: int = dataclasses.field(default=64, metadata={"help": "adversarial: victim batch size"})
    word_order: str = dataclasses.field(default="", metadata={
        "help": "adversarial: how the search orders words: " + " | ".join(map(_order_help, WORD_ORDERS.values()))
                + " [default: the recipe's own]"})
    search_precision: str = dataclasses.field(default="fp32", metadata={
        "help": "adversarial: the victim's precision while searching: fp32 | bf16 (GPUs) | int8 (CPU, "
                "dynamic quantisation); every success is confirmed by the fp32 victim"})
    min_similarity: float | None = dataclasses.field(default=None, metadata={
        "help": "adversarial: also keep the partner's MiniLM sentence embedding within this cosine of the "
                "original's (a2t-wordnet-minilm's constraint, 0.9 there), for any recipe"})
    chunk_rows: int = 64  # checkpoint every N rows

    def __post_init__(self):
        if self.recipe not in RECIPES:
            if self.recipe in UNAVAILABLE:
                raise PTPError(f"--recipe {self.recipe}: needs {UNAVAILABLE[self.recipe]}, which is not available "
                               f"here; use one of {', '.join(RECIPES)}")
            raise PTPError(f"unknown recipe '{self.recipe}': choose one of {', '.join(RECIPES)}")
        if not 0 < self.max_change <= 1:
            raise PTPError(f"--max-change {self.max_change}: must be a fraction of words in (0, 1]")
        if self.query_budget is not None and self.query_budget < 1:
            raise PTPError(f"--query-budget {self.query_budget}: must be at least 1")
        if self.batch_size < 1:
            raise PTPError(f"--batch-size {self.batch_size}: must be at least 1")
        if self.word_order not in ("", *WORD_ORDERS):
            raise PTPError(f"--word-order {self.word_order}: choose one of {', '.join(WORD_ORDERS)}")
        if self.min_similarity is not None and not 0 < self.min_similarity <= 1:
            raise PTPError(f"--min-similarity {self.min_similarity}: must be a cosine in (0, 1], e.g. 0.9")
        if self.search_precision not in PRECISIONS:
            raise PTPError(f"--search-precision {self.search_precision}: choose one of {', '.join(PRECISIONS)}")

    @property
    def order(self) -> str:
        return self.word_order or RECIPES[self.recipe].word_order

    def to_dict(self) -> dict:
        out = asdict(self)
        # 2: markup, URLs and abbreviations kept out of the search; 3: words with a curly apostrophe
        # too (both 2026-12-02); 4: names inside sentences too, and the original's whitespace kept
        # (2026-12-02); 5: the rule random mode shares (protect.kept_out: acronyms that open a
        # sentence, a title's small words, an opener before a name; 2026-12-04); 6: multi-word
        # expressions kept whole, no swap two words longer, no new offensive word (#56, 2026-12-07);
        # 7: the WordNet recipes' swaps keep their word's sense in context (augment/sense.py), and a
        # word's own base form is no swap ("hours" -> "hour").
        # Earlier corpora rebuild.
        out["text_version"] = TEXT_VERSION
        out.pop("chunk_rows")
        out.pop("word_order")
        if self.min_similarity is None:
            out.pop("min_similarity")  # corpora built before the option keep their fingerprints
        if self.order != RECIPES[self.recipe].word_order:
            out["word_order"] = self.order  # the recipe's own order keeps older corpora's fingerprints
        if self.search_precision == "fp32":
            out.pop("search_precision")  # corpora built before the option keep their fingerprints
            out.pop("batch_size")  # speed only: does not change the output
        # At bf16 or int8 the scores carry more than MIN_GAIN of padding noise, so the batch
        # size does change the output: it stays in the fingerprint.
        return out

