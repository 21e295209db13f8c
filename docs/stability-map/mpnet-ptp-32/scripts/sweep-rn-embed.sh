#!/usr/bin/env bash
set -euo pipefail; cd /work/mpptp; . ./common.sh
ptp-pipeline sweep $C --sample-seed 0 --seeds 101,102,103 --method rn-embed \
    --grid sigma=0.25,0.5,1.0 --presets-out presets-rn-embed.json --out sweep-rn-embed
