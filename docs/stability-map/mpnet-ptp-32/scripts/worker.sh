#!/usr/bin/env bash
# One core's share of the cell's FreeLB and rn-text runs: the worker takes the next chunk (method,
# draw, five seeds) whose preset the sweep has written; mkdir claims a chunk. Runs reuse, so a rerun resumes.
set -uo pipefail; cd /work/mpptp; . ./common.sh
first=$1; shift; bash $first
chunks="freelb:0:1,2,3,4,5 freelb:0:6,7,8,9,10 rn-text:0:1,2,3,4,5 rn-text:0:6,7,8,9,10
freelb:1:1,2,3,4,5 freelb:1:6,7,8,9,10 rn-text:1:1,2,3,4,5 rn-text:1:6,7,8,9,10
freelb:2:1,2,3,4,5 freelb:2:6,7,8,9,10 rn-text:2:1,2,3,4,5 rn-text:2:6,7,8,9,10"
while true; do
  left=0; took=0
  for c in $chunks; do
    IFS=: read m d s <<<"$c"; tag=$m-d$d-s${s%%,*}
    [ -e claims/$tag.done ] && continue; left=1
    [ -f presets-$m.json ] || continue
    mkdir -p claims; mkdir claims/$tag 2>/dev/null || continue
    took=1; echo "== $(date +%T) $tag"
    ptp-pipeline stability $C --sample-seeds $d --seeds $s --methods $m-tuned --presets presets-$m.json --out piece-$tag \
      && touch claims/$tag.done
    break
  done
  [ $left = 0 ] && break
  [ $took = 0 ] && sleep 30
done
echo "== $(date +%T) worker done"
