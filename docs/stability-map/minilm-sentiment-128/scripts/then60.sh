#!/usr/bin/env bash
# After a worker's 6- and 20-epoch cells, its prompt length at 60 epochs, lr 1e-2 only (P-tuning v2's
# BERT-large RTE lr, and the lr of the MPNet length axis); then60b.sh and then60c.sh add 3e-2 and 3e-3.
p=$1
while pgrep -f "worker.sh $p " >/dev/null; do sleep 20; done
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false
/work/main/.venv/bin/ptp-pipeline map --task sentiment --train-size 128 --sample-seed 0 --batch-size 4 --eval-every 5 \
  --lrs 1e-2 --budgets 60 --prefix-lens "$p" --seeds 1,2,3,4,5 --out /work/map128/map >> /work/map128/worker-p$p.log 2>&1
