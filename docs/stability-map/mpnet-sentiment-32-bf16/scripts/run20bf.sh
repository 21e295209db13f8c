#!/usr/bin/env bash
# The 20-epoch cell again at bf16 (the 60-epoch cell's precision), same draw, seeds and protocol,
# in two folders (one per core) once PID has exited. Usage: run20bf.sh PID SEEDS OUT
set -euo pipefail
cd /work/mapmp
export PATH=/work/main/.venv/bin:$PATH OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
while kill -0 $1 2>/dev/null; do sleep 15; done
echo "== $(date +%T) start seeds $2"
ptp-pipeline map --model mpnet --task sentiment --train-size 32 --sample-seed 0 --batch-size 4 --eval-every 5 \
  --lrs 1e-2 --budgets 20 --prefix-lens 20 --seeds $2 --precision bf16 --track none --out $3
echo "== $(date +%T) done seeds $2"
