#!/usr/bin/env bash
# One folder per report (the runs were trained in several, two cores at a time), then the paired
# reports; every run is reused, nothing trains. rn-text's cell has its own folder (its corpora), with
# vanilla's runs copied in: its report is over the same 30 pairs as the others.
set -euo pipefail; cd /work/mpptp; . ./common.sh
merge() {  # merge DEST PIECE... : copy finished seed folders (and the corpora they trained on)
  local dest=$1; shift
  for piece in "$@"; do
    for seed in $piece/draw-*/runs/*/seed-*; do
      [ -f $seed/metrics.json ] || continue
      to=$dest/${seed#$piece/}; [ -e $to ] && continue
      mkdir -p $(dirname $to); cp -a $seed $to
    done
  done
}
merge cell cell-1,2,3,4,5 cell-6,7,8,9,10 cell-b cell-c piece-freelb-*
for d in 0 1 2; do
  mkdir -p cell-rn-text/draw-$d/runs; [ -e cell-rn-text/draw-$d/runs/vanilla ] || cp -a cell/draw-$d/runs/vanilla cell-rn-text/draw-$d/runs/
done
merge cell-rn-text piece-rn-text-d0-* piece-rn-text-d1-* piece-rn-text-d2-*
python - <<'PY'
import json
merged = {}
for m in ("rn-embed", "freelb", "rn-text"):
    merged.update(json.load(open(f"presets-{m}.json")))
open("presets-cell.json", "w").write(json.dumps(merged, indent=2) + "\n")
PY
ptp-pipeline stability $C --sample-seeds 0,1,2 --seeds 1,2,3,4,5,6,7,8,9,10 \
    --methods vanilla,rn-embed-tuned,freelb-tuned --presets presets-cell.json --out cell 2>&1 | grep -v "reusing" | tail -n 40
ptp-pipeline stability $C --sample-seeds 0,1,2 --seeds 1,2,3,4,5,6,7,8,9,10 \
    --methods vanilla,rn-text-tuned --presets presets-cell.json --out cell-rn-text 2>&1 | grep -v "reusing" | tail -n 30
