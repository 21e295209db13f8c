#!/usr/bin/env bash
# Put every piece's finished runs in one folder and write the paired report (every run reused, nothing trains).
# METHODS: the presets whose three draws are complete, e.g. "rn-embed rn-prompt sam".
set -euo pipefail; cd /work/kvptp; . ./common.sh
METHODS=${METHODS:-rn-embed rn-prompt sam}
merge() {  # merge DEST PIECE... : copy finished seed folders
  local dest=$1; shift
  for piece in "$@"; do
    for seed in $piece/draw-*/runs/*/seed-*; do
      [ -f $seed/metrics.json ] || continue
      to=$dest/${seed#$piece/}; [ -e $to ] && continue
      mkdir -p $(dirname $to); cp -a $seed $to
    done
  done
}
merge cell piece-*
python3 - $METHODS <<'PY'
import json, sys
merged = {}
for m in sys.argv[1:]:
    merged.update(json.load(open(f"presets-{m}.json")))
open("presets-cell.json", "w").write(json.dumps(merged, indent=2) + "\n")
PY
methods=vanilla; for m in $METHODS; do methods=$methods,$m-tuned; done
ptp-pipeline stability $C --sample-seeds 0,1,2 --seeds 1,2,3,4,5,6,7,8,9,10 \
    --methods $methods --presets presets-cell.json --out cell 2>&1 | grep -v "reusing" | tail -n 40
