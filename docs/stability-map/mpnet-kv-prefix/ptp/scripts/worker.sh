#!/usr/bin/env bash
# One core's share of #43's PTP cell: take the next task of tasks.txt that nobody has claimed (mkdir claims).
#   sweep:METHOD:KEY=V1,V2,...  sweep the knob on validation (draw 0, seeds 101-105); if the pick is on the
#                               grid's edge, widen it by the edge's ratio and sweep again (runs are reused),
#                               at most twice; then mark the method ready.
#   cell:METHOD:DRAW            the reported runs: seeds 1-10 of one draw at the method's picked setting.
# Runs reuse finished seeds, so a rerun resumes.
set -uo pipefail; cd /work/kvptp; . ./common.sh
widen() {  # widen SWEEP_JSON KEY -> prints the widened grid, or nothing when the pick is interior
python3 - "$@" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); key = sys.argv[2]
grid = sorted(d["grid"][key]); pick = d["picked"]["setting"][key]
if pick == grid[-1]: grid.append(round(grid[-1] * grid[-1] / grid[-2], 6))
elif pick == grid[0]: grid.insert(0, round(grid[0] * grid[0] / grid[1], 6))
else: sys.exit(0)
print(",".join(str(g) for g in grid))
PY
}
while true; do
  left=0; took=0
  while read -r t; do
    [ -z "$t" ] && continue
    IFS=: read kind m arg <<<"$t"; tag=${t//[:=,]/_}
    [ -e claims/$tag.done ] && continue; left=1
    [ $kind = cell ] && { [ -e ready-$m ] || continue; }
    mkdir -p claims; mkdir claims/$tag 2>/dev/null || continue
    took=1; echo "== $(date +%T) $t"
    if [ $kind = sweep ]; then
      key=${arg%%=*}; grid=${arg#*=}; ok=1
      for round in 1 2 3; do
        ptp-pipeline sweep $C --sample-seed 0 --seeds 101,102,103,104,105 --method $m --grid $key=$grid \
          --presets-out sweep-$m/presets.json --out sweep-$m || { ok=0; break; }
        wider=$(widen sweep-$m/sweep.json $key); [ -z "$wider" ] && break
        [ $round = 3 ] && { echo "== $m: pick still on the edge of $grid"; break; }
        echo "== $m: pick on the edge, widening to $wider"; grid=$wider
      done
      [ $ok = 1 ] && cp sweep-$m/presets.json presets-$m.json && touch ready-$m claims/$tag.done
    else
      ptp-pipeline stability $C --sample-seeds $arg --seeds 1,2,3,4,5,6,7,8,9,10 --methods $m-tuned \
        --presets presets-$m.json --out piece-$m-d$arg && touch claims/$tag.done
    fi
    break
  done < tasks.txt
  [ $left = 0 ] && break
  [ $took = 0 ] && sleep 30
done
echo "== $(date +%T) worker done"
