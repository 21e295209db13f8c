#!/usr/bin/env bash
# The 6- and 20-epoch cells again at bf16 (the 60-epoch cell's precision), same draw, seeds and
# protocol, so the MPNet length axis is one precision throughout. Usage: runbf.sh WAITLOG
set -euo pipefail
cd /work/mapmp
export PATH=/work/main/.venv/bin:$PATH OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
until grep -q "== .* done seeds" "$1"; do sleep 20; done
for budget in 6 20; do
  echo "== $(date +%T) start $budget"
  ptp-pipeline map --model mpnet --task sentiment --train-size 32 --sample-seed 0 --batch-size 4 --eval-every 5 \
    --lrs 1e-2 --budgets $budget --prefix-lens 20 --seeds 1,2,3,4,5 --precision bf16 --track none --out b${budget}bf
  echo "== $(date +%T) done $budget"
done
