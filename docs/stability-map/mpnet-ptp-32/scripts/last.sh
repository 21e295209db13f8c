#!/usr/bin/env bash
# rn-text's draw 1 seeds 6-10 (completes draws 0 and 1).
set -euo pipefail; cd /work/mpptp; . ./common.sh
ptp-pipeline stability $C --sample-seeds 1 --seeds 6,7,8,9,10 --methods rn-text-tuned --presets presets-rn-text.json --out piece-rn-text-d1-s6
