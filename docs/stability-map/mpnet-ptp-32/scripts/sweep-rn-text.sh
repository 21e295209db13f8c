#!/usr/bin/env bash
# rn-text's edit rate swept on validation (draw 0, fresh seeds 101-103), as in the 32-example claim round.
set -euo pipefail; cd /work/mpptp; . ./common.sh
ptp-pipeline sweep $C --sample-seed 0 --seeds 101,102,103 --method rn-text --grid pairs.rate=0.05,0.1,0.2 \
    --presets-out presets-rn-text.json --out sweep-rn-text
