#!/usr/bin/env bash
# The stability experiment on one GPU, one process per method, then one pass that reuses every
# run and writes the report. A MiniLM prefix-tuning step is launch-bound: one process leaves most
# of an H100/H200 idle, so five share it. Logs go to OUT/log-METHOD.txt.
#   benchmarks/stability_gpu.sh OUT EPOCHS [more `ptp-pipeline stability` options]
# A smoke run on a CPU: a tiny random BERT (made in OUT/tiny-bert), the WiC test fixture (8 rows,
# a quarter held out to select), seeds 1 and 2, vanilla and rn-embed unless METHODS says; options
# given after EPOCHS still win:
#   SMOKE=1 benchmarks/stability_gpu.sh OUT 1
# PTP_PIPELINE names the command [default: ptp-pipeline], PYTHON the interpreter [default: python].
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: benchmarks/stability_gpu.sh OUT EPOCHS [ptp-pipeline stability options]" >&2; exit 2; }
out=$1; epochs=$2; shift 2
pipeline=${PTP_PIPELINE:-ptp-pipeline}
methods=${METHODS:-vanilla,rn-embed,adv-embed,rn-text,adv-text}
mkdir -p "$out"
if [ -n "${SMOKE:-}" ]; then
  root=$(cd "$(dirname "$0")/.." && pwd)
  methods=${METHODS:-vanilla,rn-embed}
  model=$(PYTHONPATH="$root" "${PYTHON:-python}" -c \
    'import sys; from benchmarks.common import smoke_encoder; print(smoke_encoder("bert", sys.argv[1]))' "$out/tiny-bert")
  set -- --device cpu --model "$model" --task wic --data-dir "$root/tests/fixtures/WiC" --holdout 0.25 \
    --batch-size 4 --seeds 1,2 --track none "$@"
fi
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
