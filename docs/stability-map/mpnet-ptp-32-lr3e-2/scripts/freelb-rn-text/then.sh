#!/usr/bin/env bash
# The sitting's end, re-planned at 10:30 (CI beside the runs slowed them): after seeds 1-5 of both
# methods, seeds 6-10 of rn-text only (FreeLB's 6-10 left). One chain per core: A waits for the
# rn-text-only process, joins seeds 1-5 of both, then rn-text 6-10; B waits for the other, then rn-text 6-10.
set -uo pipefail; cd /work/mpcollapse2; . ./common.sh
cell() { ptp-pipeline stability $C --sample-seeds 0,1,2 --seeds $1 --methods $2 --presets $3 --out cell; }
while kill -0 $2 2>/dev/null; do sleep 10; done
[ $1 = A ] && cell 1,2,3,4,5 vanilla,freelb-tuned,rn-text-tuned presets.json
cell 6,7,8,9,10 vanilla,rn-text-tuned presets.json
