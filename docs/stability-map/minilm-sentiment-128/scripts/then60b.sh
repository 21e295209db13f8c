#!/usr/bin/env bash
# Then 60 epochs at lr 3e-2 (the grid's most aggressive corner; the 32-example map's one collapse was at 3e-2).
p=$1
while pgrep -f "then60.sh $p\$" >/dev/null || pgrep -f "worker.sh $p " >/dev/null; do sleep 20; done
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false
/work/main/.venv/bin/ptp-pipeline map --task sentiment --train-size 128 --sample-seed 0 --batch-size 4 --eval-every 5 \
  --lrs 3e-2 --budgets 60 --prefix-lens "$p" --seeds 1,2,3,4,5 --out /work/map128/map >> /work/map128/worker-p$p.log 2>&1
