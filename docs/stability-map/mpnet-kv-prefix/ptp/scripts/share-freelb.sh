#!/usr/bin/env bash
# A second process on FreeLB's sweep (the same command on the same --out: the two share its runs).
set -uo pipefail; cd /work/kvptp; . ./common.sh
until [ -e claims/sweep_freelb_step_size_0.05_0.1_0.2 ] && [ -e claims/cell_sam_2.done ]; do sleep 15; done
[ -e ready-freelb ] && exit 0
ptp-pipeline sweep $C --sample-seed 0 --seeds 101,102,103,104,105 --method freelb --grid step_size=0.05,0.1,0.2 \
  --presets-out sweep-freelb/presets-share.json --out sweep-freelb
