#!/usr/bin/env bash
# FreeLB's step swept on validation (draw 0, fresh seeds 101-103; relative radii, K 2, init 0.3), as rn-embed's sigma.
set -euo pipefail; cd /work/mpptp; . ./common.sh
ptp-pipeline sweep $C --sample-seed 0 --seeds 101,102,103 --method freelb --grid step_size=0.05,0.1,0.2 \
    --presets-out presets-freelb.json --out sweep-freelb
