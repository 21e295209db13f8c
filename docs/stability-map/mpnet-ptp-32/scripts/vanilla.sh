#!/usr/bin/env bash
set -euo pipefail; cd /work/mpptp; . ./common.sh
for seeds in 1,2,3,4,5 6,7,8,9,10; do
  ptp-pipeline stability $C --sample-seeds 0,1,2 --seeds $seeds --methods vanilla --out cell-$seeds
done
