"""Attack recipes: one file each, one record each, one table from names to records.

A recipe is what TextAttack's attack_recipes/ module of the same paper builds, minus the goal and
the search (goal.py, search.py): its transformation, its own constraints, the word order its
greedy search uses, and the stock TextAttack recipe it corresponds to (which `ptp-pipeline
robustness` runs through TextAttack's own Attacker). Each module of this package defines one,
named `RECIPE`; `RECIPES` collects them in name order and refuses a name twice. Adding one is
adding a module here (and its test): see docs/extending.md.

Every recipe here also obeys the constraints of `parts`: no word modified twice, no stopword
modified (TextAttack's RepeatModification, and its StopwordModification matched in any case:
TextAttack's compares words as they are, so "It" or "Not" counted as content words), protected
spans untouched, at most --max-change of the words changed (MaxWordsPerturbed), and no offensive
word that the original did not have (protect.new_offence, the rule random mode shares).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ...common.registry import collect
from ..offline import textattack_offline


@dataclass(frozen=True)
class Recipe:
    name: str  # the --recipe value
    paper: str
    edits: str  # what it changes, in a few words (for --help)
    transformation: Callable  # () -> a TextAttack Transformation
    constraints: Callable  # () -> the recipe's own post-transformation constraints
    word_order: str  # how its greedy search ranks words: a name in word_orders.WORD_ORDERS
    # TextAttack's recipe class in textattack.attack_recipes, or (model_wrapper) -> an Attack of
    # TextAttack's parts for a recipe TextAttack does not ship
    stock: str | Callable
    pre: Callable = lambda: []  # () -> the recipe's own pre-transformation constraints


# Recipes TextAttack ships that this project does not offer, and why.
UNAVAILABLE = {"textfooler": "counter-fitted word embeddings and the Universal Sentence Encoder (TF-Hub)",
               "bae": "a BERT masked language model from the Hugging Face hub",
               "bert-attack": "a BERT masked language model from the Hugging Face hub",
               "a2t": "counter-fitted word embeddings and a sentence-BERT model from the hub (offline "
                      "parts: --recipe a2t-wordnet-minilm)",
               "textbugger": "GloVe embeddings and the Universal Sentence Encoder (TF-Hub)",
               "pso": "HowNet sememes (OpenHowNet download)",
               "alzantot": "the Google 1B language model and counter-fitted embeddings",
               "checklist": "a flair NER model from the hub for its location and name swaps",
               "pruthi": "no download, but a beam search over every position that is not batched here yet "
                         "(its character edits are DeepWordBug's: try --recipe deepwordbug)"}


RECIPES: dict[str, Recipe] = collect(__name__, __path__, "RECIPE")


def parts(max_change: float, recipe: str = "pwws", min_similarity: float | None = None):
    """(transformation, pre-transformation constraints, post-transformation constraints) of a
    recipe, from TextAttack's parts, with the constraints every recipe here obeys; with
    `min_similarity`, also the MiniLM sentence-similarity constraint (similarity.py)."""
    from augment.common.errors import PTPError

    if recipe not in RECIPES:
        raise PTPError(f"unknown recipe '{recipe}': choose one of {', '.join(RECIPES)}")
    with textattack_offline():
        from textattack.constraints.overlap import MaxWordsPerturbed
        from textattack.constraints.pre_transformation import RepeatModification, StopwordModification

        from ...protect import protected_spans_constraint

        class AnyCaseStopwords(StopwordModification):
            def _get_modifiable_indices(self, current_text):
                return {i for i, w in enumerate(current_text.words) if w.lower() not in self.stopwords}

        transformation, own = RECIPES[recipe].transformation(), RECIPES[recipe].constraints()
        if min_similarity is not None:
            from ..similarity import sentence_similarity

            own = own + [sentence_similarity(min_similarity)]
        # The protected-span constraint stays last: robustness appends it to stock recipes.
        pre = [RepeatModification(), AnyCaseStopwords(), *RECIPES[recipe].pre(), protected_spans_constraint()]
    return transformation, pre, own + [MaxWordsPerturbed(max_percent=max_change), no_new_offence()]


def no_new_offence():
    """A TextAttack constraint: the transformed text holds no offensive word its original lacks."""
    from textattack.constraints import Constraint

    from ...protect import new_offence

    class NoNewOffence(Constraint):
        def __init__(self):
            super().__init__(compare_against_original=True)

        def _check_constraint(self, transformed_text, reference_text):
            return not new_offence(reference_text.text, " ".join(transformed_text.words))

    return NoNewOffence()
