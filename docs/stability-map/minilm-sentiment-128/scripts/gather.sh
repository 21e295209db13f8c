#!/usr/bin/env bash
# The 128-example MiniLM map as far as it went: one report over every finished cell (nothing trains;
# unfinished cells are named and drawn "not run"), and each cell's per-seed metrics.json in one file.
# g/runs is a link to map/runs, so that the workers' own reports in map/ do not collide with this one.
set -euo pipefail
cd /work/map128
export OMP_NUM_THREADS=1
docs=/work/main/docs/stability-map/minilm-sentiment-128
/work/main/.venv/bin/ptp-pipeline map --task sentiment --train-size 128 --sample-seed 0 --batch-size 4 --eval-every 5 \
  --lrs 3e-3,1e-2,3e-2 --budgets 6,20,60 --prefix-lens 8,20 --seeds 1,2,3,4,5 --track none --out g --finished-only \
  > gather.log 2>&1
cp g/report.md g/results.json g/map.png $docs/
mkdir -p $docs/seeds
for cell in map/runs/*; do
  [ "$(ls $cell/seed-*/metrics.json 2>/dev/null | wc -l)" -eq 5 ] || continue   # finished cells only
  /work/main/.venv/bin/python -c 'import json, sys; print(json.dumps([json.load(open(f)) for f in sys.argv[1:]], indent=1))' \
    $(ls $cell/seed-*/metrics.json | sort -t- -k3 -n) > $docs/seeds/$(basename $cell).json
done
cp worker.sh then60.sh then60b.sh then60c.sh gather.sh $docs/scripts/
