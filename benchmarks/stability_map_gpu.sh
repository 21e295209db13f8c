#!/usr/bin/env bash
# The stability map on one GPU: one `ptp-pipeline map` process per (learning rate, prompt length)
# cell row, sharing the GPU (a MiniLM prefix-tuning step is launch-bound, so one process leaves
# most of an H100/H200 idle), then one pass that reuses every run and writes report.md,
# results.json and map.png. Logs go to OUT/log-LR-PREFIX.txt.
#   benchmarks/stability_map_gpu.sh OUT [more `ptp-pipeline map` options, e.g. --task sentiment
#       --train-size 32 --sample-seed 0 --batch-size 4 --eval-every 5 --seeds 1,2,3,4,5]
# LRS, BUDGETS and PREFIX_LENS set the grid (defaults: 3e-3,1e-2,3e-2 / 6,20,60 / 8,20).
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: benchmarks/stability_map_gpu.sh OUT [ptp-pipeline map options]" >&2; exit 2; }
out=$1; shift
pipeline=${PTP_PIPELINE:-ptp-pipeline}
lrs=${LRS:-3e-3,1e-2,3e-2}; budgets=${BUDGETS:-6,20,60}; prefixes=${PREFIX_LENS:-8,20}
mkdir -p "$out"
pids=()
for lr in ${lrs//,/ }; do
  for prefix in ${prefixes//,/ }; do
    OMP_NUM_THREADS=${OMP_NUM_THREADS:-2} $pipeline map --lrs "$lr" --budgets "$budgets" --prefix-lens "$prefix" \
      --out "$out/part-$lr-$prefix" "$@" > "$out/log-$lr-$prefix.txt" 2>&1 &
    pids+=($!)
  done
done
status=0
for p in "${pids[@]}"; do wait "$p" || status=1; done
[ $status -eq 0 ] || { echo "a cell row failed: see $out/log-*.txt" >&2; exit 1; }
# The parts' runs, gathered where the full map looks for them (moved, not copied: runs are large).
mkdir -p "$out/runs"
for part in "$out"/part-*; do mv "$part"/runs/* "$out/runs/" && rm -r "$part"; done
$pipeline map --lrs "$lrs" --budgets "$budgets" --prefix-lens "$prefixes" --out "$out" "$@"
