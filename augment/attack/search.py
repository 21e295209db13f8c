"""The search: greedy over word importance (TextAttack's GreedyWordSwapWIR), for a batch of
examples in lock step, every round's queries from all examples sent to the victim as one batch
and repeated texts answered from a cache (`QueryCache`). `attack_batch` runs it on a batch."""
from __future__ import annotations

import contextlib
import re
from collections import OrderedDict

import numpy as np

from ..common.errors import PTPError
from ..common.spans import merged, protected_ranges, rewrite_spans
from ..common.tasks import Task, gold
from ..protect import NOT_PROSE, mask, names_inside_sentences, respace, unmask, words_changed
from .goal import UntargetedClassification
from .spec import AttackSpec
from .word_orders import WORD_ORDERS


@contextlib.contextmanager
def seeded(key: str):
    """TextAttack's character edits draw from `random` and `np.random`: seed both from the row and
    the word position, so an edit is a fixed function of them (resumes and batch sizes agree),
    and put the global states back afterwards."""
    import hashlib
    import random

    state, np_state = random.getstate(), np.random.get_state()
    random.seed(key)
    np.random.seed(int(hashlib.sha256(key.encode()).hexdigest()[:8], 16))
    try:
        yield
    finally:
        random.setstate(state)
        np.random.set_state(np_state)


class QueryCache:
    """Batched, cached victim queries: text tuples -> probability vectors."""

    def __init__(self, victim, batch_size: int):
        self.victim, self.batch_size, self.memo = victim, batch_size, {}
        self.model_calls = 0

    def __call__(self, examples: list[dict], keys: list[tuple]) -> list[np.ndarray]:
        todo = list(OrderedDict.fromkeys(k for k in keys if k not in self.memo))
        by_key = dict(zip(keys, examples))
        for i in range(0, len(todo), self.batch_size):
            chunk = todo[i:i + self.batch_size]
            probs = self.victim.predict_proba([by_key[k] for k in chunk])
            self.model_calls += 1
            self.memo.update(zip(chunk, probs))
        return [self.memo[k] for k in keys]


class State:
    """One example under attack."""

    def __init__(self, row: int, example: dict, attacked):
        self.row, self.example = row, example
        self.target = None  # the gold output (label, COPA choice, ReCoRD's first gold entity)
        self.original = attacked
        self.current = attacked
        self.queries = 0
        self.status = None
        self.order: list[int] = []
        self.protected: list[list[str]] = []  # per perturbable field, the texts behind its placeholders
        self.pointer = 0
        self.p_before = None
        self.p_now = None


# Words TextAttack would cut in two at an apostrophe it does not keep (its words keep ' only):
# "doesn’t" became "doesn" + "t", and PWWS swapped the "t" ("doesn’tetraiodothyronine").
SPLIT_BY_TEXTATTACK = re.compile(r"\w+(?:[’`]\w+)+")


def attacked_text(task: Task, example: dict):
    """The example's perturbable fields as TextAttack's AttackedText, every protected span and
    every stretch that is not prose (markup, entities, URLs, addresses, dotted abbreviations,
    protect.NOT_PROSE), and every word with a curly apostrophe or a backtick, behind a placeholder
    word: the search swaps no "br" of a <br />, no "U" of "U.S." and no "t" of "doesn’t"."""
    from textattack.shared import AttackedText

    ranges = protected_ranges(task, example)
    for field in task.perturbable:
        closed = [m.span() for m in NOT_PROSE.finditer(example[field])]
        closed += [m.span() for m in SPLIT_BY_TEXTATTACK.finditer(example[field])]
        closed += names_inside_sentences(example[field])
        if closed:
            ranges[field] = merged(ranges.get(field, []) + closed)
    fields, meta = OrderedDict(), {}
    for field in task.perturbable:
        masked, names = mask(example[field], ranges.get(field, []))
        fields[field] = " ".join(masked.split())
        meta[field] = names
    return AttackedText(fields), ranges, meta


def restore_example(task: Task, example: dict, attacked, ranges, meta) -> dict | None:
    """The example with the attacked fields put back (protected spans restored, the original's
    whitespace kept where the words agree), or None."""
    out = dict(example)
    for field, text in attacked._text_input.items():
        field_ranges = ranges.get(field, [])
        restored = unmask(text, meta[field], example[field], field_ranges)
        if restored is None:
            return None
        # Here, not only on the saved partner: every query sees the text that would be saved (a BPE
        # victim such as RoBERTa reads a double space as its own token).
        new_text, new_ranges = respace(example[field], *restored)
        out[field] = new_text
        out.update(rewrite_spans(task, example, field, field_ranges, new_ranges, new_text))
    return out


def text_key(attacked) -> tuple:
    return tuple(attacked._text_input.values())


