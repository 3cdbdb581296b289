#!/usr/bin/env bash
# Train on a GPU machine within a wall-clock budget, then export and score; everything lands in $OUT.
# Usage (from the repository root): OUT=/tmp/out bash training/gpu_run.sh MINUTES [extra train args...]
# Real crops are read from .devdata/ (see training/README.md); they are scored, never trained on.
set -euo pipefail
minutes="${1:-5}"
shift || true
out="${OUT:?set OUT to the folder for the results}"
export PYTHONPATH=src PYTHONUNBUFFERED=1
nvidia-smi -L || true
python3 -c "import torch, os; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), 'cpus', os.cpu_count())"
real=()
for folder in .devdata/be-crops-dev .devdata/fr-crops; do
    [ -f "$folder/manifest.csv" ] && real+=("$folder")
done
python3 -m training.train --out "$out/run" --minutes "$minutes" --workers "$(( $(nproc) - 1 ))" \
    --real "${real[@]}" "$@" 2>&1 | tee "$out/train_stdout.log"
if [ "${#real[@]}" -gt 0 ]; then
    python3 -m training.evaluate --model "$out/run/plate_reader.onnx" "${real[@]}" 2>&1 | tee "$out/eval.txt"
fi
