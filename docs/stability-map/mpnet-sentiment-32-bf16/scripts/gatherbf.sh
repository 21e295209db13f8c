#!/usr/bin/env bash
# The MPNet length axis at bf16: the 6-, 20- and 60-epoch cells (trained in several folders, one
# per core) put in one folder, and one report over the three (every run reused, nothing trains).
set -euo pipefail
cd /work/mapmp
export PATH=/work/main/.venv/bin:$PATH OMP_NUM_THREADS=1
for part in b6bf b20bf-a b20bf-b b20bf-c b60bf; do
  for seed in $part/runs/*/seed-*; do
    [ -f $seed/metrics.json ] || continue
    to=bbf/${seed#$part/}; [ -e $to ] && continue
    mkdir -p $(dirname $to); cp -a $seed $to
  done
done
ptp-pipeline map --model mpnet --task sentiment --train-size 32 --sample-seed 0 --batch-size 4 --eval-every 5 \
  --lrs 1e-2 --budgets 6,20,60 --prefix-lens 20 --seeds 1,2,3,4,5 --precision bf16 --track none --out bbf
