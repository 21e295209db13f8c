#!/usr/bin/env bash
# The stability experiment on one GPU, one process per method, then one pass that reuses every
# run and writes the report. A MiniLM prefix-tuning step is launch-bound: one process leaves most
# of an H100/H200 idle, so five share it. Logs go to OUT/log-METHOD.txt.
#   benchmarks/stability_gpu.sh OUT EPOCHS [more `ptp-pipeline stability` options]
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: benchmarks/stability_gpu.sh OUT EPOCHS [ptp-pipeline stability options]" >&2; exit 2; }
out=$1; epochs=$2; shift 2
pipeline=${PTP_PIPELINE:-ptp-pipeline}
methods=${METHODS:-vanilla,rn-embed,adv-embed,rn-text,adv-text}
mkdir -p "$out"
pids=()
for m in ${methods//,/ }; do
  OMP_NUM_THREADS=${OMP_NUM_THREADS:-2} $pipeline stability --methods "$m" --epochs "$epochs" --out "$out" "$@" \
    > "$out/log-$m.txt" 2>&1 &
  pids+=($!)
done
status=0
for p in "${pids[@]}"; do wait "$p" || status=1; done
[ $status -eq 0 ] || { echo "a method failed: see $out/log-*.txt" >&2; exit 1; }
$pipeline stability --methods "$methods" --epochs "$epochs" --out "$out" "$@"
