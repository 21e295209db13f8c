#!/usr/bin/env bash
# FreeLB's step size and rn-text's edit rate swept on validation in the collapsing MPNet cell
# (draw 0, fresh seeds 101-103, the grids of the first MPNet cell), one method per core.
set -uo pipefail; cd /work/mpcollapse2; . ./common.sh
case $1 in
freelb) ptp-pipeline sweep $C --sample-seed 0 --seeds 101,102,103 --method freelb --grid step_size=0.05,0.1,0.2 \
          --presets-out presets-freelb.json --out sweep-freelb ;;
rn-text) ptp-pipeline sweep $C --sample-seed 0 --seeds 101,102,103 --method rn-text --grid pairs.rate=0.05,0.1,0.2 \
          --presets-out presets-rn-text.json --out sweep-rn-text ;;
esac
