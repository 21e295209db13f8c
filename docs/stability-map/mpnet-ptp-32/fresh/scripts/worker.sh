#!/usr/bin/env bash
# One core's share of the fresh-seed test of rn-text's narrower spread in the MPNet cell (#28):
# vanilla and rn-text (the preset its sweep picked, rate 0.05) on seeds 11-20 of draws 0-2, the
# runs the lead was recorded against (results.md) before any of them trained. The worker takes the
# next chunk (method, draw, five seeds); mkdir claims a chunk; runs reuse, so a rerun resumes.
# Pairs first (vanilla and rn-text of a draw's seeds side by side), so a cut-short sitting leaves pairs.
set -uo pipefail; cd /work/mpfresh; . ./common.sh
while pgrep -f "then60c.sh" >/dev/null; do sleep 20; done   # the 128-example map's last cells first
chunks="vanilla:0:11,12,13,14,15 rn-text:0:11,12,13,14,15 vanilla:0:16,17,18,19,20 rn-text:0:16,17,18,19,20
vanilla:1:11,12,13,14,15 rn-text:1:11,12,13,14,15 vanilla:1:16,17,18,19,20 rn-text:1:16,17,18,19,20
vanilla:2:11,12,13,14,15 rn-text:2:11,12,13,14,15 vanilla:2:16,17,18,19,20 rn-text:2:16,17,18,19,20"
for c in $chunks; do
  IFS=: read m d s <<<"$c"; tag=$m-d$d-s${s%%,*}
  mkdir -p claims; mkdir claims/$tag 2>/dev/null || continue
  echo "== $(date +%T) $tag"
  if [ $m = vanilla ]; then methods=vanilla; else methods=rn-text-tuned; fi
  ptp-pipeline stability $C --sample-seeds $d --seeds $s --methods $methods --presets presets-rn-text.json --out piece-$tag \
    && touch claims/$tag.done
done
echo "== $(date +%T) worker done"
