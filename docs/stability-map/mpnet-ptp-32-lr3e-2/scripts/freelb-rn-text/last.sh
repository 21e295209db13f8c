#!/usr/bin/env bash
# FreeLB's seeds 6-10 in the time the sitting had left (11:05), two processes sharing the runs.
set -uo pipefail; cd /work/mpcollapse2; . ./common.sh
ptp-pipeline stability $C --sample-seeds 0,1,2 --seeds 6,7,8,9,10 --methods vanilla,freelb-tuned --presets presets.json --out cell
