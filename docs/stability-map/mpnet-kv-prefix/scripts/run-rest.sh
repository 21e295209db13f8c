#!/bin/bash
# 2026-12-05: the rest of the slice, the 20-epoch widest cell and vanilla's lr sweep (one core each, fp32 off: bf16 on the AMX Xeon)
# #43: the other four cells of MPNet's lr x prompt slice with the key/value prefix (one core)
set -e
cd /work/main
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
C="--model mpnet --task sentiment --train-size 32 --sample-seed 0 --batch-size 4 --eval-every 5 --budgets 6 --seeds 1,2,3,4,5 --precision bf16 --track none"
.venv/bin/ptp-pipeline map $C --lrs 3e-2,1e-2 --prefix-lens 8 --out /work/kvmap/map-p8
echo CELLS-P8-DONE
.venv/bin/ptp-pipeline map $C --lrs 3e-3 --prefix-lens 8,20 --out /work/kvmap/map-lr3e-3
echo ALL-DONE
# #43: the widest cell (lr 1e-2, prompt 20) at 20 epochs, key/value prefix; waits for core 0's MPNet WiC grid
set -e
cd /work/main
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
.venv/bin/ptp-pipeline map --model mpnet --task sentiment --train-size 32 --sample-seed 0 --batch-size 4 --eval-every 5 \
  --budgets 20 --seeds 1,2,3,4,5 --precision bf16 --track none --lrs 1e-2 --prefix-lens 20 --out /work/kvmap/map-20ep
echo ALL-DONE
set -e
cd /work/main
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
.venv/bin/ptp-pipeline sweep --model mpnet --task sentiment --train-size 32 --sample-seed 0 --epochs 6 --batch-size 4 \
  --precision bf16 --track none --method vanilla --grid lr=3e-3,1e-2,3e-2 --seeds 101,102,103,104,105 \
  --out /work/kvmap/sweep-vanilla --presets-out /work/kvmap/sweep-vanilla/presets.json
echo SWEEP-DONE
