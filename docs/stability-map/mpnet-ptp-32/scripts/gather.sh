#!/usr/bin/env bash
# One folder for the cell (the runs were trained in several, two cores at a time), then the paired
# report over 3 draws x 10 seeds; every run is reused, nothing trains.
set -euo pipefail; cd /work/mpptp; . ./common.sh
for piece in cell-1,2,3,4,5 cell-6,7,8,9,10 cell-b cell-c; do
  for seed in $piece/draw-*/runs/*/seed-*; do
    [ -f $seed/metrics.json ] || continue
    dest=cell/${seed#$piece/}; [ -e $dest ] && continue
    mkdir -p $(dirname $dest); cp -a $seed $dest
  done
done
ptp-pipeline stability $C --sample-seeds 0,1,2 --seeds 1,2,3,4,5,6,7,8,9,10 --methods vanilla,rn-embed-tuned \
    --presets presets-rn-embed.json --out cell 2>&1 | grep -v "reusing" | tail -n 40