class Search:
    """One recipe's search over a batch of examples in lock step, in its parts: the victim on the
    originals (`start`), word importance (`rank_words`, the scoring step), one greedy swap per
    example per round (`step`, the search step), and each example's record (`record`).

    `victim` is the fp32 victim; `cache` may query a lower-precision copy of it (--search-precision):
    then the fp32 victim confirms which originals it gets right and each success before it counts;
    an unconfirmed success goes on searching."""

    def __init__(self, task: Task, victim, spec: AttackSpec, parts, cache: QueryCache, goal=None):
        self.task, self.victim, self.spec, self.cache = task, victim, spec, cache
        self.goal = goal or UntargetedClassification()
        self.transformation, self.pre, self.post = parts
        self.token_ids = getattr(victim, "token_ids", None)
        self.restore_info = {}
        # Sentence encoders embed the protected words, not their placeholders: they are told them per example.
        self.encoders = [c for c in self.post if hasattr(c, "protected")]

    def query(self, pairs):  # [(state, attacked_text)] -> probabilities, counting queries per example
        exs, keys = [], []
        for st, at in pairs:
            restored = restore_example(self.task, st.example, at, *self.restore_info[st.row])
            exs.append(restored if restored is not None else st.example)
            keys.append((st.row, text_key(at)))
            st.queries += 1
        return self.cache(exs, keys)

    def exact(self, states, texts, searched: list) -> list:
        """The fp32 victim's probabilities for (state, attacked text) pairs: the search's own answers
        (`searched`) when it searches in fp32, else one batched call (each text counted as a query)."""
        if self.cache.victim is self.victim:
            return searched
        examples = []
        for st, at in zip(states, texts):
            examples.append(restore_example(self.task, st.example, at, *self.restore_info[st.row]) or st.example)
            st.queries += 1
        out = []
        for i in range(0, len(examples), self.spec.batch_size):
            out += list(self.victim.predict_proba(examples[i:i + self.spec.batch_size]))
        return out

    def budget_left(self, st) -> bool:
        return self.spec.query_budget is None or st.queries < self.spec.query_budget

    def within_budget(self, st, items: list) -> list:
        return items if self.spec.query_budget is None else items[:max(self.spec.query_budget - st.queries, 0)]

    def candidates(self, st, index: int) -> list:
        for encoder in self.encoders:
            encoder.protected = st.protected
        return transformed(self.transformation, st.current, st.original, [index], self.pre, self.post,
                           self.token_ids, str(st.row))

    def start(self, rows: list[int], examples: list[dict]) -> list[State]:
        """States for the examples, the victim's view of each original; already-wrong ones skipped."""
        states = []
        for row, ex in zip(rows, examples):
            attacked, ranges, meta = attacked_text(self.task, ex)
            st = State(row, ex, attacked)
            right = gold(self.task, ex)
            st.target = right[0] if right else None
            st.protected = [[ex[f][a:b] for a, b in ranges.get(f, [])] for f in self.task.perturbable]
            self.restore_info[row] = (ranges, meta)
            states.append(st)
        for st, p in zip(states, self.query([(st, st.original) for st in states])):
            st.p_before = st.p_now = p
        judged = [st for st in states if st.target is not None]
        for st in states:
            st.status = None if st.target is not None else "skipped"
        for st, p in zip(judged, self.exact(judged, [st.original for st in judged], [st.p_before for st in judged])):
            if self.goal.is_complete(p, st.target):  # already misclassified: nothing to attack
                st.status = "skipped"
        return states

    def rank_words(self, active: list[State]) -> None:
        """Each example's word order, by the spec's order (word_orders/): every word's leave-one-out
        drop (the word replaced by the victim's UNK) and, if the order needs them, its best swap's
        gain, all examples' queries in one batch. Queries past an example's budget are not sent;
        their scores count as no change."""
        order = WORD_ORDERS[self.spec.order]
        requests, tags, plans = [], [], {}
        for st in active:
            indices = sorted(modifiable(st.original, self.pre, self.transformation))
            swaps = {i: self.candidates(st, i) if order.needs_swaps else [] for i in indices}
            mine = [(("unk", i, 0), st.original.replace_word_at_index(i, self.victim.unk_token)) for i in indices]
            mine += [(("swap", i, k), c) for i in indices for k, c in enumerate(swaps[i])]
            mine = self.within_budget(st, mine)
            plans[st.row] = (indices, swaps)
            requests += [(st, text) for _, text in mine]
            tags += [(st.row, tag) for tag, _ in mine]
        answer = dict(zip(tags, self.query(requests))) if requests else {}
        for st in active:
            indices, swaps = plans[st.row]
            y = st.target
            base = self.goal.score(st.p_before, y)

            def score(tag):
                p = answer.get((st.row, tag))
                return base if p is None else self.goal.score(p, y)

            drops = np.array([score(("unk", i, 0)) for i in indices]) - base
            gains = np.array([max((score(("swap", i, k)) for k in range(len(swaps[i]))), default=base) - base
                              for i in indices])
            if indices:
                st.order = [indices[k] for k in order.rank(drops, gains, self.goal.min_gain)]
            if not self.budget_left(st):
                st.order = []

    def step(self, active: list[State]) -> list[State]:
        """One greedy round: every active example tries its next word's swaps (all examples' in one
        batch of queries) and keeps the best if it lowers the gold probability. The still active."""
        round_pairs, owners = [], []
        for st in active:
            while st.pointer < len(st.order):
                idx = st.order[st.pointer]
                st.pointer += 1
                cands = self.within_budget(st, self.candidates(st, idx))
                if cands:
                    round_pairs += [(st, c) for c in cands]
                    owners.append((st, len(cands)))
                    break
        if not round_pairs:
            return []
        probs = self.query(round_pairs)
        cursor, flipped = 0, []
        for st, n in owners:
            y = st.target
            best_k = max(range(n), key=lambda k: (self.goal.score(probs[cursor + k], y), -k))
            if self.goal.improves(probs[cursor + best_k], st.p_now, y):
                st.current, st.p_now = round_pairs[cursor + best_k][1], probs[cursor + best_k]
                if self.goal.is_complete(st.p_now, y):
                    flipped.append(st)
            cursor += n
        for st, p in zip(flipped, self.exact(flipped, [st.current for st in flipped], [st.p_now for st in flipped])):
            if self.goal.is_complete(p, st.target):  # confirmed by the fp32 victim
                st.status = "successful"
        return [st for st in active if st.status is None and st.pointer < len(st.order) and self.budget_left(st)]

    def record(self, st: State) -> dict:
        final = restore_example(self.task, st.example, st.current, *self.restore_info[st.row]) or st.example
        changed = sum(words_changed(st.example[f], final[f]) for f in self.task.perturbable)
        # The recorded confidences come from scoring each text alone: in a batch, padding to the
        # batch's longest text changes the float sums in the last digits, so the same row would
        # record other digits in another batch (another chunk size, batch size or resume point).
        p_before = self.victim.predict_proba([st.example])[0]
        p_after = p_before if st.current is st.original else self.victim.predict_proba([final])[0]
        y_before, y_after = int(np.argmax(p_before)), int(np.argmax(p_after))
        return {
            "row": st.row, "perturbed": {k: final[k] for k in self.task.input_fields},
            "attack": {"status": st.status or "failed", "queries": st.queries, "words_changed": changed,
                       "label_before": y_before, "confidence_before": round(float(p_before[y_before]), 5),
                       "label_after": y_after, "confidence_after": round(float(p_after[y_after]), 5)},
        }


