#!/usr/bin/env bash
# The pieces' finished seeds merged into one folder, then the paired vanilla/rn-embed report over the
# given seeds and draws (default: seeds 1-10 of draws 0-2) in OUT (default cell). Only ask for seeds
# that have finished: the report reuses every finished run and would train a missing one.
# usage: gather.sh [SEEDS] [DRAWS] [OUT]
set -euo pipefail; cd /work/mpcollapse; . ./common.sh
seeds=${1:-1,2,3,4,5,6,7,8,9,10}; draws=${2:-0,1,2}; out=${3:-cell}
for piece in piece-*; do
  for seed in $piece/draw-*/runs/*/seed-*; do
    [ -f $seed/metrics.json ] || continue
    to=$out/${seed#$piece/}; [ -e $to ] && continue
    mkdir -p $(dirname $to); cp -a $seed $to
  done
done
ptp-pipeline stability $C --sample-seeds $draws --seeds $seeds \
    --methods vanilla,rn-embed-tuned --presets presets-rn-embed.json --out $out 2>&1 | grep -v "reusing" | tail -n 30
