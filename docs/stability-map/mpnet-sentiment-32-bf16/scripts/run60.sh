#!/usr/bin/env bash
# The MPNet 60-epoch cell of the map (#28) at P-tuning v2's BERT-large RTE setting (lr 1e-2, prompt 20,
# 60 epochs), the map's draw 0, seeds 1-5, validation every 5 epochs. bf16 autocast on this CPU
# (fp32 would take ~43 min a seed, bf16 ~22): the 6- and 20-epoch cells were fp32, so the 6-epoch
# bf16 comparison is the PTP cell's vanilla on the same draw and seeds. Usage: run60.sh WAITLOG SEEDS OUT
set -euo pipefail
cd /work/mapmp
export PATH=/work/main/.venv/bin:$PATH OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
until grep -q "worker done" "$1"; do sleep 20; done
echo "== $(date +%T) start seeds $2"
ptp-pipeline map --model mpnet --task sentiment --train-size 32 --sample-seed 0 --batch-size 4 --eval-every 5 \
  --lrs 1e-2 --budgets 60 --prefix-lens 20 --seeds $2 --precision bf16 --track none --out $3
echo "== $(date +%T) done seeds $2"
