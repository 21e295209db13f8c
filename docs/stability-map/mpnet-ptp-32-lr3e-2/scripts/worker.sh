#!/usr/bin/env bash
# One core's share of vanilla against rn-embed in the collapsing MPNet cell (3 draws x 10 seeds).
# `worker.sh sweep` first sweeps rn-embed's sigma on validation (draw 0, fresh seeds 101-103, the
# grid of the first MPNet cell); the other worker meanwhile trains vanilla. Then each takes the next
# chunk (method, draw, five seeds) whose preset exists; mkdir claims it; runs reuse, so a rerun resumes.
# Seeds 1-5 of every draw come before seeds 6-10, vanilla beside rn-embed: a cut-short sitting leaves pairs.
set -uo pipefail; cd /work/mpcollapse; . ./common.sh
if [ "${1:-}" = sweep ]; then
  ptp-pipeline sweep $C --sample-seed 0 --seeds 101,102,103 --method rn-embed \
      --grid sigma=0.25,0.5,1.0 --presets-out presets-rn-embed.json --out sweep-rn-embed
fi
chunks="vanilla:0:1,2,3,4,5 rn-embed:0:1,2,3,4,5 vanilla:1:1,2,3,4,5 rn-embed:1:1,2,3,4,5
vanilla:2:1,2,3,4,5 rn-embed:2:1,2,3,4,5 vanilla:0:6,7,8,9,10 rn-embed:0:6,7,8,9,10
vanilla:1:6,7,8,9,10 rn-embed:1:6,7,8,9,10 vanilla:2:6,7,8,9,10 rn-embed:2:6,7,8,9,10"
while true; do
  left=0; took=0
  for c in $chunks; do
    IFS=: read m d s <<<"$c"; tag=$m-d$d-s${s%%,*}
    [ -e claims/$tag.done ] && continue; left=1
    if [ $m = vanilla ]; then methods=vanilla; presets=""
    else [ -f presets-$m.json ] || continue; methods=$m-tuned; presets="--presets presets-$m.json"; fi
    mkdir -p claims; mkdir claims/$tag 2>/dev/null || continue
    took=1; echo "== $(date +%T) $tag"
    ptp-pipeline stability $C --sample-seeds $d --seeds $s --methods $methods $presets --out piece-$tag \
      && touch claims/$tag.done
    break
  done
  [ $left = 0 ] && break
  [ $took = 0 ] && sleep 30
done
echo "== $(date +%T) worker done"
