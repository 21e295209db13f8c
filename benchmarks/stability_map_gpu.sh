#!/usr/bin/env bash
# The stability map on one GPU: one `ptp-pipeline map` process per (learning rate, prompt length)
# cell row, sharing the GPU (a MiniLM prefix-tuning step is launch-bound, so one process leaves
# most of an H100/H200 idle), then one pass that reuses every run and writes report.md,
# results.json and map.png. Logs go to OUT/log-LR-PREFIX.txt.
#   benchmarks/stability_map_gpu.sh OUT [more `ptp-pipeline map` options, e.g. --task sentiment
#       --train-size 32 --sample-seed 0 --batch-size 4 --eval-every 5 --seeds 1,2,3,4,5]
# LRS, BUDGETS and PREFIX_LENS set the grid (defaults: 3e-3,1e-2,3e-2 / 6,20,60 / 8,20).
# A smoke run on a CPU: a tiny random BERT (made in OUT/tiny-bert), the RTE test fixture (8 rows,
# a quarter held out to select), seeds 1 and 2, one cell row (grid 1e-2 / 1 / 2) unless LRS,
# BUDGETS and PREFIX_LENS say; options given after OUT still win:
#   SMOKE=1 benchmarks/stability_map_gpu.sh OUT
# PTP_PIPELINE names the command [default: ptp-pipeline], PYTHON the interpreter [default: python].
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: benchmarks/stability_map_gpu.sh OUT [ptp-pipeline map options]" >&2; exit 2; }
out=$1; shift
pipeline=${PTP_PIPELINE:-ptp-pipeline}
lrs=${LRS:-3e-3,1e-2,3e-2}; budgets=${BUDGETS:-6,20,60}; prefixes=${PREFIX_LENS:-8,20}
mkdir -p "$out"
if [ -n "${SMOKE:-}" ]; then
  root=$(cd "$(dirname "$0")/.." && pwd)
  lrs=${LRS:-1e-2}; budgets=${BUDGETS:-1}; prefixes=${PREFIX_LENS:-2}
  model=$(PYTHONPATH="$root" "${PYTHON:-python}" -c \
    'import sys; from benchmarks.common import smoke_encoder; print(smoke_encoder("bert", sys.argv[1]))' "$out/tiny-bert")
  set -- --device cpu --model "$model" --task rte --data-dir "$root/tests/fixtures/RTE" --holdout 0.25 \
    --batch-size 4 --seeds 1,2 --track none "$@"
fi
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
