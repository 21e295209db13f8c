#!/usr/bin/env bash
# One process of the collapse cell's FreeLB / rn-text comparison (3 draws x 10 seeds, vanilla's
# runs reused from the rn-embed comparison); started once per core by launch.sh: the processes
# share the runs. Seeds 1-5 of every draw before seeds 6-10: a sitting cut short leaves pairs.
# usage: run.sh METHODS PRESETS
set -uo pipefail; cd /work/mpcollapse2; . ./common.sh
cell() { ptp-pipeline stability $C --sample-seeds 0,1,2 --seeds $1 --methods $2 --presets $3 --out cell; }
cell 1,2,3,4,5 $1 $2
if [ $1 != vanilla,rn-text-tuned ]; then cell 6,7,8,9,10 $1 $2; fi
