#!/usr/bin/env bash
# rn-embed at the setting its sweep picked on validation (draw 0, fresh seeds 101-103), then the cell.
set -euo pipefail; cd /work/mpptp; . ./common.sh
./sweep-rn-embed.sh
for seeds in 1,2,3,4,5 6,7,8,9,10; do
  ptp-pipeline stability $C --sample-seeds 0,1,2 --seeds $seeds --methods rn-embed-tuned --presets presets-rn-embed.json --out cell-$seeds
done
