#!/usr/bin/env bash
# One worker of the MPNet lr x prompt slice (#28): 32 sentiment examples (draw 0), 6 epochs, bf16,
# one prompt length, lrs in the order given (MiniLM's widest lr 3e-3 first, then 3e-2, then P-tuning
# v2's 1e-2, which re-trains the length axis's 6-epoch cell as a reproducibility check). One thread.
# usage: bash worker.sh PREFIX LR[,LR...]   (reuses finished seeds)
set -uo pipefail
p=$1; lrs=$2
export PATH=/work/main/.venv/bin:$PATH OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false
for lr in ${lrs//,/ }; do
  echo "== $(date +%T) start lr $lr prefix $p" >> /work/mapmp6/worker-p$p.log
  ptp-pipeline map --model mpnet --task sentiment --train-size 32 --sample-seed 0 --batch-size 4 --eval-every 5 \
    --lrs "$lr" --budgets 6 --prefix-lens "$p" --seeds 1,2,3,4,5 --precision bf16 --track none --out /work/mapmp6/map \
    >> /work/mapmp6/worker-p$p.log 2>&1
  echo "== $(date +%T) done lr $lr prefix $p" >> /work/mapmp6/worker-p$p.log
done
