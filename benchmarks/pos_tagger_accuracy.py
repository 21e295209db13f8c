"""How right is random mode's part-of-speech tagger? Against a hand-tagged sample.

Usage: python benchmarks/pos_tagger_accuracy.py [--out DIR]   (seconds)
       python benchmarks/pos_tagger_accuracy.py --smoke --out DIR   (the same run: it is already small)

The sample (docs/label-keeping/pos_sample.tsv) is the first 12 validation rows of the shipped
sentiment set, tagged by hand with Penn tags, tokenised as the synonym op hands words to the tagger
(words and the punctuation between them). Each tagger tags each row's tokens; scored on the word
tokens (not the punctuation), as Penn tags and as the WordNet part of speech a synonym swap looks
up (augment.random_ops.wordnet_pos: noun, verb, adjective, adverb, or none: not swapped), and that
again on the content words alone (gold noun, verb, adjective or adverb, not a stopword: the words a
swap may touch). Taggers:
- perceptron: NLTK's averaged perceptron on the model textblob-aptagger ships (the default);
- wordnet-frequency: the context-free fallback (augment.common.resources.wordnet_pos_tag);
- pattern: TextBlob's PatternTagger (Pattern's lexicon and Brill rules), for comparison.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import ROOT, add_output_options, output_folder, write  # noqa: E402

SAMPLE = ROOT / "docs" / "label-keeping" / "pos_sample.tsv"


def read_sample(path: Path = SAMPLE) -> list[list[tuple[str, str]]]:
    rows: dict[int, list[tuple[str, str]]] = {}
    for line in path.read_text().splitlines():
        if line.startswith("#") or line.startswith("row\t"):
            continue
        row, _, token, tag = line.split("\t")
        rows.setdefault(int(row), []).append((token, tag))
    return [rows[r] for r in sorted(rows)]


def taggers() -> dict:
    import nltk

    from augment.common.resources import ensure_resources, wordnet_pos_tag

    ensure_resources()
    out = {"perceptron": nltk.pos_tag, "wordnet-frequency": wordnet_pos_tag}
    try:
        from textblob.en import tag as pattern_tag

        out["pattern"] = lambda tokens: pattern_tag(" ".join(tokens), tokenize=False)
    except ImportError:
        pass
    return out


def score(tag, rows) -> dict:
    """The tagger as the synonym op runs it (random_ops.tag_in_context), on the words of each row."""
    from augment.random_ops import WORD
    from augment.synonyms import tag_in_context, wordnet_pos

    from augment.common.resources import stopword_set

    stop = {w.lower() for w in stopword_set()}
    penn = coarse = words = content = content_right = 0
    confused: dict[str, int] = {}
    for row in rows:
        gold_words, after = [], []
        for token, gold in row:
            if WORD.fullmatch(token):
                gold_words.append((token, gold))
                after.append([])
            elif after:  # punctuation before the first word is not handed to the tagger
                after[-1].append(token)
        predicted = tag_in_context(tag, [t for t, _ in gold_words], after)
        for (token, gold), guess in zip(gold_words, predicted):
            words += 1
            penn += guess == gold
            same = wordnet_pos(guess)[:1] == wordnet_pos(gold)[:1]
            coarse += same
            if wordnet_pos(gold) and token.lower() not in stop:  # a word the synonym op may swap
                content += 1
                content_right += same
            if not same:
                key = f"{token}: {gold} -> {guess}"
                confused[key] = confused.get(key, 0) + 1
    return {"word_tokens": words, "penn_accuracy": round(100 * penn / words, 1),
            "wordnet_pos_accuracy": round(100 * coarse / words, 1), "content_words": content,
            "wordnet_pos_accuracy_on_content_words": round(100 * content_right / content, 1),
            "wordnet_pos_errors": sorted(confused)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_output_options(parser)
    args = parser.parse_args()
    out = output_folder(args)
    rows = read_sample()
    results = {name: score(tag, rows) for name, tag in taggers().items()}
    for name, r in results.items():
        print(f"{name:<18} Penn {r['penn_accuracy']:5.1f}%  WordNet POS {r['wordnet_pos_accuracy']:5.1f}% "
              f"({r['word_tokens']} word tokens), on content words {r['wordnet_pos_accuracy_on_content_words']:5.1f}% "
              f"({r['content_words']}: gold noun/verb/adjective/adverb, not a stopword)")
    write("pos_tagger_accuracy", {"sample": str(SAMPLE.relative_to(ROOT)), "rows": len(rows), "taggers": results},
          out, args.smoke)


if __name__ == "__main__":
    main()
