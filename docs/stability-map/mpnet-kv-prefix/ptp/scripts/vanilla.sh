#!/usr/bin/env bash
set -euo pipefail; cd /work/kvptp; . ./common.sh
for d in 0 1 2; do
  ptp-pipeline stability $C --sample-seeds $d --seeds 1,2,3,4,5,6,7,8,9,10 --methods vanilla --out piece-vanilla-d$d
done
