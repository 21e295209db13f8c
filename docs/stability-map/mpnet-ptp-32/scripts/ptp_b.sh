#!/usr/bin/env bash
# A second core for the rn-embed cell's last runs (merged into one folder afterwards).
set -euo pipefail; cd /work/mpptp; . ./common.sh
ptp-pipeline stability $C --sample-seeds 2 --seeds 6,7,8,9,10 --methods rn-embed-tuned --presets presets-rn-embed.json --out cell-b
ptp-pipeline stability $C --sample-seeds 1 --seeds 10,9 --methods rn-embed-tuned --presets presets-rn-embed.json --out cell-c