def lowered(victim, precision: str):
    """The victim the search queries: itself in fp32, else its `lowered(precision)` copy."""
    if precision == "fp32":
        return victim
    if not hasattr(victim, "lowered"):
        raise PTPError(f"--search-precision {precision}: this victim ({type(victim).__name__}) offers no "
                       "lower-precision copy; use --search-precision fp32")
    return victim.lowered(precision)


def attack_batch(task: Task, examples: list[dict], rows: list[int], victim, spec: AttackSpec, parts,
                 cache: QueryCache) -> list[dict]:
    """The recipe's search on a batch of examples in lock step; one result record per example."""
    search = Search(task, victim, spec, parts, cache)
    states = search.start(rows, examples)
    active = [st for st in states if st.status is None]
    search.rank_words(active)
    while active:
        active = search.step(active)
    return [search.record(st) for st in states]


def modifiable(text, pre, transformation) -> set:
    indices = set(range(len(text.words)))
    for constraint in pre:
        indices &= constraint(text, transformation)
    return indices


def transformed(transformation, current, original, indices, pre, post, token_ids=None, key: str = "") -> list:
    """Transformed texts at `indices`, filtered by the constraints, in a fixed order.

    With the victim's `token_ids(word)`, a swap the victim cannot see (an uncased tokenizer maps
    "it" and "IT" to the same ids) is not a candidate: it would count as a changed word and change
    nothing, and its score would differ from the original's by float noise alone."""
    with seeded(f"{key}:{indices}"):
        cands = transformation(current, pre_transformation_constraints=pre, indices_to_modify=indices)
    cands = sorted(cands, key=lambda t: t.text)
    if token_ids is not None and len(indices) == 1:
        own = token_ids(current.words[indices[0]])
        cands = [c for c in cands if token_ids(c.words[indices[0]]) != own]
    for constraint in post:  # call_many: a sentence encoder embeds all candidates in one batch
        kept = {id(c) for c in constraint.call_many(cands, original)} if cands else set()
        cands = [c for c in cands if id(c) in kept]
    return cands

