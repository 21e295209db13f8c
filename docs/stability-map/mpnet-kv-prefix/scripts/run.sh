#!/usr/bin/env bash
# MPNet lr x prompt slice with P-tuning v2's key/value prefix (#43): the same command as
# docs/stability-map/mpnet-sentiment-32-lr (32 sentiment examples, draw 0, 6 epochs, bf16, 5 seeds),
# --method prefix now running training/kv_prefix.py on MPNet. Unstable cells of the VPT-deep slice first.
set -uo pipefail
export PATH=/work/main/.venv/bin:$PATH OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false
export PTP_CACHE=/work/main/.ptp-cache
cd /work/kvmap
ptp-pipeline map --model mpnet --task sentiment --train-size 32 --sample-seed 0 --batch-size 4 --eval-every 5 \
  --lrs 3e-2,1e-2 --budgets 6 --prefix-lens 20 --seeds 1,2,3,4,5 --precision bf16 --track none \
  --out /work/kvmap/map >> /work/kvmap/worker-$1.log 2>&1
