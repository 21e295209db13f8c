#!/usr/bin/env bash
# The fresh-seed report: the pieces' finished seeds merged into one folder, then the paired
# vanilla/rn-text report over seeds 11-20 of draws 0-2 (every run reused, nothing trains).
set -euo pipefail; cd /work/mpfresh; . ./common.sh
for piece in piece-*; do
  for seed in $piece/draw-*/runs/*/seed-*; do
    [ -f $seed/metrics.json ] || continue
    to=cell/${seed#$piece/}; [ -e $to ] && continue
    mkdir -p $(dirname $to); cp -a $seed $to
  done
done
ptp-pipeline stability $C --sample-seeds 0,1,2 --seeds 11,12,13,14,15,16,17,18,19,20 \
    --methods vanilla,rn-text-tuned --presets presets-rn-text.json --out cell 2>&1 | grep -v "reusing" | tail -n 30
