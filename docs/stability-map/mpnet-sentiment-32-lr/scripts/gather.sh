#!/usr/bin/env bash
# The MPNet lr x prompt slice at 6 epochs (32 sentiment examples, draw 0, bf16): one report over the
# finished cells (nothing trains), and each cell's per-seed metrics.json in one file.
set -euo pipefail
cd /work/mapmp6
export PATH=/work/main/.venv/bin:$PATH OMP_NUM_THREADS=1
docs=/work/main/docs/stability-map/mpnet-sentiment-32-lr
mkdir -p g $docs/seeds $docs/scripts; [ -e g/runs ] || ln -s ../map/runs g/runs
ptp-pipeline map --model mpnet --task sentiment --train-size 32 --sample-seed 0 --batch-size 4 --eval-every 5 \
  --lrs 3e-3,1e-2,3e-2 --budgets 6 --prefix-lens 8,20 --seeds 1,2,3,4,5 --precision bf16 --track none \
  --out g --finished-only > gather.log 2>&1
cp g/report.md g/results.json g/map.png $docs/
for cell in map/runs/*; do
  [ "$(ls $cell/seed-*/metrics.json 2>/dev/null | wc -l)" -eq 5 ] || continue   # finished cells only
  python -c 'import json, sys; print(json.dumps([json.load(open(f)) for f in sys.argv[1:]], indent=1))' \
    $(ls $cell/seed-*/metrics.json | sort -t- -k3 -n) > $docs/seeds/$(basename $cell).json
done
cp worker.sh gather.sh $docs/scripts/
