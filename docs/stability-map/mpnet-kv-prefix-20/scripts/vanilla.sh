#!/usr/bin/env bash
# The vanilla cell (3 draws x seeds 1-10), then vanilla on the sweep seeds (draw 0, 101-105): every sweep's zero point.
# Two processes given this script share the runs (each seed is claimed by one).
set -euo pipefail; cd /work/kv20; . ./common.sh
for d in 0 1 2; do
  ptp-pipeline stability $C --sample-seeds $d --seeds 1,2,3,4,5,6,7,8,9,10 --methods vanilla --out piece-vanilla-d$d
done
ptp-pipeline stability $C --sample-seeds 0 --seeds 101,102,103,104,105 --methods vanilla --out zero-d0
