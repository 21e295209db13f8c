"""Adversarial partners: TextAttack recipes built from TextAttack's parts, searched for many
examples at once.

As in TextAttack, an attack is four parts:
- goal (`goal.py`): untargeted classification, the victim's prediction leaves the gold output;
- constraints and transformation: one recipe each (`recipes/`, one file a recipe, read like the
  paper's method section), plus the constraints every recipe here obeys (no repeated or stopword
  edits, protected spans, --max-change);
- search (`search.py`): greedy over word importance, as TextAttack's `GreedyWordSwapWIR`, but in
  lock step over a batch of examples: every round's queries, from all examples, go to the victim
  as one batch, and repeated texts are answered from a cache. How it ranks words is a word order
  (`word_orders/`, one file an order), which each recipe names and --word-order overrides.
`similarity.py` holds the MiniLM sentence-similarity constraint, which a recipe may use and
--min-similarity adds to any.
`run.py` attacks a whole split in checkpointed chunks (resumable, sharded across processes) and
adapts the results to a corpus; `spec.py` holds the build's settings.

Departures from TextAttack's recipes, each for determinism (the same rows give a byte-identical
corpus whatever the batch size, chunk size or resume point): candidate words are sorted (WordNet
synonyms come from a set) and ties keep the first candidate; a swap must lower the gold
probability by at least the goal's MIN_GAIN (1e-4), not by any float amount; a swap the victim's
tokenizer cannot see (a case variant under an uncased model) is no candidate; the recorded
confidences come from scoring each final text alone; random character edits are seeded by row
and word position.

The victim is any object with `predict_proba(examples) -> probabilities` and `unk_token`; the
trainer provides one (training.victim). Protected spans (WiC's word, WSC's spans) are masked as
placeholder words that no transformation may touch, as in random mode.

Cheaper searches (measured in docs/benchmarks.md): `search_precision` bf16 or int8 queries a
lower-precision copy of the victim during the search while the fp32 victim picks the rows to
attack and confirms every success; `word_order` "unk" skips PWWS's swap-gain queries.
"""
