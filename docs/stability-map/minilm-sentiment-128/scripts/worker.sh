#!/usr/bin/env bash
# One worker of the 128-example MiniLM map: one prompt length, budgets in the order given, one thread.
# usage: bash worker.sh PREFIX BUDGET [BUDGET...]   (reuses finished seeds; cells are locked per folder)
set -uo pipefail
p=$1; shift
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false
for b in "$@"; do
  /work/main/.venv/bin/ptp-pipeline map --task sentiment --train-size 128 --sample-seed 0 --batch-size 4 --eval-every 5 \
    --lrs 3e-3,1e-2,3e-2 --budgets "$b" --prefix-lens "$p" --seeds 1,2,3,4,5 --out /work/map128/map \
    >> /work/map128/worker-p$p.log 2>&1
done
