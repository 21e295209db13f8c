#!/usr/bin/env bash
# The report over the finished cells (nothing trains), and each cell's per-seed metrics.json in one file.
set -euo pipefail
cd /work/kvmap
export PATH=/work/main/.venv/bin:$PATH PTP_CACHE=/work/main/.ptp-cache OMP_NUM_THREADS=1
docs=/work/main/docs/stability-map/mpnet-kv-prefix
mkdir -p g; [ -e g/runs ] || ln -s ../map/runs g/runs
ptp-pipeline map --model mpnet --task sentiment --train-size 32 --sample-seed 0 --batch-size 4 --eval-every 5 \
  --lrs 3e-2,1e-2 --budgets 6 --prefix-lens 20 --seeds 1,2,3,4,5 --precision bf16 --track none --out g --finished-only
cp g/report.md g/results.json g/map.png $docs/
for cell in map/runs/*; do
  python -c 'import json, sys; print(json.dumps([json.load(open(f)) for f in sys.argv[1:]], indent=1))' \
    $(ls $cell/seed-*/metrics.json | sort -t- -k3 -n) > $docs/seeds/$(basename $cell).json
done
