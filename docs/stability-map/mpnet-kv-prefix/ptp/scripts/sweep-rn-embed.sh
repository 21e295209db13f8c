#!/usr/bin/env bash
# rn-embed's sigma (relative to the token-embedding RMS) swept on validation: draw 0, fresh seeds 101-105,
# grid widened past the VPT-deep cell's edge pick (1.0).
set -euo pipefail; cd /work/kvptp; . ./common.sh
ptp-pipeline sweep $C --sample-seed 0 --seeds 101,102,103,104,105 --method rn-embed \
    --grid sigma=0.25,0.5,1.0,2.0 --presets-out presets-rn-embed.json --out sweep-rn-embed
