#!/usr/bin/env bash
# The paper's grid on one GPU, timed two ways on the same runs: one run at a time (`ptp-pipeline
# paper`, the default engine) and packed onto the GPU through Ray (`--engine ray --gpus-per-run
# G`). Writes OUT/paper_gpu.json: runs, each engine's wall time and runs per hour, their ratio, and
# whether the two results.json agree (numbers only: times, paths and hardware left out).
#   benchmarks/paper_gpu.sh OUT [more `ptp-pipeline paper` options]
# Sized for a 10-minute lease (about 4 minutes a side with MiniLM): TASKS [rte,wic,wsc,copa,boolq],
# METHODS [vanilla,rn-embed], SEEDS [1,2,3,4], EPOCHS [20], GPUS_PER_RUN [0.25], MODEL [minilm],
# DATA [tests/fixtures: the SuperGLUE fixture folders; give a SuperGLUE root for real data].
# MiniLM has no settings row: the bert-large rows are taken (--settings-model), --epochs overrides.
# A smoke run on a CPU: a tiny random BERT (made in OUT/tiny-bert), two seeds, one epoch, Ray on
# 2 CPUs: SMOKE=1 benchmarks/paper_gpu.sh OUT
# PTP_PIPELINE names the command [default: ptp-pipeline], PYTHON the interpreter [default: python].
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: benchmarks/paper_gpu.sh OUT [ptp-pipeline paper options]" >&2; exit 2; }
out=$1; shift
root=$(cd "$(dirname "$0")/.." && pwd)
pipeline=${PTP_PIPELINE:-ptp-pipeline}
python=${PYTHON:-python}
tasks=${TASKS:-rte,wic,wsc,copa,boolq}
methods=${METHODS:-vanilla,rn-embed}
seeds=${SEEDS:-1,2,3,4}
epochs=${EPOCHS:-20}
model=${MODEL:-minilm}
data=${DATA:-$root/tests/fixtures}
resources=(--gpus-per-run "${GPUS_PER_RUN:-0.25}")
mkdir -p "$out"
if [ -n "${SMOKE:-}" ]; then
  model=$(PYTHONPATH="$root" "$python" -c \
    'import sys; from benchmarks.common import smoke_encoder; print(smoke_encoder("bert", sys.argv[1]))' "$out/tiny-bert")
  seeds=${SEEDS:-1,2}; epochs=${EPOCHS:-1}; tasks=${TASKS:-rte,wic}
  resources=(--gpus-per-run 0 --ray-cpus 2)
  set -- --device cpu "$@"
fi
common=(--model "$model" --data-dir "$data" --tasks "$tasks" --methods "$methods" --seeds "$seeds" --epochs "$epochs"
        --no-sweep --settings-model bert-large --holdout 0.5 --track none "$@")
OMP_NUM_THREADS=${OMP_NUM_THREADS:-2} $pipeline paper "${common[@]}" --out "$out/local" > "$out/log-local.txt" 2>&1 \
  || { echo "the default engine failed: see $out/log-local.txt" >&2; exit 1; }
OMP_NUM_THREADS=${OMP_NUM_THREADS:-2} $pipeline paper "${common[@]}" --out "$out/ray" --engine ray "${resources[@]}" \
  > "$out/log-ray.txt" 2>&1 || { echo "the Ray engine failed: see $out/log-ray.txt" >&2; exit 1; }
PYTHONPATH="$root" "$python" - "$out" "${SMOKE:+1}" <<'EOF'
import json
import os
import sys
from pathlib import Path

from benchmarks.common import machine
from pipelines.paper_report import numbers

out, smoke = Path(sys.argv[1]), bool(sys.argv[2:] and sys.argv[2])
local, ray = (json.loads((out / side / "results.json").read_text()) for side in ("local", "ray"))
runs = len(local["tasks"]) * len(local["methods"]) * len(local["seeds"])
per_hour = {side: round(runs * 3600 / r["meta"]["seconds"], 1) for side, r in (("local", local), ("ray", ray))}
hardware = machine()
result = {"runs": runs, "tasks": local["tasks"], "methods": local["methods"], "seeds": local["seeds"],
          "epochs": local["settings"][local["tasks"][0]]["epochs"], "model": local["meta"]["model"],
          "seconds": {"local": local["meta"]["seconds"], "ray": ray["meta"]["seconds"]}, "runs_per_hour": per_hour,
          "ray_over_local_throughput": round(per_hour["ray"] / per_hour["local"], 2),
          "ray_over_local_wall_time": round(ray["meta"]["seconds"] / local["meta"]["seconds"], 2),
          "gpus_per_run": ray["meta"]["gpus_per_run"], "same_numbers": numbers(local) == numbers(ray),
          "machine": hardware, "commit": hardware["commit"], "load_average": [round(x, 2) for x in os.getloadavg()],
          "smoke": smoke,
          "note": "wall time of each command's grid (Ray: including starting Ray), the same runs both ways"}
(out / "paper_gpu.json").write_text(json.dumps(result, indent=2))
print(json.dumps(result, indent=2))
sys.exit(0 if result["same_numbers"] else 1)
EOF
