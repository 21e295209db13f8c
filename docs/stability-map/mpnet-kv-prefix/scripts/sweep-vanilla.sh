#!/bin/bash
set -e
cd /work/main
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
.venv/bin/ptp-pipeline sweep --model mpnet --task sentiment --train-size 32 --sample-seed 0 --epochs 6 --batch-size 4 \
  --precision bf16 --track none --method vanilla --grid lr=3e-3,1e-2,3e-2 --seeds 101,102,103,104,105 \
  --out /work/kvmap/sweep-vanilla --presets-out /work/kvmap/sweep-vanilla/presets.json
echo SWEEP-DONE
