#!/usr/bin/env bash
# Each core goes from its sweep to the cell: rn-text's sweep ends first, so its core starts on
# rn-text's runs; once FreeLB's sweep has picked, both presets go in one file and every process
# runs the three methods.
cd /work/mpcollapse2
done_sweep() { [ -f presets-$1.json ] && ! pgrep -f "sweeps.sh $1" >/dev/null; }
full() { bash run.sh vanilla,freelb-tuned,rn-text-tuned presets.json; }
merge() { /work/main/.venv/bin/python -c "import json; a=json.load(open('presets-freelb.json')); a.update(json.load(open('presets-rn-text.json'))); json.dump(a, open('presets.json.tmp','w'), indent=2)" && mv presets.json.tmp presets.json; }
case $1 in
rn-text) until done_sweep rn-text; do sleep 20; done
         bash run.sh vanilla,rn-text-tuned presets-rn-text.json
         until [ -f presets.json ]; do sleep 20; done; full ;;
freelb)  until done_sweep freelb && done_sweep rn-text; do sleep 20; done
         merge; full ;;
esac
